"""A flink-mleap user's setup, unchanged, on a local minicluster: their application.conf (HOCON), their
bundles' shape (one tensor input ``x`` of size 1 → random forest), the seed's Features table and query."""

from __future__ import annotations

import numpy as np
import pytest

from flink_ml_udf.flink.job import create_table_environment, main
from flink_ml_udf.flink.registry import register_from_config
from tests.flink_mleap import runtime_predictions, write_their_example

pytestmark = pytest.mark.flink

#: The seed's Features table: its columns exactly, 10 rows; feature1 counts 1..10 so the values are known.
FEATURES_DDL = """
CREATE TEMPORARY TABLE Features (
    feature1 DOUBLE NOT NULL,
    feature2 INT NOT NULL,
    feature3 DOUBLE NOT NULL,
    feature_timestamp TIMESTAMP(3)
) WITH (
    'connector' = 'datagen',
    'number-of-rows' = '10',
    'fields.feature1.kind' = 'sequence',
    'fields.feature1.start' = '1',
    'fields.feature1.end' = '10'
)
"""
SEED_QUERY = "SELECT Predictv2(feature1) AS prediction2 FROM Features"


@pytest.fixture(scope="module")
def their_example(tmp_path_factory):
    return write_their_example(str(tmp_path_factory.mktemp("flink-mleap") / "resources"))


def test_seed_query_with_their_config(their_example):
    t_env = create_table_environment()
    t_env.get_config().set("parallelism.default", "1")
    registered = register_from_config(their_example["conf"], t_env)
    assert [item.describe().split("  [")[0] for item in registered.values()] == [
        "Predict(x[0] DOUBLE) -> DOUBLE",
        "Predictv2(x[0] DOUBLE) -> DOUBLE",
    ]
    t_env.execute_sql(FEATURES_DDL)
    with t_env.execute_sql(SEED_QUERY).collect() as results:
        predictions = [row[0] for row in results]
    expected = runtime_predictions(their_example["Predictv2"], np.arange(1.0, 11.0))
    assert predictions == list(expected)  # 10 rows, in order, each exactly the runtime's value
    assert len(set(predictions)) > 3  # the forest's steps: not one constant


def test_a_call_with_the_wrong_arity_names_the_tensor_and_its_size(their_example, tmp_path, capsys):
    sql = tmp_path / "predict.sql"
    sql.write_text(FEATURES_DDL + ";\nSELECT Predictv2(feature1, feature2, feature3) AS prediction2 FROM Features;\n")
    assert main(["--config", their_example["conf"], "--sql", str(sql)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"flink-ml-udf job: {sql}:15: SELECT failed: ")
    assert "No match found for function signature Predictv2(<NUMERIC>, <NUMERIC>, <NUMERIC>)" in error
    assert error.endswith(
        "UDF 'Predictv2' takes 1 argument: 1 DOUBLE value packed in order into the bundle's tensor input 'x' of "
        "size 1; the call passes 3"
    )
