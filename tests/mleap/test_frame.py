"""Frame's input readers: the reads and checks ops share (null mask, scalars, vectors, lists)."""

import numpy as np
import pytest

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.types import DOUBLE, DataType, vector

WHO = "node n (op)"


def frame_of(on_invalid="raise", **columns):
    frame = Frame(3, on_invalid)
    for name, (values, dtype, nulls) in columns.items():
        frame.add(name, values, dtype, nulls)
    return frame


def test_null_mask_is_all_false_without_nulls_and_the_nulls_otherwise():
    frame = frame_of(
        a=(np.array([1.0, 2.0, 3.0]), DOUBLE, None),
        b=(np.array([1.0, np.nan, 3.0]), DOUBLE, np.array([False, True, False])),
        s=(np.array(["x", None, "z"], dtype=object), DataType("string"), None),
    )
    assert frame.nulls("a") is None  # the cheap any-null test keeps its meaning
    assert frame.null_mask("a").tolist() == [False, False, False]
    assert frame.null_mask("b").tolist() == [False, True, False]
    assert frame.null_mask("s").tolist() == [False, True, False]


def test_require_non_null_returns_the_mask_and_names_the_reason():
    frame = frame_of("mark", b=(np.array([1.0, 0.0, 0.0]), DOUBLE, np.array([False, True, True])))
    mask = frame.require_non_null("b", WHO, "it is a non-nullable double")
    assert mask.tolist() == [False, True, True]
    assert frame.rejected.tolist() == [False, True, True]
    assert frame.reasons == [f"{WHO}: input column 'b' is null (it is a non-nullable double) (2 rows)"]


def test_scalars_reads_float64_and_rejects_nulls_unless_nullable():
    frame = frame_of(x=(np.array([1, 2, 3]), DataType("long"), np.array([False, False, True])))
    assert frame.scalars("x", WHO, nullable=True).tolist() == [1.0, 2.0, 3.0]
    assert frame.scalars("x", WHO, nullable=True).dtype == np.float64
    with pytest.raises(ScoringError) as info:
        frame.scalars("x", WHO)
    assert str(info.value) == f"{WHO}: input column 'x' is null (row 2)"


def test_scalars_refuses_a_vector_column():
    frame = frame_of(v=(np.zeros((3, 2)), vector(2), None))
    with pytest.raises(ScoringError) as info:
        frame.scalars("v", WHO)
    assert str(info.value) == f"{WHO}: input column 'v' must hold scalars, found a 2-D array"


def test_vectors_checks_the_width_and_names_what_it_found():
    frame = frame_of(
        v=(np.arange(6.0).reshape(3, 2), vector(2), None),
        x=(np.array([1.0, 2.0, 3.0]), DOUBLE, None),
        t=(np.zeros((3, 2, 2)), DataType("double", "tensor", (2, 2)), None),
    )
    assert frame.vectors("v", WHO, 2).tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert frame.vectors("v", WHO).shape == (3, 2)  # no size: any width
    for column, size, found in [("v", 3, "2"), ("x", 2, "a scalar"), ("t", 2, "a 3-D array")]:
        with pytest.raises(ScoringError) as info:
            frame.vectors(column, WHO, size)
        assert str(info.value) == f"{WHO}: input column {column!r} has size {found}, expected {size}"


def test_vectors_of_a_missing_column_names_the_columns_there_are():
    frame = frame_of(v=(np.zeros((3, 2)), vector(2), None))
    with pytest.raises(ScoringError) as info:
        frame.vectors("w", WHO, 2)
    assert str(info.value) == f"{WHO}: input column 'w' is not in the frame (columns: v)"


def test_lists_read_null_rows_as_empty_and_reject_them():
    tokens = np.empty(3, dtype=object)
    tokens[:] = [("a", "b"), None, ["c"]]
    frame = frame_of("mark", t=(tokens, DataType("string", "list"), None))
    assert frame.lists("t", WHO) == [["a", "b"], [], ["c"]]
    assert frame.rejected.tolist() == [False, True, False]
    assert frame.reasons == [f"{WHO}: input column 't' is null (1 rows)"]
