"""Kafka → Predict → Kafka with the project's SQL files: every id exactly once, right values,
surviving worker failures, and the malformed-event policy. Runs against tansu on 127.0.0.1
(or the Kafka named by KAFKA_BOOTSTRAP_SERVERS)."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter

import numpy as np
import pytest

from flink_ml_udf.flink.sql_script import SqlScriptError, read_statements, run_statements
from flink_ml_udf.testing.drills import FEATURES, runtime_predictions
from flink_ml_udf.testing.local_kafka import (
    CommittedReader,
    committed_records,
    consume,
    create_topics,
    produce_features,
)
from tests.conftest import FAULT_FILE, REPO

pytestmark = pytest.mark.flink

FEATURES_SQL = os.path.join(REPO, "sql", "features_kafka.sql")
PREDICTIONS_SQL = os.path.join(REPO, "sql", "predictions_kafka.sql")


def topics_for(monkeypatch, bootstrap: str, bounded_at: int = 0, **extra: str):
    """Point the SQL files at fresh topics (one pair per test) and return their names."""
    tag = uuid.uuid4().hex[:8]
    features, predictions = f"features-{tag}", f"predictions-{tag}"
    create_topics(bootstrap, [features, predictions])
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "FEATURES_TOPIC": features,
        "PREDICTIONS_TOPIC": predictions,
        "KAFKA_GROUP_ID": f"group-{tag}",
        "TRANSACTIONAL_ID_PREFIX": f"tx-{tag}",
        "CHECKPOINT_INTERVAL": "1s",
        **extra,
    }
    if bounded_at:
        settings.update(
            FEATURES_BOUNDED_MODE="specific-offsets", FEATURES_BOUNDED_OFFSETS=f"partition:0,offset:{bounded_at}"
        )
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return features, predictions


def expected_predictions(events) -> dict:
    """The MLeap runtime's own prediction of each event, by id (the bundle the job registers)."""
    columns = {name: np.array([e[name] for e in events], dtype=np.float64) for name in FEATURES}
    return {e["id"]: v for e, v in zip(events, runtime_predictions(columns))}


def assert_exactly_once(records, events):
    """``records``: the committed records of the predictions topic (committed_records: read_committed
    by the transaction markers, which the local broker does not apply itself)."""
    counts = Counter(record["id"] for record in records)
    sent = {e["id"] for e in events}
    assert sorted(set(counts) - sent) == []
    assert sorted(sent - set(counts)) == []  # none missing
    assert [i for i, c in counts.items() if c > 1] == []  # none duplicated
    expected = expected_predictions(events)
    ids = sorted(expected)
    got = {record["id"]: record["prediction"] for record in records}
    np.testing.assert_array_equal([got[i] for i in ids], [expected[i] for i in ids])


def statements(kafka_env):
    """The project's Kafka SQL files, read now (they pick up this test's environment), after dropping
    the tables an earlier test left in the shared TableEnvironment."""
    t_env, predict = kafka_env
    for table in ("Features", "Predictions"):
        t_env.execute_sql(f"DROP TEMPORARY TABLE IF EXISTS {table}")
    variables = predict.sql_variables
    return read_statements(FEATURES_SQL, variables) + read_statements(PREDICTIONS_SQL, variables)


def test_bounded_exactly_once_every_id_once_with_right_value(kafka_env, kafka_bootstrap, monkeypatch):
    n = 2000
    features, predictions = topics_for(monkeypatch, kafka_bootstrap, bounded_at=n)
    events = produce_features(kafka_bootstrap, features, range(n))
    run_statements(kafka_env[0], statements(kafka_env))
    assert len(consume(kafka_bootstrap, predictions, expected=n, timeout=60)) == n
    records = committed_records(kafka_bootstrap, predictions)
    assert len(records) == n
    assert_exactly_once(records, events)
    version = kafka_env[1].version
    assert version.startswith("sha256:")
    assert {record["model_version"] for record in records} == {version}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_exactly_once_survives_two_failures(kafka_env, kafka_bootstrap, monkeypatch):
    """Two failures mid-stream (armed one-shot UDF failures, see FAULT_FILE_ENV): the job restarts
    from its last checkpoint each time, and read_committed consumers see every id exactly once."""
    rounds, per_round = 4, 500
    features, predictions = topics_for(monkeypatch, kafka_bootstrap)
    job = run_statements(kafka_env[0], statements(kafka_env), wait=False)[-1]
    client = job.get_job_client()
    events, failures = [], 0
    try:
        for round_no in range(rounds):
            armed = round_no in (1, 2)
            if armed:
                # Committed output of earlier rounds first, so the failure lands mid-stream.
                wait_for(lambda: len(consume(kafka_bootstrap, predictions, 1, timeout=1)) > 0, 90, "first output")
                open(FAULT_FILE, "w").close()
            ids = range(round_no * per_round, (round_no + 1) * per_round)
            events += produce_features(kafka_bootstrap, features, ids, seed=round_no)
            if armed:
                wait_for(lambda: not os.path.exists(FAULT_FILE), 90, "the armed failure to fire")
                failures += 1

        # By the transaction markers: tansu also hands aborted records to read_committed consumers.
        def every_prediction():
            found = committed_records(kafka_bootstrap, predictions)
            return found if len(found) >= len(events) else None

        records = wait_for(every_prediction, 240, "every committed prediction")
    finally:
        client.cancel().result()
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
    assert failures == 2
    assert len(records) == len(events) == rounds * per_round, explain_log(kafka_bootstrap, predictions)
    assert_exactly_once(records, events)


def explain_log(bootstrap: str, topic: str) -> str:
    """What a failing count says next to it: the transactions in the log, and which ids came twice."""
    reader = CommittedReader(bootstrap, topic)
    reader.trace = []
    counts = Counter(record["id"] for record in reader.read())
    twice = sorted(i for i, n in counts.items() if n > 1)
    return f"ids read more than once: {len(twice)} (first: {twice[:10]})\n{reader.describe()}"


def test_malformed_events_fail_the_job_by_default(kafka_env, kafka_bootstrap, monkeypatch):
    features, _ = topics_for(monkeypatch, kafka_bootstrap, bounded_at=3)
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    events = produce_features(kafka_bootstrap, features, range(2))
    producer.produce(features, value=b"{not json")
    producer.flush(10)
    config = kafka_env[0].get_config()
    attempts = config.get("restart-strategy.fixed-delay.attempts", "20")
    config.set("restart-strategy.fixed-delay.attempts", "1")  # the bad record fails every attempt: fail fast
    try:
        with pytest.raises(SqlScriptError) as info:
            run_statements(kafka_env[0], statements(kafka_env))
    finally:
        config.set("restart-strategy.fixed-delay.attempts", attempts)
    assert "INSERT job failed" in str(info.value)
    assert len(events) == 2


def test_malformed_events_skipped_when_ignored(kafka_env, kafka_bootstrap, monkeypatch):
    features, predictions = topics_for(
        monkeypatch, kafka_bootstrap, bounded_at=6, JSON_IGNORE_PARSE_ERRORS="true", JSON_FAIL_ON_MISSING_FIELD="false"
    )
    from confluent_kafka import Producer

    events = produce_features(kafka_bootstrap, features, range(3))
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(features, value=b"{not json")
    producer.produce(features, value=b'{"id": 99, "feature1": 1.0}')  # missing fields
    producer.flush(10)
    events += produce_features(kafka_bootstrap, features, [3], seed=7)
    run_statements(kafka_env[0], statements(kafka_env))
    assert len(consume(kafka_bootstrap, predictions, expected=4, timeout=30)) == 4
    records = committed_records(kafka_bootstrap, predictions)
    assert sorted(record["id"] for record in records) == [0, 1, 2, 3]
    assert_exactly_once(records, events)
