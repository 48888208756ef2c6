"""The job entry point on Kafka, in its own process: it adds the connector jars by itself and
records the bundle's resolved version with every prediction."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import load_config
from flink_ml_udf.testing.local_kafka import committed_records, consume, produce_features
from tests.conftest import EXAMPLE_CONFIG, REPO, subprocess_env
from tests.kafka.test_kafka_e2e import assert_exactly_once, topics_for

pytestmark = pytest.mark.flink


def test_predict_job_on_kafka_topics(kafka_bootstrap, monkeypatch):
    n = 300
    features, predictions = topics_for(monkeypatch, kafka_bootstrap, bounded_at=n)
    events = produce_features(kafka_bootstrap, features, range(n))
    env = subprocess_env()
    completed = subprocess.run(
        [sys.executable, "jobs/predict_job.py", "--config", EXAMPLE_CONFIG,
         "--sql", "sql/features_kafka.sql", "--sql", "sql/predictions_kafka.sql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(consume(kafka_bootstrap, predictions, expected=n, timeout=10)) == n
    records = committed_records(kafka_bootstrap, predictions)
    assert len(records) == n
    assert_exactly_once(records, events)
    version = load_entry_model(load_config(EXAMPLE_CONFIG).entry("Predict")).version
    assert {record["model_version"] for record in records} == {version}


def test_sql_init_kafka_script_runs_the_kafka_job(kafka_bootstrap, monkeypatch, tmp_path):
    """The SQL-session path: `sql-init --kafka` (ADD JAR lines, CREATE FUNCTION ... LANGUAGE PYTHON)
    followed by the project's Kafka files, run by the SQL runner; the jars come from ADD JAR alone."""
    import io

    from flink_ml_udf.cli import main as cli
    from flink_ml_udf.flink.connectors import add_connectors_for, added_jars, kafka_jars
    from flink_ml_udf.flink.sql_script import read_statements
    from flink_ml_udf.flink.sql_session import run_sql_file

    n = 200
    features, predictions = topics_for(monkeypatch, kafka_bootstrap, bounded_at=n)
    version = load_entry_model(load_config(EXAMPLE_CONFIG).entry("Predict")).version
    init = io.StringIO()
    assert cli(["sql-init", "--config", EXAMPLE_CONFIG, "--kafka"], out=init) == 0
    (tmp_path / "init.sql").write_text(init.getvalue())
    files = [str(tmp_path / "init.sql"), f"{REPO}/sql/features_kafka.sql", f"{REPO}/sql/predictions_kafka.sql"]
    texts = [s.text for path in files for s in read_statements(path)]
    assert added_jars(texts) == kafka_jars()
    assert add_connectors_for(None, texts) == []  # nothing more to add: the script's ADD JARs cover Kafka
    events = produce_features(kafka_bootstrap, features, range(n))
    run_sql_file(files, EXAMPLE_CONFIG)
    assert len(consume(kafka_bootstrap, predictions, expected=n, timeout=10)) == n
    records = committed_records(kafka_bootstrap, predictions)
    assert len(records) == n
    assert_exactly_once(records, events)
    assert {record["model_version"] for record in records} == {version}
