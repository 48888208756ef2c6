"""The SQL type table: every row round-trips SQL name → PyFlink type → the pandas values the Arrow
bridge hands a UDF → a frame column → a scored column cast back → Arrow → Python values."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import SPLIT_KEY_TYPES, UdfEntry
from flink_ml_udf.flink.scoring import _to_column
from flink_ml_udf.flink.signature import sql_type_name
from flink_ml_udf.flink.sql_types import RESULT_TYPES, SQL_TYPES, column_sql_type, sql_type
from flink_ml_udf.mleap.ops import Column
from flink_ml_udf.mleap.types import DataType
from tests.conftest import REPO

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")


def _objects(*cells):
    column = np.empty(len(cells), dtype=object)
    column[:] = list(cells)
    return column


#: Per row: a column as the MLeap runtime computes it (3 rows), and the Python values Flink gets
#: back when the middle row is NULL.
SAMPLES = {
    "DOUBLE": (np.array([0.5, -1.25, 3.0]), [0.5, None, 3.0]),
    "FLOAT": (np.array([0.5, -1.25, 3.0]), [0.5, None, 3.0]),
    "INT": (np.array([2, 0, 7]), [2, None, 7]),  # a cluster id (k-means prediction)
    "BIGINT": (np.array([2**40, -3, 7]), [2**40, None, 7]),
    "STRING": (_objects("oslo", "rome", "lima"), ["oslo", None, "lima"]),
    "BOOLEAN": (np.array([True, False, False]), [True, None, False]),
    "ARRAY<DOUBLE>": (np.array([[1.0, 2.0], [3.0, 4.0], [5.5, -6.0]]), [[1.0, 2.0], None, [5.5, -6.0]]),
    "ARRAY<STRING>": (_objects(["a"], ["b", "c"], []), [["a"], None, []]),
}
NULLED = np.array([False, True, False])

#: The Java side of each DataStream type (``pyflink.common.Types``).
JAVA_TYPE_INFO = {
    "DOUBLE": "Double",
    "FLOAT": "Float",
    "INT": "Integer",
    "BIGINT": "Long",
    "STRING": "String",
    "BOOLEAN": "Boolean",
    "ARRAY<DOUBLE>": "double[]",
    "ARRAY<STRING>": "BasicArrayTypeInfo<String>",
}


def test_every_row_has_samples():
    assert sorted(SAMPLES) == sorted(row.name for row in SQL_TYPES) == sorted(JAVA_TYPE_INFO)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_row_round_trips_through_the_arrow_bridge(name):
    import pyarrow as pa
    from pyflink.table.types import to_arrow_type
    from pyflink.table.utils import arrow_to_pandas, pandas_to_arrow

    row = sql_type(name)
    computed, expected = SAMPLES[name]
    flink = row.flink_type()
    schema = pa.schema([pa.field("r", to_arrow_type(flink))])

    result = row.result(computed, NULLED)  # a scored column
    assert str(result.dtype) == row.pandas_dtype
    batch = pandas_to_arrow(schema, "UTC", [flink], [row.bridged(result)])  # as the UDF hands it to PyFlink
    received = arrow_to_pandas("UTC", [flink], [batch])[0]  # what a UDF taking this type is handed
    assert [None if pd.isna(v) is True else row.python_value(v) for v in received] == expected

    gathered = row.typed(pd.Series(result.to_numpy(dtype=object)))  # rows of several variants, reassembled
    assert str(gathered.dtype) == row.pandas_dtype
    back = pandas_to_arrow(schema, "UTC", [flink], [row.bridged(gathered)])
    assert back.column(0).to_pylist() == batch.column(0).to_pylist()

    if row.frame_type is not None:  # the received argument as a frame column of the runtime
        values, nulls = _to_column(received, Column("x", row.frame_type))
        assert nulls.tolist() == NULLED.tolist()
        kept = [v.tolist() if isinstance(v, np.ndarray) else v for v in values[~nulls]]
        assert [expected[0], expected[2]] == [row.python_value(v) for v in kept]


@pytest.mark.parametrize("name", list(SAMPLES))
def test_pyflink_types_are_the_sql_types_flink_sees(name, t_env):
    from pyflink.table.types import _to_java_data_type

    row = sql_type(name)
    assert _to_java_data_type(row.flink_type()).toString() == name
    assert row.type_information().get_java_type_info().toString() == JAVA_TYPE_INFO[name]


def test_bundle_columns_map_to_rows():
    for row in SQL_TYPES:
        shapes = ("list", "tensor") if row.is_array else ("scalar",)
        for base in row.frame_bases:
            for shape in shapes:
                assert column_sql_type(DataType(base, shape)) is row, (base, shape)
        if row.frame_type is not None:
            assert sql_type_name(row.frame_type) == row.name
    everywhere = [(base, row.is_array) for row in SQL_TYPES for base in row.frame_bases]
    assert len(everywhere) == len(set(everywhere)), "a bundle base type claimed by two rows"
    # bases no row lists keep the types they always had
    assert sql_type_name(DataType("byte_string")) == "DOUBLE"
    assert sql_type_name(DataType("float", "tensor", (3,))) == "ARRAY<DOUBLE>"
    assert sql_type_name(DataType("long", "list")) == "ARRAY<DOUBLE>"
    assert sql_type_name(DataType("double", "map")) == "ARRAY<DOUBLE>"
    assert sql_type(name="FLOAT").frame_type is None  # a result type only (``result_type: FLOAT``)


def test_result_type_overrides_and_split_keys_read_the_table():
    assert RESULT_TYPES == ("DOUBLE", "FLOAT", "INT", "BIGINT", "STRING", "BOOLEAN")
    for name in SPLIT_KEY_TYPES:  # config (which knows no Flink) names them; the table types the argument
        assert sql_type_name(sql_type(name).frame_type) == name
    assert sql_type("BIGINT").frame_type == DataType("long")


def test_strings_of_whole_numbers_lose_the_trailing_zero():
    string = sql_type("STRING")
    assert string.result(np.array([1.0, 2.0, -3.0]), NULLED).tolist() == ["1", None, "-3"]
    assert string.result(np.array([1.0, 2.5, -3.0]), NULLED).tolist() == ["1.0", None, "-3.0"]


@pytest.mark.parametrize("name", ["INT", "BIGINT", "BOOLEAN"])
def test_bridged_nullable_columns_without_nulls_stay_numpy(name):
    row = sql_type(name)
    bridged = row.bridged(row.result(SAMPLES[name][0], np.zeros(3, dtype=bool)))
    assert bridged.dtype == {"INT": np.int32, "BIGINT": np.int64, "BOOLEAN": np.bool_}[name]
    assert bridged.tolist() == SAMPLES[name][0].tolist()


def test_integer_results_are_exact_and_doubles_rounded():
    bigint = sql_type("BIGINT")
    exact = bigint.bridged(bigint.result(np.array([2**62 + 1, -(2**53) - 1, 5]), NULLED))
    assert exact.tolist() == [2**62 + 1, None, 5]  # not through float64, which would give 2**62
    rounded = sql_type("INT").result(np.array([1.4, 2.5, -0.6]), np.zeros(3, dtype=bool))
    assert rounded.tolist() == [1, 2, -1]  # round half to even, as before


def test_a_row_result_is_bridged_column_by_column():
    from flink_ml_udf.flink.udf import bridged

    types = [sql_type("DOUBLE"), sql_type("INT")]
    frame = pd.concat([types[0].result(SAMPLES["DOUBLE"][0], NULLED), types[1].result(SAMPLES["INT"][0], NULLED)],
                      axis=1, keys=["p", "cluster"])  # fmt: skip
    out = bridged(frame, types)
    assert list(out.columns) == ["p", "cluster"]
    assert out.p.dtype == np.float64 and out.cluster.dtype == object
    assert out.cluster.tolist() == [2, None, 7]
    doubles = frame[["p"]]
    assert bridged(doubles, types[:1]) is doubles  # nothing to change: the same frame


@pytest.mark.flink
def test_integer_and_boolean_results_in_a_flink_job(t_env, tmp_path):
    """``result_type`` INT, BIGINT and BOOLEAN (pandas' nullable dtypes) through a real job, with a
    NULL row (``on_error: null``): PyFlink's Arrow serializer refuses those dtypes as they are."""
    from pyflink.table.expressions import call, col

    from flink_ml_udf.flink.registry import register_from_config

    names = ("INT", "BIGINT", "BOOLEAN")
    entries = "".join(
        f"\n    - {{udf_name: As{name}, bundle_path: '{EXAMPLE_1}', result_type: {name}, on_error: 'null'}}"
        for name in names
    )
    path = tmp_path / "application.yaml"
    path.write_text(f"mleap:\n  udf_registry:{entries}\n")
    register_from_config(str(path), t_env)
    rows = [(1.0, 2.0, 3.0), (50.0, 4.0, -0.5), (None, 1.0, 1.0), (99.0, 0.0, 0.0)]
    frame = pd.DataFrame(rows, columns=["f1", "f2", "f3"]).astype(np.float64)  # NaN: a NULL DOUBLE
    calls = [call(f"As{name}", col("f1"), col("f2"), col("f3")) for name in names]
    with t_env.from_pandas(frame, ["f1", "f2", "f3"]).select(col("f2"), *calls).execute().collect() as results:
        scored = {r[0]: tuple(r[1:]) for r in results}

    model = load_entry_model(UdfEntry("P", EXAMPLE_1)).model
    scoreable = [r for r in rows if r[0] is not None]
    columns = {f"feature{i + 1}": np.array([r[i] for r in scoreable]) for i in range(3)}
    predictions = model.transform_columns(columns).get("prediction", "test")
    expected = {r[1]: (int(round(p)), int(round(p)), bool(p != 0)) for r, p in zip(scoreable, predictions)}
    expected[1.0] = (None, None, None)
    assert scored == expected
    assert len({v[0] for v in expected.values()}) == 4  # distinct values: the test can tell rows apart


def test_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        sql_type("DECIMAL")
