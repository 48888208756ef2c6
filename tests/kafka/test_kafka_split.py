"""Exactly-once with an A/B split: the Kafka job through an injected failure, every id once, each on
its key's variant with that variant's value."""

from __future__ import annotations

import os
import textwrap
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.flink.registry import register_from_config
from flink_ml_udf.flink.router import assign, key_hashes
from flink_ml_udf.flink.sql_script import read_statements, run_statements
from flink_ml_udf.testing.local_kafka import committed_records, consume, produce_features
from tests.conftest import FAULT_FILE
from tests.flink.test_experiments import FEATURES_SQL, expected_by_variant, split_entry
from tests.flink.test_model_updates import write_config
from tests.kafka.test_kafka_e2e import topics_for, wait_for

pytestmark = pytest.mark.flink


def test_exactly_once_with_a_split_through_an_injected_failure(
    kafka_env, kafka_bootstrap, model_versions, monkeypatch, tmp_path
):
    t_env, _ = kafka_env
    config = write_config(tmp_path, split_entry(model_versions))
    register_from_config(config, t_env)
    features, predictions = topics_for(monkeypatch, kafka_bootstrap)
    sink = tmp_path / "split-sink.sql"
    sink.write_text(
        textwrap.dedent("""
        SET 'execution.checkpointing.interval' = '1s';
        CREATE TEMPORARY TABLE Predictions (id BIGINT, feature1 DOUBLE, feature2 INT, feature3 DOUBLE,
            prediction DOUBLE, model_variant STRING) WITH (
            'connector' = 'kafka', 'topic' = '${PREDICTIONS_TOPIC}',
            'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
            'properties.transaction.timeout.ms' = '60000', 'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = '${TRANSACTIONAL_ID_PREFIX}', 'format' = 'json');
        INSERT INTO Predictions
        SELECT id, feature1, feature2, feature3, r.prediction, r.model_variant
        FROM (SELECT id, feature1, feature2, feature3, Fraud(id, feature1, feature2, feature3) AS r FROM Features);
    """)
    )
    for table in ("Features", "Predictions"):
        t_env.execute_sql(f"DROP TEMPORARY TABLE IF EXISTS {table}")
    statements = read_statements(FEATURES_SQL) + read_statements(str(sink))
    job = run_statements(t_env, statements, wait=False)[-1].get_job_client()
    try:
        events = produce_features(kafka_bootstrap, features, range(0, 1000), seed=1)
        wait_for(lambda: len(consume(kafka_bootstrap, predictions, 1, timeout=1)) > 0, 90, "first output")
        open(FAULT_FILE, "w").close()
        events += produce_features(kafka_bootstrap, features, range(1000, 2000), seed=2)
        wait_for(lambda: not os.path.exists(FAULT_FILE), 90, "the armed failure to fire")
        arrived = consume(kafka_bootstrap, predictions, expected=len(events), timeout=240)
        assert len(arrived) == len(events)
        records = committed_records(kafka_bootstrap, predictions)
    finally:
        job.cancel().result()
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
    counts = Counter(record["id"] for record in records)
    assert sorted(counts) == list(range(2000)) and set(counts.values()) == {1}  # every id exactly once
    records.sort(key=lambda record: record["id"])
    expected = np.array(["champion", "challenger"])[assign(*key_hashes(pd.Series(range(2000))), [90, 10])]
    assert [record["model_variant"] for record in records] == list(expected)  # each on its key's variant
    values = expected_by_variant(records, model_versions)
    assert all(record["prediction"] == values[record["model_variant"]][i] for i, record in enumerate(records))
