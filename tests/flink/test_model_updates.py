"""Model as data on a real standalone cluster, with a job running and rows flowing: pinned versions
hold across restarts, reloads from the model store (files, S3, GCS) swap models between batches,
bad updates keep the serving model, the control topic promotes and rolls back, and every row says
which version scored it. Rows go to a Kafka topic (tansu), metrics to the REST API and Prometheus.
"""

from __future__ import annotations

import glob
import io
import os
import textwrap
import time
import uuid
from typing import Callable, Dict, List

import numpy as np
import pytest

from flink_ml_udf.flink.cluster import cancel_job, job_exception, submit, wait_for_job
from flink_ml_udf.loaders.file import content_hash
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.testing.local_kafka import consume, create_topics
from tests.conftest import FAULT_FILE, subprocess_env
from tests.flink.test_slots import publish

pytestmark = pytest.mark.flink

INTERVAL = "500ms"


def job_sql(folder, bootstrap: str, topic: str, rate: int = 100, attempts: int = 5) -> str:
    """Rate-limited features with a sequence id → Fraud (ROW of prediction, model_version) → Kafka."""
    path = os.path.join(str(folder), f"job-{topic}.sql")
    with open(path, "w") as handle:
        handle.write(
            textwrap.dedent(
                f"""
                SET 'restart-strategy.type' = 'fixed-delay';
                SET 'restart-strategy.fixed-delay.attempts' = '{attempts}';
                SET 'restart-strategy.fixed-delay.delay' = '500 ms';
                CREATE TEMPORARY TABLE Features (id BIGINT, feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH (
                    'connector' = 'datagen', 'rows-per-second' = '{rate}',
                    'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '200000',
                    'fields.feature1.min' = '0', 'fields.feature1.max' = '100',
                    'fields.feature2.min' = '0', 'fields.feature2.max' = '10',
                    'fields.feature3.min' = '-1', 'fields.feature3.max' = '1');
                CREATE TEMPORARY TABLE Scored (id BIGINT, feature1 DOUBLE, feature2 INT, feature3 DOUBLE,
                    prediction DOUBLE, model_version STRING) WITH (
                    'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}',
                    'format' = 'json', 'sink.delivery-guarantee' = 'at-least-once');
                INSERT INTO Scored
                SELECT id, feature1, feature2, feature3, s.prediction, s.model_version
                FROM (SELECT id, feature1, feature2, feature3, Fraud(feature1, feature2, feature3) AS s FROM Features);
                """
            )
        )
    return path


def write_config(folder, entry: str, sources: str = "") -> str:
    path = os.path.join(str(folder), f"app-{uuid.uuid4().hex[:6]}.yaml")
    with open(path, "w") as handle:
        handle.write("mleap:\n" + textwrap.indent(textwrap.dedent(sources), "  ") + "  udf_registry:\n")
        handle.write(textwrap.indent(textwrap.dedent(entry).strip() + "\n", "    "))
    return path


class RunningJob:
    """A detached job on the test cluster writing scored rows to a fresh topic."""

    def __init__(self, cluster, bootstrap: str, tmp_path, config: str, ship_bundles: bool = True, **sql) -> None:
        self.cluster, self.bootstrap = cluster, bootstrap
        self.topic = f"scored-{uuid.uuid4().hex[:8]}"
        create_topics(bootstrap, [self.topic])
        files = [job_sql(tmp_path, bootstrap, self.topic, **sql)]
        env = subprocess_env()
        self.job_id = submit(config, files, cluster.address, detached=True, env=env, ship_bundles=ship_bundles).job_id

    def rows(self) -> List[dict]:
        return [record for record, _ in consume(self.bootstrap, self.topic, expected=10**9, timeout=1.0)]

    def wait_for(self, condition: Callable[[List[dict]], bool], what: str, timeout: float = 90.0) -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows()
            if condition(rows):
                return rows
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; versions seen: {versions(self.rows())}")

    def state(self) -> str:
        from flink_ml_udf.flink.cluster import _rest

        return _rest(self.cluster.address, f"/jobs/{self.job_id}")["state"]

    def cancel(self) -> None:
        if self.state() not in ("FINISHED", "FAILED", "CANCELED"):
            cancel_job(self.cluster.address, self.job_id)
            wait_for_job(self.cluster.address, self.job_id, 60)


def since_restart(rows: List[dict]) -> List[dict]:
    """The rows written since the job last restarted: with no checkpoints, a restarted datagen
    sequence starts again at id 1 (rows are in topic order: one partition)."""
    starts = [index for index, row in enumerate(rows) if row["id"] == 1]
    return rows[starts[-1] :] if len(starts) > 1 else []


def versions(rows: List[dict]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for row in rows:
        counts[row["model_version"]] = counts.get(row["model_version"], 0) + 1
    return counts


def assert_values_match_versions(rows: List[dict], bundles: Dict[str, str]) -> None:
    """Every row's prediction is what the bundle of the version it names computes for its features."""
    for version, bundle in bundles.items():
        mine = [row for row in rows if row["model_version"] == version]
        if not mine:
            continue
        columns = {
            name: np.array([row[name] for row in mine], dtype=float) for name in ("feature1", "feature2", "feature3")
        }
        expected = load_bundle(bundle).transform_columns(columns).get("prediction", "test")
        np.testing.assert_array_equal([row["prediction"] for row in mine], expected, err_msg=version)
    assert set(versions(rows)) <= set(bundles), f"rows name unknown versions: {versions(rows)}"


def rejected_lines(cluster, udf: str = "Fraud") -> List[str]:
    lines = []
    for path in glob.glob(os.path.join(cluster.folder, "log", "*taskexecutor*.log")):
        with open(path, errors="replace") as handle:
            lines += [
                line
                for line in handle
                if f"UDF '{udf}': reload rejected" in line or f"UDF '{udf}': control rejected" in line
            ]
    return lines


def prometheus(cluster, name: str, **labels: str) -> List[float]:
    """Values of the series ``flink_taskmanager_job_task_operator_flink_ml_udf_udf_<name>`` with ``labels``."""
    wanted = f"flink_taskmanager_job_task_operator_flink_ml_udf_udf_{name}{{"
    values = []
    for line in cluster.scrape().splitlines():
        if line.startswith(wanted) and all(f'{key}="{value}"' in line for key, value in labels.items()):
            values.append(float(line.rsplit(" ", 1)[1]))
    return values


def test_reload_from_files_swaps_whole_batches_and_survives_every_bad_update(
    cluster, kafka_bootstrap, model_versions, tmp_path
):
    store = str(tmp_path / "store" / "fraud.zip")
    os.makedirs(os.path.dirname(store))
    v1 = publish(model_versions.v1, store)
    config = write_config(tmp_path, f"""
        - udf_name: Fraud
          bundle_path: {store}
          outputs: [prediction, model_version]
          reload: {{interval: {INTERVAL}}}
    """)  # fmt: skip
    before = len(rejected_lines(cluster))
    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
    try:
        job.wait_for(lambda rows: versions(rows).get(v1, 0) >= 100, "100 rows scored by v1")
        v2 = publish(model_versions.v2, store)
        published = time.monotonic()
        job.wait_for(lambda rows: v2 in versions(rows), "rows scored by v2")
        switch_s = time.monotonic() - published
        assert switch_s < 15, switch_s
        bad = []
        for path in (model_versions.corrupt, model_versions.hostile, model_versions.incompatible):
            bad.append(publish(path, store))
            time.sleep(2)  # a few polls: each bad version is seen (and rejected) once
        os.remove(store)  # the store is gone: unreachable
        seen = len(job.rows())
        rows = job.wait_for(lambda rows: len(rows) >= seen + 300, "300 more rows after the bad updates")
        assert job.state() == "RUNNING"
        assert set(versions(rows)) == {v1, v2}  # nothing bad ever scored a row
        last = sorted(rows, key=lambda row: row["id"])[-300:]
        assert set(versions(last)) == {v2}  # still on the last good version
        assert_values_match_versions(rows, {v1: model_versions.v1, v2: model_versions.v2})
        # One log line per failure: three bad bundles, one unreachable store.
        lines = rejected_lines(cluster)[before:]
        assert len(lines) == 4, lines
        for version, line in zip(bad, lines):
            assert f"reload rejected version {version}" in line and f"keeping {store} @ {v2}" in line
        assert "cannot ask the store for the current version" in lines[3]
        # The same counts where operators look: the Prometheus scrape and the REST API (via status).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and prometheus(cluster, "reload_failures", job_id=job.job_id) != [4.0]:
            time.sleep(1)
        assert prometheus(cluster, "reload_failures", job_id=job.job_id) == [4.0]
        assert prometheus(cluster, "reloads", job_id=job.job_id) == [1.0]
        assert prometheus(cluster, "version_model_info", job_id=job.job_id, version=v2) == [1.0]
        assert prometheus(cluster, "version_model_info", job_id=job.job_id, version=v1) == [0.0]
        assert prometheus(cluster, "rows", job_id=job.job_id)[0] >= len(rows)
        assert status_of(cluster, job.job_id)[2:] == [v2, "1", "4"]
    finally:
        job.cancel()


def status_of(cluster, job_id: str) -> List[str]:
    """`flink-ml-udf status` for the job: [udf, subtask, version, reloads, reload failures] (REST lags ~10 s)."""
    from flink_ml_udf.cli import main as cli

    deadline = time.monotonic() + 40
    while True:
        out = io.StringIO()
        assert cli(["status", "--jobmanager", cluster.address, "--job", job_id], out=out) == 0
        lines = out.getvalue().splitlines()
        cells = lines[2].split() if len(lines) > 2 else []
        if (cells and cells[-1] != "0" and cells[2] != "?") or time.monotonic() > deadline:
            assert lines[1].split()[:3] == ["udf", "subtask", "version"], out.getvalue()
            return [cells[0], cells[1], cells[2], cells[-2], cells[-1]]
        time.sleep(2)


def pinned_fraud_entry(tmp_path, bundle: str):
    """A pinned ``Fraud`` entry (prediction and model version) on a copy of ``bundle`` in ``tmp_path``:
    (the copy's path, its version, the config's path)."""
    store = str(tmp_path / "fraud.zip")
    version = publish(bundle, store)
    config = write_config(tmp_path, f"""
        - udf_name: Fraud
          bundle_path: {store}
          outputs: [prediction, model_version]
    """)  # fmt: skip
    return store, version, config


def test_pinned_file_changed_after_submission_fails_clearly_on_restart(
    cluster, kafka_bootstrap, model_versions, tmp_path
):
    store, v1, config = pinned_fraud_entry(tmp_path, model_versions.v1)
    # The workers read the path itself, as on a shared mount (submit ships a snapshot of local bundles
    # otherwise, which a restarted worker reads: tests/flink/test_shipping_cluster.py).
    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config, ship_bundles=False, attempts=1)
    try:
        job.wait_for(lambda rows: versions(rows).get(v1, 0) >= 50, "50 rows scored by v1")
        v2 = publish(model_versions.v2, store)
        open(FAULT_FILE, "w").close()  # a worker fails; the restarted one must not silently take v2
        assert wait_for_job(cluster.address, job.job_id, 120) == "FAILED"
        assert job_exception(cluster.address, job.job_id).endswith(
            f"UDF 'Fraud' → bundle {store}: version {v1} was pinned (resolved when the job was submitted), but the "
            f"store now has version {v2}; publish model updates through 'reload' or 'control' instead of replacing "
            "a pinned bundle"
        )
        assert set(versions(job.rows())) == {v1}
    finally:
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
        job.cancel()


def test_control_topic_promotes_rolls_back_and_a_restart_comes_back_on_the_latest_decision(
    cluster, kafka_bootstrap, model_versions, tmp_path
):
    from flink_ml_udf.cli import main as cli

    control = f"control-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [control])
    v1, v2 = content_hash(model_versions.v1), content_hash(model_versions.v2)
    config = write_config(tmp_path, f"""
        - udf_name: Fraud
          bundle_path: {model_versions.v1}
          outputs: [prediction, model_version]
          control: {{topic: {control}, bootstrap_servers: "{kafka_bootstrap}"}}
    """)  # fmt: skip

    def promote(bundle: str) -> str:
        out = io.StringIO()
        assert cli(["promote", "--config", config, "--udf", "Fraud", "--bundle", bundle], out=out) == 0, out.getvalue()
        return out.getvalue()

    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
    try:
        job.wait_for(lambda rows: versions(rows).get(v1, 0) >= 50, "50 rows scored by the configured v1")
        assert promote(model_versions.v2).startswith(f"promoted Fraud: {model_versions.v2} @ {v2} (topic {control}")
        job.wait_for(lambda rows: v2 in versions(rows), "rows scored by the promoted v2")
        seen = max(row["id"] for row in job.rows())
        promote(model_versions.v1)  # the rollback
        job.wait_for(lambda rows: any(r["model_version"] == v1 and r["id"] > seen + 50 for r in rows), "rollback to v1")
        # A record that cannot be served is refused by promote, and one written by hand is rejected by the workers.
        bad = io.StringIO()
        assert (
            cli(["promote", "--config", config, "--udf", "Fraud", "--bundle", model_versions.incompatible], err=bad)
            == 2
        )
        assert "incompatible with the registered function" in bad.getvalue()
        promote(model_versions.v2)
        job.wait_for(lambda rows: any(r["model_version"] == v2 and r["id"] > seen + 100 for r in rows), "v2 again")
        # A restart reads the topic from the beginning and serves its latest decision (v2), not the configured v1.
        open(FAULT_FILE, "w").close()
        rows = job.wait_for(lambda rows: len(since_restart(rows)) >= 100, "100 rows after the restart")
        assert not os.path.exists(FAULT_FILE)
        assert set(versions(since_restart(rows))) == {v2}
        assert job.state() == "RUNNING"
        assert_values_match_versions(rows, {v1: model_versions.v1, v2: model_versions.v2})
    finally:
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
        job.cancel()


# -- remote model stores -----------------------------------------------------------------------


@pytest.fixture
def s3_store(tmp_path):
    """A versioned bucket on a moto server of this test's own (the test stops it)."""
    from tests.loaders.conftest import _admin_s3, start_moto

    server = start_moto()
    s3 = _admin_s3(server.url)
    s3.create_bucket(Bucket="models")
    s3.put_bucket_versioning(Bucket="models", VersioningConfiguration={"Status": "Enabled"})
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")
    sources = f"""
        s3:
          endpoint_url: {server.url}
          region: us-east-1
          credentials_file: {credentials}
          connect_timeout: 1
          read_timeout: 2
          retries: 0
          cache_dir: {tmp_path / "cache"}
    """

    def put(bundle: str) -> str:
        with open(bundle, "rb") as handle:
            return s3.put_object(Bucket="models", Key="fraud.zip", Body=handle.read())["VersionId"]

    yield server, sources, put
    server.stop()


def test_reload_from_s3_follows_new_versions_and_outlives_the_server(
    cluster, kafka_bootstrap, model_versions, tmp_path, s3_store
):
    server, sources, put = s3_store
    first = put(model_versions.v1)
    config = write_config(tmp_path, f"""
        - udf_name: Fraud
          bundle_path: s3://models/fraud.zip
          outputs: [prediction, model_version]
          reload: {{interval: {INTERVAL}}}
    """, sources)  # fmt: skip
    before = len(rejected_lines(cluster))
    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
    try:
        job.wait_for(lambda rows: versions(rows).get(first, 0) >= 50, "50 rows scored by the first S3 version")
        second = put(model_versions.v2)
        job.wait_for(lambda rows: second in versions(rows), "rows scored by the second S3 version")
        server.stop()  # the store goes away: the job keeps scoring with what it has
        seen = len(job.rows())
        rows = job.wait_for(lambda rows: len(rows) >= seen + 200, "200 more rows with the store down")
        assert job.state() == "RUNNING"
        assert set(versions(sorted(rows, key=lambda row: row["id"])[-200:])) == {second}
        assert_values_match_versions(rows, {first: model_versions.v1, second: model_versions.v2})
        lines = rejected_lines(cluster)[before:]
        assert len(lines) == 1 and "cannot ask the store for the current version" in lines[0], lines
        assert "connection refused or unreachable" in lines[0]
    finally:
        job.cancel()


def test_pinned_s3_entry_keeps_its_version_after_the_object_changes_and_the_job_restarts(
    cluster, kafka_bootstrap, model_versions, tmp_path, s3_store
):
    import shutil

    _, sources, put = s3_store
    first = put(model_versions.v1)
    config = write_config(tmp_path, """
        - udf_name: Fraud
          bundle_path: s3://models/fraud.zip
          outputs: [prediction, model_version]
    """, sources)  # fmt: skip
    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
    try:
        job.wait_for(lambda rows: versions(rows).get(first, 0) >= 50, "50 rows scored by the submitted version")
        put(model_versions.v2)  # the object moves on after submission
        shutil.rmtree(tmp_path / "cache")  # the restarted worker must fetch the pinned version from the store
        open(FAULT_FILE, "w").close()
        rows = job.wait_for(lambda rows: len(since_restart(rows)) >= 100, "100 rows after the restart")
        assert not os.path.exists(FAULT_FILE)
        assert set(versions(rows)) == {first}
        assert_values_match_versions(rows, {first: model_versions.v1})
        assert os.listdir(tmp_path / "cache")  # it was fetched again, by VersionId
    finally:
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
        job.cancel()


def test_reload_from_gcs_follows_new_generations(cluster, kafka_bootstrap, model_versions, tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from tests.loaders.conftest import start_fake_gcs

    server = start_fake_gcs()
    try:
        client = storage.Client(
            project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        bucket = client.bucket("models")
        bucket.versioning_enabled = True
        bucket = client.create_bucket(bucket)

        def put(bundle: str) -> str:
            blob = bucket.blob("fraud.zip")
            blob.upload_from_filename(bundle, content_type="application/zip")
            return str(blob.generation)

        first = put(model_versions.v1)
        config = write_config(tmp_path, f"""
            - udf_name: Fraud
              bundle_path: gs://models/fraud.zip
              outputs: [prediction, model_version]
              reload: {{interval: {INTERVAL}}}
        """, f"""
            gcs:
              endpoint_url: {server.url}
              anonymous: true
              retries: 0
              cache_dir: {tmp_path / "cache"}
        """)  # fmt: skip
        job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
        try:
            job.wait_for(lambda rows: versions(rows).get(first, 0) >= 50, "50 rows scored by the first generation")
            second = put(model_versions.v2)
            rows = job.wait_for(lambda rows: versions(rows).get(second, 0) >= 50, "50 rows of the second generation")
            assert_values_match_versions(rows, {first: model_versions.v1, second: model_versions.v2})
        finally:
            job.cancel()
    finally:
        server.stop()
