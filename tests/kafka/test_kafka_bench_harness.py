"""The harness of bench/kafka_bench.py and scripts/kafka_demo.py runs both of its jobs.

The bench compares the shipped Kafka job with the same job whose UDF call is replaced by JVM
arithmetic; when sql/predictions_kafka.sql moved to a versioned UDF, the replacement no longer
matched and the bench broke unnoticed. Counts only: values are checked by test_kafka_e2e.py.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.flink

#: What run() sets in the process environment (restored after each test by monkeypatch).
RUN_SETTINGS = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "FEATURES_TOPIC",
    "PREDICTIONS_TOPIC",
    "KAFKA_GROUP_ID",
    "TRANSACTIONAL_ID_PREFIX",
    "DELIVERY_GUARANTEE",
    "CHECKPOINT_INTERVAL",
)


@pytest.mark.parametrize("job", ["Predict", "no-UDF"])
def test_bench_harness_delivers_every_event_once(kafka_env, kafka_bootstrap, monkeypatch, job):
    from scripts.kafka_demo import JVM_STAND_IN, run

    for key in RUN_SETTINGS:
        # setenv first: delenv of an unset variable records nothing, so what run() sets would stay
        # (DELIVERY_GUARANTEE=at-least-once leaked into the exactly-once tests that ran after this).
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    t_env, _ = kafka_env
    expression = JVM_STAND_IN if job == "no-UDF" else None
    report = run(t_env, kafka_bootstrap, 500, None, "at-least-once", "1s", expression)
    assert (report.received, report.missing, report.duplicates) == (500, 0, 0)
    assert len(report.latencies_ms) == 500
