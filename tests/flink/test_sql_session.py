"""SQL sessions: `sql-init` output and SQL files with CREATE FUNCTION ... LANGUAGE PYTHON, run by
the SQL runner on the local minicluster (the pip PyFlink has no SQL gateway for sql-client.sh)."""

from __future__ import annotations

import csv
import glob
import io
import os
import textwrap

import numpy as np
import pytest

from flink_ml_udf.cli import main as cli
from flink_ml_udf.flink.connectors import kafka_jars
from flink_ml_udf.flink.functions import CONFIG_ENV
from flink_ml_udf.flink.sql_script import SqlScriptError
from flink_ml_udf.flink.sql_session import run_sql_file
from flink_ml_udf.mleap import load_bundle
from tests.conftest import EXAMPLE_CONFIG, REPO

pytestmark = pytest.mark.flink


def sql_init(*args) -> str:
    out = io.StringIO()
    assert cli(["sql-init", "--config", EXAMPLE_CONFIG, *args], out=out) == 0
    return out.getvalue()


def test_sql_init_declares_every_udf():
    script = sql_init()
    assert (
        "CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS Predict AS 'flink_ml_udf.functions.Predict' LANGUAGE PYTHON;"
        in script
    )
    assert (
        "CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS Predictv2 AS 'flink_ml_udf.functions.Predictv2' LANGUAGE PYTHON;"
        in script
    )
    assert "SET 'python.fn-execution.arrow.batch.size' = '100000';" in script
    assert "ADD JAR" not in script
    assert [line for line in sql_init("--kafka").splitlines() if line.startswith("ADD JAR")] == [
        f"ADD JAR '{path}';" for path in kafka_jars()
    ]


def scored_rows(folder) -> list:
    rows = []
    for path in glob.glob(os.path.join(folder, "**", "*"), recursive=True):
        if os.path.isfile(path) and not os.path.basename(path).startswith("."):
            with open(path, newline="") as handle:
                rows += [[float(v) for v in row] for row in csv.reader(handle)]
    return rows


def write_sql(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_script_with_set_create_function_and_insert(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, EXAMPLE_CONFIG)  # run_sql_file sets it from --config; restore afterwards
    out = tmp_path / "out"
    init = write_sql(tmp_path, "init.sql", sql_init())
    script = write_sql(
        tmp_path,
        "score.sql",
        f"""
        SET 'parallelism.default' = '1';
        CREATE TEMPORARY TABLE Features (feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH (
            'connector' = 'datagen', 'number-of-rows' = '40',
            'fields.feature1.min' = '0', 'fields.feature1.max' = '100',
            'fields.feature2.min' = '0', 'fields.feature2.max' = '10',
            'fields.feature3.min' = '-1', 'fields.feature3.max' = '1');
        CREATE TEMPORARY TABLE Scored (feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE, prediction DOUBLE)
            WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
        INSERT INTO Scored SELECT feature1, feature2, feature3, Predict(feature1, feature2, feature3) FROM Features;
        """,
    )
    run_sql_file([init, script], EXAMPLE_CONFIG, batch=True)
    rows = np.array(scored_rows(out))
    assert rows.shape == (40, 4)
    model = load_bundle(os.path.join(REPO, "models", "example-1.zip"))
    expected = model.transform_columns({f"feature{i + 1}": rows[:, i] for i in range(3)}).get("prediction", "t")
    np.testing.assert_allclose(rows[:, 3], expected, rtol=1e-15)  # CSV round-trips doubles' shortest repr


def test_bad_statement_names_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, EXAMPLE_CONFIG)
    script = write_sql(
        tmp_path,
        "bad.sql",
        "SET 'parallelism.default' = '1';\n\nCREATE TEMPORARY FUNCTION Nope AS 'flink_ml_udf.functions.Nope' LANGUAGE PYTHON;\nSELECT Nope(1.0);\n",
    )
    with pytest.raises(SqlScriptError) as info:
        run_sql_file([script], EXAMPLE_CONFIG, batch=True)
    message = str(info.value)
    assert message.startswith(f"{script}:4: SELECT failed: org.apache.flink.table.api.ValidationException")
    assert message.endswith(
        f"AttributeError: {EXAMPLE_CONFIG} defines no UDF 'Nope' (UDFs: Predict, Predictv2, PredictVersioned)"
    )


def test_failing_job_keeps_the_java_root_cause(tmp_path):
    script = write_sql(
        tmp_path,
        "fail.sql",
        """
        CREATE TEMPORARY TABLE Src (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '5',
            'fields.a.kind' = 'sequence', 'fields.a.start' = '0', 'fields.a.end' = '4');
        CREATE TEMPORARY TABLE Snk (b INT) WITH ('connector' = 'blackhole');
        INSERT INTO Snk SELECT 10 / a FROM Src;
        """,
    )
    with pytest.raises(SqlScriptError) as info:
        run_sql_file([script], batch=True)
    message = str(info.value)
    assert message.startswith(f"{script}:5: INSERT job failed: ")
    assert message.endswith("→ root cause: java.lang.ArithmeticException: / by zero")
