"""The UDFs inside real Flink jobs on a local minicluster (one JVM for the whole session)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.flink.sql_script import read_statements, run_statements
from flink_ml_udf.mleap import load_bundle
from tests.conftest import EXAMPLE_CONFIG, REPO, subprocess_env

pytestmark = pytest.mark.flink

ROWS = 2000


@pytest.fixture(scope="module")
def registered(t_env, tmp_path_factory):
    from flink_ml_udf.flink.registry import register_from_config
    from tests import bundle_writer as bw

    tokenizer = bw.Node("tok", "tokenizer", {}, inputs=[("input", "sentence")], outputs=[("output", "tokens")])
    tokens_bundle = bw.write_bundle(tmp_path_factory.mktemp("bundles") / "tokenizer", tokenizer)
    path = tmp_path_factory.mktemp("conf") / "application.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            mleap:
              udf_registry:
                - udf_name: Predict
                  bundle_path: {REPO}/models/example-1.zip
                - udf_name: Predictv2
                  bundle_path: {REPO}/models/example-2
                - udf_name: PredictOrNull
                  bundle_path: {REPO}/models/example-1.zip
                  on_error: "null"
                - udf_name: PredictDetailed
                  bundle_path: {REPO}/models/example-1.zip
                  outputs: [prediction, standard_scaler_features]
                - udf_name: Tokens
                  bundle_path: {tokens_bundle}
            """
        )
    )
    return register_from_config(str(path), t_env)


def feature_rows(rows: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "feature1": rng.uniform(0, 100, rows),
            "feature2": rng.integers(0, 11, rows).astype(np.int32),
            "feature3": rng.uniform(-1, 1, rows),
        }
    )


def features_table(t_env, frame: pd.DataFrame):
    from pyflink.table import DataTypes

    schema = DataTypes.ROW(
        [
            DataTypes.FIELD("id", DataTypes.BIGINT()),
            DataTypes.FIELD("feature1", DataTypes.DOUBLE()),
            DataTypes.FIELD("feature2", DataTypes.INT()),
            DataTypes.FIELD("feature3", DataTypes.DOUBLE()),
        ]
    )
    return t_env.from_pandas(frame, schema)


def runtime_predictions(bundle: str, frame: pd.DataFrame, columns) -> np.ndarray:
    model = load_bundle(os.path.join(REPO, "models", bundle))
    scored = model.transform_columns({c: frame[c].to_numpy(dtype=np.float64) for c in columns})
    return scored.get("prediction", "test")


def test_registered_signatures(registered):
    assert {name: item.signature.describe(name) for name, item in registered.items()} == {
        "Predict": "Predict(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE",
        "Predictv2": "Predictv2(feature1 DOUBLE) -> DOUBLE",
        "PredictOrNull": "PredictOrNull(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE",
        "PredictDetailed": "PredictDetailed(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) "
        "-> ROW<prediction DOUBLE, standard_scaler_features ARRAY<DOUBLE>>",
        "Tokens": "Tokens(sentence STRING) -> ARRAY<STRING>",
    }


def test_array_of_strings_result(t_env, registered):
    """A text op's token list comes back to SQL as ARRAY<STRING> (MLeap's tokenizer: lower case,
    split on every single whitespace character)."""
    from pyflink.table import DataTypes

    sentences = pd.DataFrame({"id": [0, 1, 2], "sentence": ["Flink scores MLeap", "a  b", None]})
    schema = DataTypes.ROW([DataTypes.FIELD("id", DataTypes.BIGINT()), DataTypes.FIELD("sentence", DataTypes.STRING())])
    t_env.create_temporary_view("Sentences", t_env.from_pandas(sentences, schema))
    with pytest.raises(Exception) as info:  # the tokenizer's input is non-null in MLeap: NULL fails by default
        t_env.sql_query("SELECT id, Tokens(sentence) AS tokens FROM Sentences").to_pandas()
    assert "(tokenizer): input column 'sentence' is null (row 2)" in str(info.value)
    result = (
        t_env.sql_query("SELECT id, Tokens(sentence) AS tokens FROM Sentences WHERE sentence IS NOT NULL")
        .to_pandas()
        .sort_values("id")
    )
    assert [list(tokens) for tokens in result.tokens] == [["flink", "scores", "mleap"], ["a", "", "b"]]


def test_sql_predictions_equal_runtime_transform(t_env, registered):
    frame = feature_rows(ROWS)
    t_env.create_temporary_view("FeaturesFromPandas", features_table(t_env, frame))
    result = (
        t_env.sql_query(
            "SELECT id, Predict(feature1, feature2, feature3) AS prediction, Predictv2(feature1) AS prediction2 "
            "FROM FeaturesFromPandas"
        )
        .to_pandas()
        .sort_values("id")
        .reset_index(drop=True)
    )

    assert len(result) == ROWS
    np.testing.assert_array_equal(result.id.to_numpy(), frame.id.to_numpy())
    np.testing.assert_array_equal(
        result.prediction.to_numpy(), runtime_predictions("example-1.zip", frame, ["feature1", "feature2", "feature3"])
    )
    np.testing.assert_array_equal(result.prediction2.to_numpy(), runtime_predictions("example-2", frame, ["feature1"]))


def test_row_result_fields_selectable_in_sql(t_env, registered):
    frame = feature_rows(50, seed=5)
    t_env.create_temporary_view("RowFeatures", features_table(t_env, frame))
    result = (
        t_env.sql_query(
            "SELECT id, r.prediction AS prediction, r.standard_scaler_features AS scaled "
            "FROM (SELECT id, PredictDetailed(feature1, feature2, feature3) AS r FROM RowFeatures)"
        )
        .to_pandas()
        .sort_values("id")
        .reset_index(drop=True)
    )

    model = load_bundle(os.path.join(REPO, "models", "example-1.zip"))
    scored = model.transform_columns(
        {c: frame[c].to_numpy(dtype=np.float64) for c in ["feature1", "feature2", "feature3"]}
    )
    assert len(result) == 50
    np.testing.assert_array_equal(result.prediction.to_numpy(), scored.get("prediction", "t"))
    np.testing.assert_array_equal(np.stack(result.scaled.to_numpy()), scored.get("standard_scaler_features", "t"))


def test_null_features_follow_on_error(t_env, registered):
    frame = feature_rows(40, seed=9)
    frame["feature1"] = frame.feature1.astype(object)
    frame.loc[[3, 17], "feature1"] = None
    t_env.create_temporary_view("NullFeatures", features_table(t_env, frame))

    nulled = (
        t_env.sql_query("SELECT id, PredictOrNull(feature1, feature2, feature3) AS prediction FROM NullFeatures")
        .to_pandas()
        .sort_values("id")
        .reset_index(drop=True)
    )
    assert len(nulled) == 40
    assert nulled.prediction.isna().to_numpy().nonzero()[0].tolist() == [3, 17]
    valid = frame.drop(index=[3, 17])
    np.testing.assert_array_equal(
        nulled.prediction.dropna().to_numpy(),
        runtime_predictions("example-1.zip", valid.astype({"feature1": float}), ["feature1", "feature2", "feature3"]),
    )

    with pytest.raises(Exception) as info:
        t_env.sql_query("SELECT Predict(feature1, feature2, feature3) FROM NullFeatures").to_pandas()
    assert "UDF 'Predict' → bundle" in str(info.value)
    assert "(vector_assembler): input column 'feature1' is null (row 3 and 1 more)" in str(info.value)


def test_datagen_sql_files_score_every_row(t_env, registered, monkeypatch):
    monkeypatch.setenv("FEATURES_ROWS", "500")
    t_env.execute_sql("DROP TEMPORARY TABLE IF EXISTS Features")  # the session env is shared
    statements = read_statements(os.path.join(REPO, "sql", "features_datagen.sql"))
    run_statements(t_env, statements)
    result = t_env.sql_query(
        "SELECT feature1, feature2, feature3, Predict(feature1, feature2, feature3) AS prediction FROM Features"
    ).to_pandas()
    assert len(result) == 500
    assert result.feature1.between(0, 100).all() and result.feature2.between(0, 10).all()
    np.testing.assert_array_equal(
        result.prediction.to_numpy(),
        runtime_predictions("example-1.zip", result, ["feature1", "feature2", "feature3"]),
    )


def test_predict_job_prints_every_row():
    """The README's run command, end to end in its own process (its own JVM)."""
    env = subprocess_env(FEATURES_ROWS="7")
    completed = subprocess.run(
        [
            sys.executable,
            "jobs/predict_job.py",
            "--config",
            EXAMPLE_CONFIG,
            "--sql",
            "sql/features_datagen.sql",
            "--sql",
            "sql/predict.sql",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| +I |")]
    assert len(rows) == 7
    values = [[float(cell) for cell in line.strip("|").split("|")[1:]] for line in rows]
    assert all(len(v) == 2 and all(np.isfinite(v)) for v in values)
    assert "registered Predict(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE" in completed.stderr
    assert completed.stdout.rstrip().endswith("7 rows in set")
    # No dependency notices (google-auth's FutureWarnings, imported by Beam when the gcs extra is installed).
    assert [line for line in completed.stderr.splitlines() if "Warning" in line] == []


def test_bad_sql_names_file_and_line(t_env, tmp_path):
    from flink_ml_udf.flink.sql_script import SqlScriptError

    path = tmp_path / "bad.sql"
    path.write_text("-- first statement is fine\nSET 'parallelism.default' = '1';\n\nSELEC 1;\n")
    with pytest.raises(SqlScriptError) as info:
        run_statements(t_env, read_statements(str(path)))
    assert str(info.value).startswith(
        f"{path}:4: SELEC failed: org.apache.flink.table.api.SqlParserException: SQL parse failed."
    )
