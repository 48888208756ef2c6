"""flink-ml-udf as a user gets it: the wheel built from the project files, installed into a fresh venv
outside the checkout, and its command line run from a folder with the user's own config, bundles and
SQL. `submit` goes to the test cluster, whose Python workers run a Python with apache-flink only: the
package the job needs comes out of the venv's site-packages, nothing from this checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from flink_ml_udf.config import load_config
from flink_ml_udf.mleap import load_bundle
from tests.conftest import REPO
from tests.flink.test_shipping_cluster import FEATURES, assert_scored_like_the_runtime, read_rows
from tests.venvs import flink_only_python, make_venv

pytestmark = pytest.mark.flink

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    """The wheel, built from a copy of what the build reads (pyproject, README, the package): the build
    leaves nothing in the checkout, and needs nothing else from it."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), source)
    shutil.copytree(
        os.path.join(REPO, "flink_ml_udf"), source / "flink_ml_udf", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    command = [*pip, "wheel", "--no-deps", "-w", str(dist), str(source)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    [name] = os.listdir(dist)
    return str(dist / name)


@pytest.fixture(scope="module")
def user(wheel, tmp_path_factory):
    """A fresh venv with the wheel (and its dependencies, from pip's configured index and cache), and
    a working folder with the user's files, both outside the checkout."""
    venv = make_venv(str(tmp_path_factory.mktemp("venv") / "venv"), wheel)
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(os.path.join(REPO, "models"), work / "models")
    shutil.copytree(os.path.join(REPO, "conf"), work / "conf")
    shutil.copytree(os.path.join(REPO, "sql"), work / "sql")
    return os.path.dirname(venv), work


def cli(user, *args, **extra_env):
    bin_dir, work = user
    env = {k: v for k, v in os.environ.items() if "PYFLINK" not in k and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if not env.get("JAVA_HOME"):
        env.pop("JAVA_HOME", None)
    env.update(extra_env, PATH=bin_dir + os.pathsep + env.get("PATH", ""))
    command = [os.path.join(bin_dir, "flink-ml-udf"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=work, env=env, timeout=600)


def test_wheel_holds_the_package_only(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"flink_ml_udf", "flink_ml_udf-0.1.0.dist-info"}
    assert "flink_ml_udf/flink/job.py" in names and "flink_ml_udf/flink/shipping.py" in names
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("flink_ml_udf-0.1.0.dist-info/entry_points.txt").decode()
    assert "flink-ml-udf = flink_ml_udf.cli:main" in entry_points


def test_the_venv_imports_the_installed_package(user):
    bin_dir, work = user
    code = "import flink_ml_udf; print(flink_ml_udf.__file__)"
    completed = subprocess.run([os.path.join(bin_dir, "python"), "-c", code], capture_output=True, text=True, cwd=work)
    assert completed.returncode == 0, completed.stderr
    location = completed.stdout.strip()
    assert location.startswith(os.path.dirname(bin_dir)) and "site-packages" in location
    assert not location.startswith(REPO)


def test_inspect_and_score(user):
    _, work = user
    inspected = cli(user, "inspect", "models/example-1.zip", "--json")
    assert inspected.returncode == 0, inspected.stderr
    summary = json.loads(inspected.stdout)
    assert [op["op"] for op in summary["ops"]] == ["pipeline", "vector_assembler", "standard_scaler", "random_forest_regression"]  # fmt: skip
    assert summary["bundle"] == "models/example-1.zip" and summary["version"].startswith("sha256:")
    assert inspected.stderr == ""

    rows = [[10.0, 3, 0.5], [55.5, 0, -0.25]]
    frame = {"schema": {"fields": [{"name": f"feature{i}", "type": "double"} for i in (1, 2, 3)]}, "rows": rows}
    (work / "frame.json").write_text(json.dumps(frame))
    scored = cli(user, "score", "models/example-1.zip", "--frame", "frame.json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    column = [field["name"] for field in result["schema"]["fields"]].index("prediction")
    expected = load_bundle(EXAMPLE_1).transform_columns({f"feature{i + 1}": [r[i] for r in rows] for i in range(3)})
    np.testing.assert_array_equal([row[column] for row in result["rows"]], expected.get("prediction", "t"))


def test_sql_init(user):
    bin_dir, work = user
    completed = cli(user, "sql-init", "--config", "conf/application.yaml")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert f"SET 'python.executable' = '{os.path.join(bin_dir, 'python')}';" in lines
    assert [line for line in lines if line.startswith("CREATE")] == [
        f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS 'flink_ml_udf.functions.{name}' LANGUAGE PYTHON;"
        for name in [entry.udf_name for entry in load_config(str(work / "conf" / "application.yaml")).udfs]
    ]


def test_submit_to_the_cluster(user, cluster):
    _, work = user
    out = work / "out"
    (work / "sink.sql").write_text(
        "CREATE TEMPORARY TABLE Scored (feature1 DOUBLE, feature2 INT, feature3 DOUBLE, prediction DOUBLE)\n"
        f"    WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');\n"
        "INSERT INTO Scored SELECT feature1, feature2, feature3, Predict(feature1, feature2, feature3) FROM Features;\n"
    )
    completed = cli(
        user, "submit", "--config", "conf/application.yaml", "--sql", "sql/features_datagen.sql", "--sql", "sink.sql",
        "--jobmanager", cluster.address, "--parallelism", "2", "--worker-python", flink_only_python(),
        FEATURES_ROWS="200",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.startswith("job ") and completed.stdout.endswith(": FINISHED\n")
    rows = read_rows(out)
    assert rows.shape == (200, 4)
    assert_scored_like_the_runtime(rows, "example-1.zip", FEATURES, 3)
