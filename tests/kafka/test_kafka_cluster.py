"""The production path on a real standalone cluster: the Kafka exactly-once job (the project's own
`features_kafka.sql` + `predictions_kafka.sql`) submitted with `flink-ml-udf submit`, every id
exactly once in the predictions topic with the runtime's own values."""

from __future__ import annotations

import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import load_config
from flink_ml_udf.flink.cluster import submit
from flink_ml_udf.testing.local_kafka import committed_records, consume, produce_features
from tests.conftest import EXAMPLE_CONFIG, subprocess_env
from tests.kafka.test_kafka_e2e import FEATURES_SQL, PREDICTIONS_SQL, assert_exactly_once, topics_for

pytestmark = pytest.mark.flink


def test_kafka_job_submitted_to_cluster_scores_every_id_once(cluster, kafka_bootstrap, monkeypatch):
    n = 3000
    features, predictions = topics_for(monkeypatch, kafka_bootstrap, bounded_at=n)
    events = produce_features(kafka_bootstrap, features, range(n))
    result = submit(EXAMPLE_CONFIG, [FEATURES_SQL, PREDICTIONS_SQL], cluster.address, parallelism=2,
                    env=subprocess_env(), timeout=300)  # fmt: skip
    assert result.state == "FINISHED"
    assert len(consume(kafka_bootstrap, predictions, expected=n, timeout=15)) == n
    records = committed_records(kafka_bootstrap, predictions)
    assert len(records) == n
    assert_exactly_once(records, events)
    version = load_entry_model(load_config(EXAMPLE_CONFIG).entry("Predict")).version
    assert {record["model_version"] for record in records} == {version}
