"""A real standalone Flink cluster (from the pip PyFlink's scripts, private ports and folders):
jobs submitted with `flink-ml-udf submit` finish with the runtime's own predictions, and a failing
job's error reaches the caller."""

from __future__ import annotations

import csv
import glob
import os
import textwrap
import time

import numpy as np
import pytest

from flink_ml_udf.flink.cluster import ClusterError, submit
from flink_ml_udf.mleap import load_bundle
from tests.conftest import EXAMPLE_CONFIG, REPO, subprocess_env

pytestmark = pytest.mark.flink


def sink_sql(tmp_path, out) -> str:
    path = tmp_path / "sink.sql"
    path.write_text(
        textwrap.dedent(
            f"""
            CREATE TEMPORARY TABLE Scored (feature1 DOUBLE, feature2 INT, feature3 DOUBLE, prediction DOUBLE)
                WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
            INSERT INTO Scored SELECT feature1, feature2, feature3, Predict(feature1, feature2, feature3) FROM Features;
            """
        )
    )
    return str(path)


def test_submitted_job_finishes_with_runtime_predictions(cluster, tmp_path):
    out = tmp_path / "out"
    env = subprocess_env(FEATURES_ROWS="300")
    result = submit(
        EXAMPLE_CONFIG, [os.path.join(REPO, "sql", "features_datagen.sql"), sink_sql(tmp_path, out)],
        cluster.address, parallelism=2, env=env,
    )  # fmt: skip
    assert result.state == "FINISHED"
    rows = np.array([[float(v) for v in row] for path in glob.glob(f"{out}/**/part-*", recursive=True)
                     for row in csv.reader(open(path))])  # fmt: skip
    assert rows.shape == (300, 4)
    model = load_bundle(os.path.join(REPO, "models", "example-1.zip"))
    expected = model.transform_columns({f"feature{i + 1}": rows[:, i] for i in range(3)}).get("prediction", "t")
    np.testing.assert_allclose(rows[:, 3], expected, rtol=1e-15)


def test_failing_job_error_reaches_the_caller(cluster, tmp_path):
    features = tmp_path / "nulls.sql"
    features.write_text(
        "CREATE TEMPORARY TABLE Features (feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '50', 'fields.feature1.null-rate' = '0.5');\n"
    )
    env = subprocess_env()
    with pytest.raises(ClusterError) as info:
        submit(EXAMPLE_CONFIG, [str(features), sink_sql(tmp_path, tmp_path / "out")], cluster.address, env=env)
    assert f"UDF 'Predict' → bundle {REPO}/models/example-1.zip → node vector_assembler_" in str(info.value)
    assert "(vector_assembler): input column 'feature1' is null" in str(info.value)


def test_udf_metrics_visible_in_the_rest_api(cluster, tmp_path):
    from flink_ml_udf.flink.cluster import cancel_job, udf_metrics, wait_for_job

    features = tmp_path / "endless.sql"
    features.write_text(
        "CREATE TEMPORARY TABLE Features (feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH ("
        "'connector' = 'datagen', 'rows-per-second' = '2000', 'fields.feature1.min' = '0', 'fields.feature1.max' = '1',"
        " 'fields.feature2.min' = '0', 'fields.feature2.max' = '1', 'fields.feature3.min' = '0', 'fields.feature3.max' = '1');\n"
        "CREATE TEMPORARY TABLE Sink (p DOUBLE) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO Sink SELECT Predict(feature1, feature2, feature3) FROM Features;\n"
    )
    env = subprocess_env()
    job = submit(EXAMPLE_CONFIG, [str(features)], cluster.address, detached=True, env=env)
    try:
        deadline = time.monotonic() + 120
        metrics = {}
        while time.monotonic() < deadline and metrics.get("flink_ml_udf.udf.Predict.rows", 0) < 1000:
            metrics = udf_metrics(cluster.address, job.job_id)
            time.sleep(1)
        assert metrics["flink_ml_udf.udf.Predict.rows"] >= 1000
        # PyFlink reports a Python counter once it has been incremented: untouched ones are absent.
        assert metrics.get("flink_ml_udf.udf.Predict.rows_failed", 0) == 0
        assert metrics.get("flink_ml_udf.udf.Predict.rows_skipped", 0) == 0
    finally:
        cancel_job(cluster.address, job.job_id)
    assert wait_for_job(cluster.address, job.job_id, 60) == "CANCELED"


def test_cluster_keeps_its_files_and_signals_only_its_own_live_processes(tmp_path):
    """A killed TaskManager leaves its pid in the pid file and its working files behind: the files
    stay under the cluster's folder, and stop() signals only live daemons of this cluster, never an
    unrelated process that now holds a listed pid."""
    import signal
    import subprocess
    import tempfile

    from flink_ml_udf.flink.cluster import LocalCluster, _rest
    from flink_ml_udf.ports import free_ports

    rest, rpc = free_ports(2)
    cluster = LocalCluster(str(tmp_path / "c"), rest, rpc, slots=1).start()
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        [first] = cluster.taskmanager_pids()
        [tm_id] = [tm["id"] for tm in _rest(cluster.address, "/taskmanagers")["taskmanagers"]]
        assert os.path.isdir(os.path.join(cluster.tmp_dir, f"tm_{tm_id}"))
        assert not os.path.exists(os.path.join(tempfile.gettempdir(), f"tm_{tm_id}"))
        os.kill(first, signal.SIGKILL)
        second = cluster.start_taskmanager()
        assert cluster.taskmanager_pids() == [second]  # the dead pid is still in the file, but not "live"
        with open(glob.glob(f"{cluster.pid_dir}/*-taskexecutor.pid")[0], "a") as pid_file:
            pid_file.write(f"{bystander.pid}\n")  # a pid reused by an unrelated process
        jobmanager = cluster._live_pids("standalonesession")
        assert len(jobmanager) == 1
    finally:
        cluster.stop()
    try:
        assert bystander.poll() is None  # untouched
        for pid in (second, *jobmanager):
            assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        assert glob.glob(f"{cluster.pid_dir}/*.pid") == []
        assert not os.path.exists(cluster.tmp_dir)  # the killed TaskManager's ~40 MB went with it
        assert not os.path.exists(os.path.join(tempfile.gettempdir(), f"tm_{tm_id}"))
    finally:
        bystander.kill()
        bystander.wait()
