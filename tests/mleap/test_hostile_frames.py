"""Hostile LeapFrames: every malformed document, field, row and cell is a ScoringError naming the
row and field at fault, and numeric columns are sized against the batch budget before allocation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.leapframe import frame_from_json, frame_to_json
from tests.conftest import REPO


def frame(fields, rows):
    return {"schema": {"fields": fields}, "rows": rows}


frame_json = frame


def field(name, type_):
    return {"name": name, "type": type_}


def failure(document, **kwargs) -> str:
    with pytest.raises(ScoringError) as info:
        frame_from_json(document, **kwargs)
    return str(info.value)


SHAPE = "LeapFrame JSON must be an object with a 'schema.fields' list and a 'rows' list"


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "frame",
        {},
        {"schema": {}, "rows": []},
        {"schema": [], "rows": []},
        {"schema": {"fields": {}}, "rows": []},
        {"schema": {"fields": []}, "rows": {}},
        {"schema": {"fields": []}, "rows": "abc"},
        {"schema": {"fields": []}},
    ],
)
def test_document_shape(document):
    assert failure(document) == SHAPE


@pytest.mark.parametrize(
    "fields,message",
    [
        (["x"], "LeapFrame field 0: needs a string 'name'"),
        ([{"name": 1, "type": "double"}], "LeapFrame field 0: needs a string 'name'"),
        (
            [field("x", "double"), field("x", "double")],
            "LeapFrame field 1: name 'x' appears twice (field names are unique)",
        ),
        ([field("x", "decimal")], "LeapFrame field 'x': unknown type 'decimal'"),
        ([field("x", ["double"])], "LeapFrame field 'x': malformed type ['double']"),
        ([field("x", None)], "LeapFrame field 'x': malformed type None"),
        (
            [field("x", {"type": "basic", "base": ["double"]})],
            "LeapFrame field 'x': unsupported type {'base': ['double'], 'type': 'basic'}",
        ),
        (
            [field("x", {"type": ["basic"], "base": "double"})],
            "LeapFrame field 'x': unsupported type {'base': 'double', 'type': ['basic']}",
        ),
        (
            [field("x", {"type": "basic", "base": "double", "isNullable": "no"})],
            "LeapFrame field 'x': isNullable must be true or false, found 'no'",
        ),
        (
            [field("x", {"type": "tensor", "base": "double", "dimensions": "3"})],
            "LeapFrame field 'x': tensor dimensions must be a list, found '3'",
        ),
        (
            [field("x", {"type": "tensor", "base": "double", "dimensions": [1.5]})],
            "LeapFrame field 'x': tensor dimensions: expected a whole number, found 1.5",
        ),
        (
            [field("x", {"type": "map", "base": "double", "key": "string"})],
            "LeapFrame field 'x': unsupported type {'base': 'double', 'key': 'string', 'type': 'map'}",
        ),
        (
            [field("x", {"type": "tensor", "base": "string"})],
            "LeapFrame field 'x': unsupported type {'base': 'string', 'type': 'tensor'}",
        ),
    ],
)
def test_fields(fields, message):
    assert failure(frame(fields, [])) == message


NOT_NULL = {"type": "basic", "base": "double", "isNullable": False}
INT = {"type": "basic", "base": "integer", "isNullable": False}


@pytest.mark.parametrize(
    "type_,cell,message",
    [
        ("double", "abc", "LeapFrame row 1, field 'x' (double): expected a number, found 'abc'"),
        ("double", True, "LeapFrame row 1, field 'x' (double): expected a number, found True"),
        ("double", [1.0], "LeapFrame row 1, field 'x' (double): expected a number, found [1.0]"),
        ("double", {"v": 1}, "LeapFrame row 1, field 'x' (double): expected a number, found {'v': 1}"),
        (
            "double",
            10**400,
            "LeapFrame row 1, field 'x' (double): number 100000000000000000...0000000000000000000 is out of range",
        ),
        ("float", "1.0", "LeapFrame row 1, field 'x' (float): expected a number, found '1.0'"),
        (
            NOT_NULL,
            None,
            "LeapFrame row 1, field 'x': null in a non-nullable double not null column (MLeap's JVM would read a double null as NaN; write the NaN as NaN, or declare the field nullable)",
        ),
        (
            INT,
            3.5,
            "LeapFrame row 1, field 'x' (integer): expected a whole number from -2147483648 to 2147483647, found 3.5",
        ),
        (
            INT,
            2**31,
            "LeapFrame row 1, field 'x' (integer): expected a whole number from -2147483648 to 2147483647, found 2147483648",
        ),
        (INT, "3", "LeapFrame row 1, field 'x' (integer): expected a number, found '3'"),
        (INT, True, "LeapFrame row 1, field 'x' (integer): expected a number, found True"),
        (
            INT,
            float("nan"),
            "LeapFrame row 1, field 'x' (integer): expected a whole number from -2147483648 to 2147483647, found nan",
        ),
        ("byte", 128, "LeapFrame row 1, field 'x' (byte): expected a whole number from -128 to 127, found 128"),
        (
            "short",
            -32769,
            "LeapFrame row 1, field 'x' (short): expected a whole number from -32768 to 32767, found -32769",
        ),
        (
            "long",
            2**63,
            "LeapFrame row 1, field 'x' (long): expected a whole number from -9223372036854775808 to 9223372036854775807, found 9223372036854775808",
        ),
        ("boolean", 1, "LeapFrame row 1, field 'x' (boolean): expected true or false, found 1"),
        ("boolean", "true", "LeapFrame row 1, field 'x' (boolean): expected true or false, found 'true'"),
        ("string", 5, "LeapFrame row 1, field 'x' (string): expected a string, found 5"),
        ("string", ["a"], "LeapFrame row 1, field 'x' (string): expected a string, found ['a']"),
        ("string", False, "LeapFrame row 1, field 'x' (string): expected a string, found False"),
        ("byte_string", 5, "LeapFrame row 1, field 'x' (byte_string): expected a base64 string, found 5"),
        (
            {"type": "list", "base": "string"},
            "abc",
            "LeapFrame row 1, field 'x' (list<string>): expected a JSON array, found 'abc'",
        ),
        ({"type": "list", "base": "string"}, [1], "LeapFrame row 1, field 'x' (string): expected a string, found 1"),
        (
            {"type": "list", "base": "string"},
            [None],
            "LeapFrame row 1, field 'x' (list<string>): a list element is null",
        ),
        (
            {"type": "list", "base": "double"},
            ["a"],
            "LeapFrame row 1, field 'x' (double): expected a number, found 'a'",
        ),
        (
            {"type": "list", "base": "int"},
            [1.5],
            "LeapFrame row 1, field 'x' (integer): expected a whole number from -2147483648 to 2147483647, found 1.5",
        ),
        (
            {"type": "list", "base": "string", "isNullable": False},
            None,
            "LeapFrame row 1, field 'x': null in a non-nullable list<string> not null column (MLeap's JVM would read a double null as NaN; write the NaN as NaN, or declare the field nullable)",
        ),
    ],
)
def test_scalar_and_list_cells(type_, cell, message):
    ok = {
        "double": 1.0,
        "float": 1.0,
        "byte": 1,
        "short": 1,
        "long": 1,
        "boolean": True,
        "string": "s",
        "byte_string": "AA==",
    }
    first = (
        ok.get(type_, 1)
        if isinstance(type_, str)
        else (
            ["s"]
            if type_.get("type") == "list" and type_["base"] == "string"
            else [1]
            if type_.get("type") == "list"
            else 1
        )
    )
    assert failure(frame([field("x", type_)], [[first], [cell]])) == message


def test_null_in_a_nullable_column_is_a_null_and_nan_is_a_value():
    parsed = frame_from_json(frame([field("x", "double"), field("y", NOT_NULL)], [[None, float("nan")], [1.0, 2.0]]))
    assert parsed.nulls("x").tolist() == [True, False]
    assert parsed.nulls("y") is None and math.isnan(parsed.get("y", "t")[0])


TENSOR = {"type": "tensor", "base": "double"}


@pytest.mark.parametrize(
    "cell,message",
    [
        ("abc", "expected a tensor object with 'values' and 'dimensions', found 'abc'"),
        ({"dimensions": [2]}, "expected a tensor object with 'values' and 'dimensions', found {'dimensions': [2]}"),
        ({"values": [1.0, 2.0]}, "a tensor needs a 'dimensions' list, found None"),
        ({"values": [1.0, 2.0], "dimensions": [-2]}, "tensor dimensions [-2] include a negative one"),
        ({"values": [1.0, 2.0], "dimensions": ["2"]}, "tensor dimensions: expected a whole number, found '2'"),
        ({"values": [1.0, 2.0, 3.0], "dimensions": [2]}, "dense tensor of dimensions [2] has 3 values, not 2"),
        ({"values": [1.0, "x"], "dimensions": [2]}, None),
        ({"indices": [[-1]], "values": [5.0], "dimensions": [2]}, "sparse index [-1] is outside the dimensions [2]"),
        ({"indices": [[2]], "values": [5.0], "dimensions": [2]}, "sparse index [2] is outside the dimensions [2]"),
        ({"indices": [[0], [0]], "values": [5.0, 6.0], "dimensions": [2]}, "sparse index [0] appears twice"),
        ({"indices": [0], "values": [5.0], "dimensions": [2]}, "sparse index 0 does not have 1 coordinates"),
        ({"indices": [[0, 1]], "values": [5.0], "dimensions": [2]}, "sparse index [0, 1] does not have 1 coordinates"),
        (
            {"indices": [[0]], "values": [5.0, 6.0], "dimensions": [2]},
            "a sparse tensor needs one index per value (2 values)",
        ),
        ({"indices": [[1.0]], "values": [5.0], "dimensions": [2]}, "sparse index [1.0] is outside the dimensions [2]"),
        (
            {"indices": [[True]], "values": [5.0], "dimensions": [2]},
            "sparse index [True] is outside the dimensions [2]",
        ),
        ({"indices": "0", "values": [5.0], "dimensions": [2]}, "a sparse tensor needs one index per value (1 values)"),
    ],
)
def test_tensor_cells(cell, message):
    document = frame([field("v", TENSOR)], [[{"values": [1.0, 2.0], "dimensions": [2]}], [cell]])
    found = failure(document)
    if message is None:
        assert found == "LeapFrame row 1, field 'v' (double): expected a number, found 'x'"
        return
    assert found == f"LeapFrame row 1, field 'v': {message}"


def test_sparse_tensor_is_placed_by_its_indices():
    document = frame(
        [field("v", {"type": "tensor", "base": "double", "dimensions": [2, 3]})],
        [[{"indices": [[1, 2], [0, 0]], "values": [7.0, None], "dimensions": [2, 3]}]],
    )
    values = frame_from_json(document).get("v", "t")
    assert np.isnan(values[0, 0]) and values[0, 5] == 7.0 and np.nansum(values) == 7.0


def test_tensors_of_different_sizes():
    document = frame(
        [field("v", TENSOR)], [[{"values": [1.0], "dimensions": [1]}], [{"values": [1.0, 2.0], "dimensions": [2]}]]
    )
    assert failure(document) == "LeapFrame field 'v': tensors differ in size (1, 2)"


def test_huge_sparse_dimension_is_over_the_batch_budget_before_allocation():
    document = frame([field("v", TENSOR)], [[{"indices": [[3]], "values": [1.0], "dimensions": [10**12]}]])
    assert failure(document) == (
        "LeapFrame field 'v': 1 rows of 1000000000000 values take 7.3 TiB, more than the 1 GiB left of the batch "
        "memory budget (max_batch_bytes)"
    )
    rows = [[1.0]] * 1000
    assert failure(frame([field("x", "double")], rows), max_batch_bytes=4000) == (
        "LeapFrame field 'x': 1000 rows of 1 values take 7.8 KiB, more than the 3.9 KiB left of the batch memory "
        "budget (max_batch_bytes)"
    )


@pytest.mark.parametrize(
    "rows,message",
    [
        ([{"x": 1.0}], "LeapFrame row 0: expected a JSON array, found {'x': 1.0}"),
        (["1.0"], "LeapFrame row 0: expected a JSON array, found '1.0'"),
        ([[]], "LeapFrame row 0: has no value for field 'x'"),
        ([None], "LeapFrame row 0: expected a JSON array, found None"),
    ],
)
def test_rows(rows, message):
    assert failure(frame([field("x", "double")], rows)) == message


def test_extra_trailing_values_are_ignored_as_in_mleap():
    parsed = frame_from_json(frame([field("x", "double")], [[1.0, "extra", None]]))
    assert parsed.get("x", "t").tolist() == [1.0]


def test_empty_rows_score_to_an_empty_frame_with_every_output_column():
    model = load_bundle(f"{REPO}/models/example-1.zip")
    fields = [field(c.name, "double") for c in model.input_schema]
    scored = frame_to_json(model.transform(frame_from_json(frame(fields, []))))
    assert scored["rows"] == []
    assert [f["name"] for f in scored["schema"]["fields"]] == [
        "feature1", "feature2", "feature3", "features", "standard_scaler_features", "prediction"
    ]  # fmt: skip
    with pytest.raises(ScoringError) as info:
        model.transform(frame_from_json(frame([field("other", "double")], [])))
    assert str(info.value) == (
        f"bundle {REPO}/models/example-1.zip → the model's input: input column 'feature1' is not in the frame "
        "(columns: other)"
    )


@pytest.mark.parametrize(
    "op,attributes,type_,cell,model_type",
    [
        ("ngram", {"n": 2}, "string", "a b", "list<string>"),
        ("tokenizer", {}, {"type": "list", "base": "string"}, ["a"], "string not null"),
        ("count_vectorizer", {"vocabulary": ["a"], "min_tf": 1.0, "binary": False}, "double", 1.5, "list<string>"),
        ("string_map", {"labels": ["a"], "values": [1.0]}, {"type": "list", "base": "double"}, [1.0], "string"),
        ("binarizer", {"threshold": 0.5}, {"type": "list", "base": "double"}, [1.0], "double not null"),
    ],
)
def test_frame_columns_of_another_shape_than_the_model_reads(tmp_path, op, attributes, type_, cell, model_type):
    """A string where a token list is expected would be read as a list of characters: refused."""
    from tests import bundle_writer as bw

    encoded = {
        key: bw.boolean(v) if isinstance(v, bool) else bw.long(v) if isinstance(v, int) else bw.double(v) if isinstance(v, float)
        else bw.string_list(v) if isinstance(v[0], str) else bw.double_list(v)
        for key, v in attributes.items()
    }  # fmt: skip
    if op == "binarizer":
        encoded["input_shapes"] = {"data_shape": {"base": "scalar", "isNullable": False}}
    path = bw.write_bundle(
        tmp_path / "b", bw.Node("n", op, encoded, inputs=[("input", "x")], outputs=[("output", "y")])
    )
    frame = frame_from_json(frame_json([field("x", type_)], [[cell]]))
    with pytest.raises(ScoringError) as info:
        load_bundle(path).transform(frame)
    shape = "list" if isinstance(cell, list) else "scalar"
    expected = "list" if model_type.startswith("list") else "scalar"
    assert str(info.value) == (
        f"bundle {path} → input column 'x' is a {shape} ({frame.type_of('x')}), but the model reads a {expected} ({model_type})"
    )
