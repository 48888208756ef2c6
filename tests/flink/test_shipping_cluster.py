"""Jobs whose Python workers run a Python with apache-flink only (no flink-ml-udf, no numba, no boto3),
on the test cluster: `submit` ships the package, the local bundles, numba and the S3 extra with the
job, and the job scores with the runtime's own values. The workers' Python is the job's ``-pyexec``
(``--worker-python``), which the TaskManagers start whatever the cluster's own default."""

from __future__ import annotations

import csv
import dataclasses
import glob
import os
import re
import shutil
import subprocess
import textwrap

import numpy as np
import pytest
import yaml

from flink_ml_udf.flink.cluster import LocalCluster, job_exception, submit
from flink_ml_udf.mleap import load_bundle
from tests.conftest import FAULT_FILE, REPO, subprocess_env
from tests.loaders.conftest import no_cloud_metadata_probes, s3_world  # noqa: F401 (fixtures)
from tests.venvs import flink_only_python

pytestmark = pytest.mark.flink


@pytest.fixture(scope="module")
def bare_python() -> str:
    return flink_only_python()


def read_rows(out) -> np.ndarray:
    return np.array([[float(v) for v in row] for path in glob.glob(f"{out}/**/part-*", recursive=True)
                     for row in csv.reader(open(path))])  # fmt: skip


def assert_scored_like_the_runtime(rows: np.ndarray, bundle: str, inputs, column: int) -> None:
    """Column ``column`` of ``rows`` is what ``bundle`` computes from the columns it takes as ``inputs``."""
    model = load_bundle(os.path.join(REPO, "models", bundle))
    expected = model.transform_columns({name: rows[:, i] for i, name in enumerate(inputs)}).get("prediction", "t")
    np.testing.assert_allclose(rows[:, column], expected, rtol=1e-15)


FEATURES = ("feature1", "feature2", "feature3")


def worker_log_lines(cluster: LocalCluster, text: str) -> list:
    lines = []
    for path in glob.glob(os.path.join(cluster.folder, "log", "*taskexecutor*.log")):
        with open(path, errors="replace") as handle:
            lines += [line for line in handle if text in line]
    return lines


def test_taskmanager_python_has_flink_but_not_the_package(bare_python):
    probe = "import pyflink, yaml, numpy, pandas\ntry:\n import flink_ml_udf\nexcept ImportError as e:\n print(e)\n"
    probe += "try:\n import numba\nexcept ImportError as e:\n print(e)\n"
    probe += "try:\n import boto3\nexcept ImportError as e:\n print(e)\n"
    completed = subprocess.run([bare_python, "-c", probe], capture_output=True, text=True, cwd="/", timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [f"No module named '{name}'" for name in ("flink_ml_udf", "numba", "boto3")]


def test_job_with_local_bundles_runs_where_only_flink_is_installed(cluster, bare_python, tmp_path):
    # The config and its bundles in a folder of their own, so the workers' log lines name these paths.
    shutil.copytree(os.path.join(REPO, "models"), tmp_path / "models")
    shutil.copytree(os.path.join(REPO, "conf"), tmp_path / "conf")
    out = tmp_path / "out"
    sink = tmp_path / "sink.sql"
    sink.write_text(
        textwrap.dedent(
            f"""
            CREATE TEMPORARY TABLE Scored (feature1 DOUBLE, feature2 INT, feature3 DOUBLE, p1 DOUBLE, p2 DOUBLE)
                WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
            INSERT INTO Scored SELECT feature1, feature2, feature3,
                Predict(feature1, feature2, feature3), Predictv2(feature1) FROM Features;
            """
        )
    )
    result = submit(
        str(tmp_path / "conf" / "application.yaml"), [os.path.join(REPO, "sql", "features_datagen.sql"), str(sink)],
        cluster.address, parallelism=2, env=subprocess_env(FEATURES_ROWS="300"), worker_python=bare_python,
    )  # fmt: skip
    assert result.state == "FINISHED"
    rows = read_rows(out)
    assert rows.shape == (300, 5)
    assert_scored_like_the_runtime(rows, "example-1.zip", FEATURES, 3)
    assert_scored_like_the_runtime(rows, "example-2", FEATURES[:1], 4)

    # The workers ran the bare Python, got numba from the job's requirements, read the package from the
    # job's python files and each bundle from the job's archive.
    assert worker_log_lines(cluster, f"Python interpreter path: {bare_python}\n")
    from importlib import metadata

    assert worker_log_lines(cluster, f"Collecting numba=={metadata.version('numba')} (from -r ")
    for udf, bundle, copy in (
        ("Predict", "example-1.zip", "0/example-1.zip"),
        ("Predictv2", "example-2", "1/example-2"),
    ):
        lines = worker_log_lines(cluster, f"UDF '{udf}': bundle {tmp_path}/models/{bundle} read from the copy")
        assert len(lines) == 2, lines  # parallelism 2: two workers opened the UDF
        for line in lines:
            assert re.search(r"/python-files/[^ ]+/flink_ml_udf/flink/shipping\.py:\d+ ", line), line
            assert line.rstrip().endswith(f"/python-archives/flink-ml-udf-bundles/{copy})"), line


def test_s3_bundle_on_taskmanagers_without_boto3(cluster, bare_python, s3_world, tmp_path):  # noqa: F811
    settings = s3_world.settings(read_timeout=10.0, cache_dir=str(tmp_path / "cache"))
    entry = {"udf_name": "PredictS3", "bundle_path": "s3://models/models/example-1.zip"}
    section = {key: value for key, value in dataclasses.asdict(settings).items() if value is not None}
    config = tmp_path / "application.yaml"
    config.write_text(yaml.safe_dump({"mleap": {"s3": section, "udf_registry": [entry]}}))
    out = tmp_path / "out"
    sql = tmp_path / "job.sql"
    sql.write_text(
        "CREATE TEMPORARY TABLE Features (feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '100', 'fields.feature1.min' = '0', 'fields.feature1.max' = '100',"
        " 'fields.feature2.min' = '0', 'fields.feature2.max' = '10', 'fields.feature3.min' = '-1', 'fields.feature3.max' = '1');\n"
        f"CREATE TEMPORARY TABLE Scored (feature1 DOUBLE, feature2 INT, feature3 DOUBLE, p DOUBLE) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');\n"
        "INSERT INTO Scored SELECT feature1, feature2, feature3, PredictS3(feature1, feature2, feature3) FROM Features;\n"
    )
    result = submit(str(config), [str(sql)], cluster.address, env=subprocess_env(), worker_python=bare_python)
    assert result.state == "FINISHED"
    rows = read_rows(out)
    assert rows.shape == (100, 4)
    assert_scored_like_the_runtime(rows, "example-1.zip", FEATURES, 3)
    # boto3 came with the job: the TaskManager pip-installed the shipped requirements (client's versions).
    from importlib import metadata

    assert worker_log_lines(cluster, f"Collecting boto3=={metadata.version('boto3')} (from -r ")


def test_a_restarted_worker_reads_the_shipped_copy_of_a_pinned_file(cluster, kafka_bootstrap, model_versions, tmp_path):
    """The bundle file disappears from this host while the job runs, and a worker fails: the restarted
    workers load the copy shipped at submission and score on with the submitted version."""
    from tests.flink.test_model_updates import RunningJob, assert_values_match_versions, pinned_fraud_entry, versions

    store, v1, config = pinned_fraud_entry(tmp_path, model_versions.v1)
    job = RunningJob(cluster, kafka_bootstrap, tmp_path, config)
    try:
        before = len(job.wait_for(lambda rows: versions(rows).get(v1, 0) >= 50, "50 rows scored by v1"))
        os.remove(store)  # only the shipped copy is left
        open(FAULT_FILE, "w").close()  # a worker takes it and fails; the job restarts
        # Rows go on flowing for a moment after the failure (CI once counted 200 more before the
        # JobManager had recorded it): count the rows of the restarted job only.
        failed = job.wait_for(
            lambda rows: (
                not os.path.exists(FAULT_FILE)
                and "failure injected through" in job_exception(cluster.address, job.job_id)
            ),
            "the injected failure, recorded by the JobManager",
        )
        rows = job.wait_for(lambda rows: len(rows) >= len(failed) + 200, "200 more rows after the restart")
        assert len(failed) >= before
        assert job.state() == "RUNNING"
        assert set(versions(rows)) == {v1}
        assert_values_match_versions(rows, {v1: model_versions.v1})
    finally:
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
        job.cancel()
