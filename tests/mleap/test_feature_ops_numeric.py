"""Numeric feature ops on hand-written bundles: MLeap's JVM semantics, quirks and error messages.

Expected values are worked out here by hand or with plain Python / numpy / scipy from the
attributes, independently of the runtime's code.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.fft

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import Frame, load_bundle
from flink_ml_udf.mleap.types import DOUBLE, DOUBLE_NOT_NULL, DataType, vector
from tests import bundle_writer as bw

INF = float("inf")


def op_model(tmp_path, op, attributes, inputs=(("input", "x"),), outputs=(("output", "y"),), numerics="fast"):
    node = bw.Node("n", op, attributes, inputs=list(inputs), outputs=list(outputs))
    return load_bundle(bw.write_bundle(tmp_path / "b", node), numerics=numerics)


def run(model, **columns):
    return model.transform_columns(columns)


def out(frame, name="y"):
    return frame.get(name, "test")


def scoring_error(tmp_path, op, reason):
    return f"bundle {tmp_path / 'b'} → node n ({op}): {reason}"


def attribute_error(tmp_path, op, attribute, reason):
    return f"bundle {tmp_path / 'b'} → node n ({op}) → attribute {attribute}: {reason}"


def with_nulls(name, values, nulls, dtype=DOUBLE):
    frame = Frame(len(values))
    frame.add(name, np.asarray(values, dtype=np.float64), dtype, nulls=np.asarray(nulls))
    return frame


def single_shape(base, dims=None):
    shape = {"base": base, "isNullable": False}
    if dims is not None:
        shape["tensorShape"] = {"dimensions": [{"size": d, "name": ""} for d in dims]}
    return {"data_shape": shape}


# -- binarizer -------------------------------------------------------------------------------


def test_binarizer_scalar_spark_form(tmp_path):
    model = op_model(tmp_path, "binarizer", {"threshold": bw.double(0.5), "input_shapes": single_shape("scalar")})
    frame = run(model, x=np.array([0.2, 0.5, 0.51, np.nan, -INF, INF]))
    np.testing.assert_array_equal(out(frame), [0.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    assert model.input_schema[0].dtype == DataType("double", nullable=False)
    assert frame.type_of("y") == DOUBLE_NOT_NULL


def test_binarizer_tensor_keeps_declared_dims_and_rejects_null(tmp_path):
    model = op_model(tmp_path, "binarizer", {"threshold": {}, "input_shapes": single_shape("tensor", [3])})
    frame = run(model, x=np.array([[-1.0, 0.0, 2.0], [np.nan, 1e-300, -0.0]]))
    np.testing.assert_array_equal(out(frame), [[0, 0, 1], [0, 1, 0]])
    assert frame.type_of("y") == DataType("double", "tensor", (3,))
    frame = Frame(2)
    frame.add("x", np.zeros((2, 3)), vector(3), nulls=np.array([False, True]))
    with pytest.raises(ScoringError) as info:
        model.transform(frame)
    assert str(info.value) == scoring_error(tmp_path, "binarizer", "input column 'x' is null (row 1)")


def test_binarizer_scalar_null_is_an_error(tmp_path):
    model = op_model(tmp_path, "binarizer", {"threshold": bw.double(0.0), "input_shapes": single_shape("scalar")})
    with pytest.raises(ScoringError) as info:
        model.transform(with_nulls("x", [1.0, np.nan], [False, True]))
    assert str(info.value) == scoring_error(tmp_path, "binarizer", "input column 'x' is null (row 1)")


def test_binarizer_multi_column_is_refused(tmp_path):
    with pytest.raises(BundleError) as info:
        op_model(tmp_path, "binarizer", {"thresholds": bw.double_list([0.5]), "input_shapes": single_shape("scalar")})
    assert str(info.value) == attribute_error(
        tmp_path, "binarizer", "thresholds", "multi-column Binarizer is not supported by MLeap"
    )
    with pytest.raises(BundleError) as info:
        op_model(
            tmp_path,
            "binarizer",
            {"threshold": bw.double(0.5), "thresholds": bw.double_list([0.5]), "input_shapes": single_shape("scalar")},
        )
    assert str(info.value) == attribute_error(
        tmp_path, "binarizer", "thresholds", "both 'threshold' and 'thresholds' are present"
    )


def test_sklearn_binarizer_scalar_shape_list(tmp_path):
    model = op_model(tmp_path, "sklearn_binarizer", {"threshold": bw.double(-1.0), "input_shapes": bw.scalar_shapes(1)})
    np.testing.assert_array_equal(out(run(model, x=np.array([-2.0, -1.0, 0.0]))), [0.0, 0.0, 1.0])


# -- bucketizer ------------------------------------------------------------------------------

SPLITS = {"type": "list", "double": [None, -1.0, 0.0, 1.0, None]}  # ±Inf ends stored as JSON null


def test_bucketizer_restores_infinite_ends_and_orders_negative_zero_below_zero(tmp_path):
    model = op_model(tmp_path, "bucketizer", {"splits": SPLITS})
    x = np.array([-INF, -5.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 7.0, INF])
    # Java binarySearch: -0.0 sorts before the 0.0 split, so it lands in the bucket below it.
    np.testing.assert_array_equal(out(run(model, x=x)), [0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    assert model.input_schema[0].dtype == DataType("double", nullable=False)
    assert model.output_schema[0].dtype == DOUBLE_NOT_NULL


def test_bucketizer_nan_keep_skip_error(tmp_path):
    x = np.array([0.5, np.nan, -0.5])
    keep = op_model(tmp_path / "k", "bucketizer", {"splits": SPLITS, "handle_invalid": bw.string("keep")})
    np.testing.assert_array_equal(out(run(keep, x=x)), [2.0, 4.0, 1.0])
    skip = op_model(tmp_path / "s", "bucketizer", {"splits": SPLITS, "handle_invalid": bw.string("skip")})
    frame = run(skip, x=x)
    np.testing.assert_array_equal(frame.skipped, [False, True, False])
    np.testing.assert_array_equal(out(frame)[[0, 2]], [2.0, 1.0])
    error = op_model(tmp_path, "bucketizer", {"splits": SPLITS})
    with pytest.raises(ScoringError) as info:
        run(error, x=x)
    assert str(info.value) == scoring_error(
        tmp_path, "bucketizer", "input column 'x' holds NaN (handle_invalid is 'error') (row 1)"
    )


def test_bucketizer_out_of_range_fails_even_with_keep(tmp_path):
    model = op_model(
        tmp_path, "bucketizer", {"splits": bw.double_list([0.0, 1.0, 2.0]), "handle_invalid": bw.string("keep")}
    )
    np.testing.assert_array_equal(out(run(model, x=np.array([0.0, 1.5, 2.0]))), [0.0, 1.0, 1.0])
    with pytest.raises(ScoringError) as info:
        run(model, x=np.array([1.0, -1.0, 3.0]))
    assert str(info.value) == scoring_error(
        tmp_path,
        "bucketizer",
        "input column 'x' holds a value outside the splits [0.0, 2.0] (an error for every handle_invalid) "
        "(row 1 and 1 more)",
    )


def test_bucketizer_null_and_bad_splits(tmp_path):
    model = op_model(tmp_path, "bucketizer", {"splits": SPLITS, "handle_invalid": bw.string("keep")})
    with pytest.raises(ScoringError) as info:
        model.transform(with_nulls("x", [0.0, 0.0], [True, False]))
    assert str(info.value) == scoring_error(tmp_path, "bucketizer", "input column 'x' is null (row 0)")
    with pytest.raises(BundleError) as info:
        op_model(tmp_path / "bad", "bucketizer", {"splits": bw.double_list([0.0, 2.0, 1.0])})
    assert str(info.value).endswith("attribute splits: must be strictly increasing numbers, found [0.0, 2.0, 1.0]")


# -- coalesce --------------------------------------------------------------------------------


def coalesce_model(tmp_path, nullable):
    ports = [(f"input{i}", name) for i, name in enumerate("abc"[: len(nullable)])]
    return op_model(tmp_path, "coalesce", {"nullable_inputs": {"type": "list", "boolean": nullable}}, inputs=ports)


def test_coalesce_first_non_null_nan_is_a_value(tmp_path):
    model = coalesce_model(tmp_path, [True, True, True])
    frame = Frame(4)
    frame.add("a", np.array([0.0, 1.0, np.nan, 0.0]), DOUBLE, nulls=np.array([True, False, False, True]))
    frame.add("b", np.array([2.0, 0.0, 3.0, 0.0]), DOUBLE, nulls=np.array([False, True, False, True]))
    frame.add("c", np.array([3.0, 4.0, 5.0, 0.0]), DOUBLE, nulls=np.array([False, False, False, True]))
    model.transform(frame)
    result = out(frame)
    np.testing.assert_array_equal(result[:2], [2.0, 1.0])
    assert np.isnan(result[2])
    np.testing.assert_array_equal(frame.nulls("y"), [False, False, False, True])
    assert frame.type_of("y") == DOUBLE
    assert [c.dtype.nullable for c in model.input_schema] == [True, True, True]


def test_coalesce_non_nullable_input_rejects_null(tmp_path):
    model = coalesce_model(tmp_path, [False, True])
    frame = Frame(2)
    frame.add("a", np.array([1.0, 0.0]), DOUBLE, nulls=np.array([False, True]))
    frame.add("b", np.array([2.0, 3.0]), DOUBLE)
    with pytest.raises(ScoringError) as info:
        model.transform(frame)
    assert str(info.value) == scoring_error(tmp_path, "coalesce", "input column 'a' is null (row 1)")


# -- dct -------------------------------------------------------------------------------------


@pytest.mark.parametrize("inverse", [False, True])
def test_dct_matches_scipy_orthonormal(tmp_path, inverse):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, 8))
    model = op_model(tmp_path, "dct", {"inverse": bw.boolean(inverse), "input_size": {"int": 8}})
    expected = (
        scipy.fft.idct(x, type=2, norm="ortho", axis=1) if inverse else scipy.fft.dct(x, type=2, norm="ortho", axis=1)
    )
    np.testing.assert_allclose(out(run(model, x=x)), expected, rtol=0, atol=1e-14)


def test_dct_spark_documentation_example(tmp_path):
    model = op_model(tmp_path, "dct", {"inverse": {}, "input_size": {"int": 4}})
    result = out(run(model, x=np.array([[0.0, 1.0, -2.0, 3.0]])))
    np.testing.assert_allclose(
        result[0], [1.0, -1.1480502970952693, 2.0000000000000004, -2.7716385975338604], atol=2e-15
    )


# -- elementwise_product / max_abs_scaler ----------------------------------------------------


def test_elementwise_product(tmp_path):
    model = op_model(tmp_path, "elementwise_product", {"scaling_vec": bw.tensor([0.5, -1.0, 2.0])})
    x = np.array([[1.0, 2.0, 3.0], [np.nan, INF, 0.0]])
    np.testing.assert_array_equal(out(run(model, x=x)), [[0.5, -2.0, 6.0], [np.nan, -INF, 0.0]])
    with pytest.raises(ScoringError) as info:
        run(model, x=np.zeros((1, 2)))
    assert str(info.value) == scoring_error(tmp_path, "elementwise_product", "input column 'x' has size 2, expected 3")


def test_max_abs_scaler_divides_and_clamps(tmp_path):
    model = op_model(tmp_path, "max_abs_scaler", {"maxAbs": bw.tensor([2.0, 0.0, 4.0])})
    x = np.array([[1.0, 3.0, -10.0], [np.nan, -0.5, 2.0]])
    # 3 / 1 (zero max-abs divides by 1) and -10 / 4 are clamped to [-1, 1]; NaN stays NaN.
    np.testing.assert_array_equal(out(run(model, x=x)), [[0.5, 1.0, -1.0], [np.nan, -0.5, 0.5]])
    assert model.output_schema[0].dtype == vector(3)


# -- imputer ---------------------------------------------------------------------------------


def test_imputer_replaces_null_nan_and_missing_value(tmp_path):
    model = op_model(
        tmp_path,
        "imputer",
        {"surrogate_value": bw.double(2.5), "missing_value": bw.double(-1.0), "strategy": bw.string("mean")},
    )
    frame = with_nulls("x", [1.0, -1.0, np.nan, 0.0, 7.0], [False, False, False, True, False])
    model.transform(frame)
    np.testing.assert_array_equal(out(frame), [1.0, 2.5, 2.5, 2.5, 7.0])
    assert frame.type_of("y") == DOUBLE_NOT_NULL
    assert model.input_schema[0].dtype == DOUBLE


def test_imputer_default_missing_value_is_nan(tmp_path):
    model = op_model(tmp_path, "imputer", {"surrogate_value": {}, "strategy": bw.string("median")})
    np.testing.assert_array_equal(out(run(model, x=np.array([np.nan, -1.0, 3.0]))), [0.0, -1.0, 3.0])


def test_imputer_non_nullable_input_rejects_null(tmp_path):
    model = op_model(
        tmp_path,
        "imputer",
        {"surrogate_value": bw.double(1.0), "strategy": bw.string("mean"), "nullable_input": {}},
    )
    assert model.input_schema[0].dtype == DataType("double", nullable=False)
    with pytest.raises(ScoringError) as info:
        model.transform(with_nulls("x", [1.0, 0.0], [False, True]))
    assert str(info.value) == scoring_error(tmp_path, "imputer", "input column 'x' is null (row 1)")


# -- interaction -----------------------------------------------------------------------------


def interaction_model(tmp_path, specs, shapes):
    attributes = {
        "num_inputs": {"int": len(specs)},
        "input_shapes": {"type": "list", "data_shape": shapes},
    }
    for i, spec in enumerate(specs):
        attributes[f"num_features{i}"] = {"type": "list", "int": spec}
    ports = [(f"input{i}", f"in{i}") for i in range(len(specs))]
    return op_model(tmp_path, "interaction", attributes, inputs=ports)


SCALAR = {"base": "scalar", "isNullable": True}


def tensor_shape(n):
    return {"base": "tensor", "isNullable": True, "tensorShape": {"dimensions": [{"size": n, "name": ""}]}}


def test_interaction_spark_documentation_example(tmp_path):
    model = interaction_model(tmp_path, [[1], [1, 1, 1], [1, 1, 1]], [SCALAR, tensor_shape(3), tensor_shape(3)])
    frame = run(
        model, in0=np.array([1.0, 2.0]), in1=np.array([[1, 2, 3], [4, 3, 2]]), in2=np.array([[8, 4, 5], [7, 9, 8]])
    )
    expected = [np.kron(np.kron([a], v1), v2) for a, v1, v2 in [(1, [1, 2, 3], [8, 4, 5]), (2, [4, 3, 2], [7, 9, 8])]]
    np.testing.assert_array_equal(out(frame), expected)
    assert frame.type_of("y") == vector(9)


def test_interaction_categorical_one_hot_and_unemitted_slots_stay_zero(tmp_path):
    # input0: one categorical of 2; input1: a categorical of 3 and a numeric -> 2 * (3 + 1) = 8 slots.
    model = interaction_model(tmp_path, [[2], [3, 1]], [SCALAR, tensor_shape(2)])
    frame = run(model, in0=np.array([1.0, 0.0]), in1=np.array([[2.0, 0.0], [0.0, INF]]))
    # Row 1: category 0 of input0 is hot, so the second block is never emitted: 0.0, not 0 * Inf = NaN.
    np.testing.assert_array_equal(out(frame), [[0, 0, 0, 0, 0, 0, 1, 0], [1, 0, 0, INF, 0, 0, 0, 0]])


def test_interaction_rejects_bad_category_and_null(tmp_path):
    model = interaction_model(tmp_path, [[2], [1]], [SCALAR, SCALAR])
    with pytest.raises(ScoringError) as info:
        run(model, in0=np.array([1.0, 1.5, 2.0]), in1=np.array([1.0, 1.0, 1.0]))
    assert str(info.value) == scoring_error(
        tmp_path,
        "interaction",
        "input column 'in0' element 0 must hold a category index in [0, 2), found another value (row 1 and 1 more)",
    )
    frame = Frame(2)
    frame.add("in0", np.array([0.0, 1.0]), DOUBLE)
    frame.add("in1", np.array([0.0, 1.0]), DOUBLE, nulls=np.array([True, False]))
    with pytest.raises(ScoringError) as info:
        model.transform(frame)
    assert str(info.value) == scoring_error(
        tmp_path, "interaction", "input column 'in1' is null (values to interact cannot be null) (row 0)"
    )


# -- math_unary / math_binary ----------------------------------------------------------------


def unary(tmp_path, operation):
    return op_model(tmp_path, "math_unary", {"operation": bw.string(operation)})


def test_math_unary_round_is_java_half_up(tmp_path):
    x = np.array([2.5, -2.5, 0.49999999999999994, -0.5, -0.0, np.nan, 1e20, -INF, 3.7, -3.7])
    result = out(run(unary(tmp_path, "round"), x=x))
    two63 = 9.223372036854776e18
    np.testing.assert_array_equal(result, [3.0, -2.0, 0.0, 0.0, 0.0, 0.0, two63, -two63, 4.0, -4.0])
    assert not np.signbit(result[3]) and not np.signbit(result[4])  # (double) 0L is +0.0


def test_math_unary_log_sqrt_floor_ceil_edge_values(tmp_path):
    x = np.array([1.0, 0.0, -1.0, 2.5, -2.5])
    np.testing.assert_array_equal(
        out(run(unary(tmp_path / "l", "log"), x=x)), [0.0, -INF, np.nan, math.log(2.5), np.nan]
    )
    np.testing.assert_array_equal(
        out(run(unary(tmp_path / "s", "sqrt"), x=x)), [1.0, 0.0, np.nan, math.sqrt(2.5), np.nan]
    )
    np.testing.assert_array_equal(out(run(unary(tmp_path / "f", "floor"), x=x)), [1.0, 0.0, -1.0, 2.0, -3.0])
    np.testing.assert_array_equal(out(run(unary(tmp_path / "c", "ceil"), x=x)), [1.0, 0.0, -1.0, 3.0, -2.0])
    np.testing.assert_array_equal(out(run(unary(tmp_path / "e", "exp"), x=np.array([0.0, 1000.0]))), [1.0, INF])


def test_math_unary_logit_range(tmp_path):
    model = unary(tmp_path, "logit")
    result = out(run(model, x=np.array([0.5, 0.0, 1.0, 0.25, np.nan])))
    np.testing.assert_array_equal(result, [0.0, -INF, INF, math.log(0.25 / 0.75), np.nan])
    with pytest.raises(ScoringError) as info:
        run(model, x=np.array([0.5, 1.5, -0.1]))
    assert str(info.value) == scoring_error(
        tmp_path, "math_unary", "logit input outside [0, 1] in column 'x' (row 1 and 1 more)"
    )


def test_math_unary_unknown_operation_and_null(tmp_path):
    with pytest.raises(BundleError) as info:
        unary(tmp_path / "u", "cbrt")
    assert str(info.value) == (
        f"bundle {tmp_path / 'u' / 'b'} → node n (math_unary) → attribute operation: 'cbrt' is not one of "
        "abs, ceil, cos, exp, floor, log, logit, round, sin, sqrt, tan"
    )
    model = unary(tmp_path, "abs")
    with pytest.raises(ScoringError) as info:
        model.transform(with_nulls("x", [1.0, 0.0], [False, True]))
    assert str(info.value) == scoring_error(tmp_path, "math_unary", "input column 'x' is null (row 1)")


def binary(tmp_path, operation, **attributes):
    ports = [(p, c) for p, c, d in (("input_a", "a", "da"), ("input_b", "b", "db")) if d not in attributes]
    attributes = {name: bw.double(value) for name, value in attributes.items()}
    return op_model(tmp_path, "math_binary", {"operation": bw.string(operation), **attributes}, inputs=ports)


A = np.array([7.0, -7.0, 1.0, 0.0, -0.0, -1.0, 8.0])
B = np.array([3.0, 3.0, np.nan, -0.0, 0.0, INF, 2.0])


def test_math_binary_java_semantics(tmp_path):
    def result(operation):
        return out(run(binary(tmp_path / operation, operation), a=A, b=B))

    np.testing.assert_array_equal(result("add"), A + B)
    np.testing.assert_array_equal(result("div")[:3], [7.0 / 3.0, -7.0 / 3.0, np.nan])
    # Java % keeps the dividend's sign (Python's % would give 2.0 for -7 % 3).
    np.testing.assert_array_equal(result("rem"), [1.0, -1.0, np.nan, np.nan, np.nan, -1.0, 0.0])
    # Math.pow: pow(1, NaN) and pow(-1, Inf) are NaN (C and Python give 1.0); pow(0, -0.0) is 1.
    np.testing.assert_array_equal(result("pow"), [343.0, -343.0, np.nan, 1.0, 1.0, np.nan, 64.0])
    minimum, maximum = result("min"), result("max")
    np.testing.assert_array_equal(minimum, [3.0, -7.0, np.nan, -0.0, -0.0, -1.0, 2.0])
    np.testing.assert_array_equal(maximum, [7.0, 3.0, np.nan, 0.0, 0.0, INF, 8.0])
    assert (
        np.signbit(minimum[3]) and np.signbit(minimum[4]) and not np.signbit(maximum[3]) and not np.signbit(maximum[4])
    )
    np.testing.assert_array_equal(
        result("log_n")[[0, 6]], [math.log(7.0) / math.log(3.0), math.log(8.0) / math.log(2.0)]
    )


def test_math_binary_constant_operands(tmp_path):
    model = binary(tmp_path, "sub", da=10.0)
    assert [c.name for c in model.input_schema] == ["b"]
    np.testing.assert_array_equal(out(run(model, b=np.array([1.0, 2.5]))), [9.0, 7.5])
    constant = op_model(
        tmp_path / "c",
        "math_binary",
        {"operation": bw.string("mul"), "da": bw.double(3.0), "db": bw.double(4.0)},
        inputs=(),
    )
    frame = Frame(2)
    constant.transform(frame)
    np.testing.assert_array_equal(out(frame), [12.0, 12.0])


def test_math_binary_load_errors(tmp_path):
    with pytest.raises(BundleError) as info:
        binary(tmp_path / "l", "logn")
    assert str(info.value) == (
        f"bundle {tmp_path / 'l' / 'b'} → node n (math_binary) → attribute operation: 'logn' is not one of "
        "add, div, log_n, max, min, mul, pow, rem, sub (the JVM spells it 'log_n')"
    )
    with pytest.raises(BundleError) as info:
        op_model(tmp_path, "math_binary", {"operation": bw.string("add")}, inputs=[("input_b", "b")])
    assert str(info.value) == scoring_error(tmp_path, "math_binary", "needs input port 'input_a' or attribute 'da'")


def test_math_binary_null_is_an_error(tmp_path):
    model = binary(tmp_path, "add")
    frame = Frame(2)
    frame.add("a", np.array([1.0, 2.0]), DOUBLE)
    frame.add("b", np.array([1.0, 0.0]), DOUBLE, nulls=np.array([False, True]))
    with pytest.raises(ScoringError) as info:
        model.transform(frame)
    assert str(info.value) == scoring_error(tmp_path, "math_binary", "input column 'b' is null (row 1)")


# -- normalizer ------------------------------------------------------------------------------


def normalizer(tmp_path, p, size=3):
    return op_model(tmp_path, "normalizer", {"p_norm": bw.double(p), "input_size": {"int": size}})


def test_normalizer_p1_p2_and_zero_row(tmp_path):
    x = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0], [1.0, np.nan, 2.0]])
    l1 = out(run(normalizer(tmp_path / "1", 1.0), x=x))
    np.testing.assert_array_equal(l1[0], [3.0 / 7.0, -4.0 / 7.0, 0.0])
    np.testing.assert_array_equal(l1[1], [0.0, 0.0, 0.0])  # zero norm: the row comes back unchanged
    assert np.isnan(l1[2]).all()
    l2 = out(run(normalizer(tmp_path / "2", 2.0), x=x[:2]))
    np.testing.assert_array_equal(l2, [[0.6, -0.8, 0.0], [0.0, 0.0, 0.0]])


def test_normalizer_general_p_and_infinity(tmp_path):
    x = np.array([[1.0, -2.0, 3.0]])
    p3 = out(run(normalizer(tmp_path / "3", 3.0), x=x))
    norm = math.pow(math.pow(1.0, 3) + math.pow(2.0, 3) + math.pow(3.0, 3), 1.0 / 3.0)
    np.testing.assert_allclose(p3[0], x[0] / norm, rtol=1e-15)
    # Python's json writes Infinity, which our reader accepts; the JVM's writer would store null.
    max_norm = out(run(normalizer(tmp_path / "i", INF), x=np.array([[1.0, np.nan, -4.0]])))
    np.testing.assert_array_equal(max_norm[0], [0.25, np.nan, -1.0])


def test_normalizer_rejects_p_below_one_or_nan(tmp_path):
    with pytest.raises(BundleError) as info:
        op_model(tmp_path, "normalizer", {"p_norm": {"double": None}, "input_size": {"int": 3}})
    assert str(info.value) == attribute_error(
        tmp_path,
        "normalizer",
        "p_norm",
        "must be >= 1, found nan (JSON bundles store an infinite p as null, which reads as NaN)",
    )


# -- pca -------------------------------------------------------------------------------------


def test_pca_reads_principal_components_column_major(tmp_path):
    components = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # n = 3 inputs, k = 2 components
    model = op_model(tmp_path, "pca", {"principal_components": bw.tensor(components.ravel(order="F"), dims=[3, 2])})
    frame = run(model, x=np.array([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0]]))
    np.testing.assert_array_equal(out(frame), [[9.0, 12.0], [-4.0, -4.0]])
    assert frame.type_of("y") == DataType("double", "tensor")
    with pytest.raises(ScoringError) as info:
        run(model, x=np.zeros((1, 2)))
    assert str(info.value) == scoring_error(tmp_path, "pca", "input column 'x' has size 2, expected 3")


# -- polynomial expansions -------------------------------------------------------------------


def poly(tmp_path, degree, size):
    return op_model(tmp_path, "polynomial_expansion", {"degree": bw.long(degree), "input_size": bw.long(size)})


def test_polynomial_expansion_spark_documentation_vectors(tmp_path):
    model = poly(tmp_path / "3", 3, 2)
    result = out(run(model, x=np.array([[2.0, 1.0], [3.0, -1.0]])))
    np.testing.assert_array_equal(result, [[2, 4, 8, 1, 2, 4, 1, 2, 1], [3, 9, 27, -1, -3, -9, 1, 3, -1]])
    assert model.output_schema[0].dtype == vector(9)
    result = out(run(poly(tmp_path / "2", 2, 3), x=np.array([[1.0, 2.0, 3.0]])))
    np.testing.assert_array_equal(result, [[1, 1, 2, 2, 4, 3, 3, 6, 9]])


def test_polynomial_expansion_zero_feature_suppresses_its_monomials(tmp_path):
    model = poly(tmp_path, 2, 2)  # [x, x^2, y, xy, y^2]
    result = out(run(model, x=np.array([[INF, 0.0], [0.0, INF]])))
    # y = 0: Spark never multiplies the zero block, so x*y is 0.0, not Inf * 0 = NaN.
    np.testing.assert_array_equal(result[0], [INF, INF, 0.0, 0.0, 0.0])
    # x = 0 but y = Inf: y * x is computed (Inf * 0 = NaN), as on the JVM.
    np.testing.assert_array_equal(result[1], [0.0, 0.0, INF, np.nan, INF])


def test_sklearn_polynomial_expansion_parses_combinations(tmp_path):
    model = op_model(tmp_path, "sklearn_polynomial_expansion", {"combinations": bw.string("[1,x0,x1,x0^2,x0 x1,x1^3]")})
    assert model.input_schema[0].dtype == vector(2)
    assert model.output_schema[0].dtype == vector(6)
    result = out(run(model, x=np.array([[2.0, 3.0], [-1.0, 0.5]])))
    np.testing.assert_array_equal(result, [[1, 2, 3, 4, 6, 27], [1, -1, 0.5, 1, -0.5, 0.125]])
    with pytest.raises(ScoringError) as info:
        run(model, x=np.zeros((1, 1)))
    assert str(info.value) == scoring_error(
        tmp_path, "sklearn_polynomial_expansion", "input column 'x' has size 1, but the combinations use feature x1"
    )


# -- selections ------------------------------------------------------------------------------


def test_vector_slicer_indices_then_named_indices(tmp_path):
    model = op_model(
        tmp_path,
        "vector_slicer",
        {
            "indices": bw.long_list([3, 0]),
            "names": bw.string_list(["b"]),
            "named_indices": {"type": "list", "int": [1]},
            "input_size": {"int": 4},
        },
    )
    np.testing.assert_array_equal(out(run(model, x=np.array([[10.0, 11.0, 12.0, 13.0]]))), [[13.0, 10.0, 11.0]])
    assert model.output_schema[0].dtype == vector(3)
    with pytest.raises(BundleError) as info:
        op_model(
            tmp_path / "bad",
            "vector_slicer",
            {
                "indices": bw.long_list([4]),
                "names": {"type": "list"},
                "named_indices": {"type": "list"},
                "input_size": {"int": 4},
            },
        )
    assert str(info.value).endswith("attribute indices: index 4 is outside a vector of size 4")


def test_chi_sq_selector(tmp_path):
    model = op_model(tmp_path, "chi_sq_selector", {"filter_indices": bw.long_list([0, 2]), "input_size": {"int": 3}})
    np.testing.assert_array_equal(
        out(run(model, x=np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan]]))), [[1, 3], [4, np.nan]]
    )
    assert model.output_schema[0].dtype == vector(2)


def indexer(tmp_path, handle_invalid=None):
    attributes = {
        "num_features": bw.long(3),
        "keys": bw.long_list([0, 2]),
        "key_0_keys": bw.double_list([-1.0, 0.0, 5.0]),
        "key_0_values": bw.long_list([2, 0, 1]),
        "key_2_keys": bw.double_list([10.0, 20.0]),
        "key_2_values": bw.long_list([1, 0]),
    }
    if handle_invalid:
        attributes["handle_invalid"] = bw.string(handle_invalid)
    return op_model(tmp_path, "vector_indexer", attributes)


def test_vector_indexer_maps_categorical_features(tmp_path):
    model = indexer(tmp_path)
    result = out(run(model, x=np.array([[5.0, 7.5, 20.0], [-0.0, 1.0, 10.0], [-1.0, np.nan, 20.0]])))
    np.testing.assert_array_equal(result, [[1.0, 7.5, 0.0], [0.0, 1.0, 1.0], [2.0, np.nan, 0.0]])


def test_vector_indexer_invalid_values(tmp_path):
    x = np.array([[5.0, 0.0, 10.0], [3.0, 0.0, 10.0], [np.nan, 0.0, 30.0]])
    keep = out(run(indexer(tmp_path / "k", "keep"), x=x))
    np.testing.assert_array_equal(keep, [[1.0, 0.0, 1.0], [3.0, 0.0, 1.0], [3.0, 0.0, 2.0]])
    with pytest.raises(ScoringError) as info:
        run(indexer(tmp_path, "error"), x=x)
    assert str(info.value) == scoring_error(
        tmp_path,
        "vector_indexer",
        "column 'x' holds an unseen category at feature 0 (handle_invalid is 'error') (row 1 and 1 more)",
    )
    with pytest.raises(ScoringError) as info:
        run(indexer(tmp_path / "s", "skip"), x=x)
    assert str(info.value) == scoring_error(
        tmp_path / "s",
        "vector_indexer",
        "column 'x' holds an unseen category at feature 0 "
        "(handle_invalid 'skip' makes MLeap's vector_indexer fail, not skip the row) (row 1 and 1 more)",
    )


# -- lsh -------------------------------------------------------------------------------------


def java_int(value):
    return (value + 2**31) % 2**32 - 2**31


def java_rem(value, divisor):
    return int(math.copysign(abs(value) % divisor, value))


def test_min_hash_lsh_wraps_in_32_bits(tmp_path):
    a, b = [1999999999, 3, 5000000000], [123456789, 7, -1]
    model = op_model(
        tmp_path,
        "min_hash_lsh",
        {"random_coefficients_a": bw.long_list(a), "random_coefficients_b": bw.long_list(b), "input_size": {"int": 6}},
    )
    x = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 2.0], [0.0, np.nan, 0.0, 0.0, 0.0, 0.0]])
    frame = run(model, x=x)
    result = out(frame)
    assert result.shape == (2, 3, 1)
    assert frame.type_of("y") == DataType("double", "tensor", (6, 1))
    assert result[0, 0, 0] == -761445105.0  # the spec's test vector (Spark's 64-bit arithmetic gives 85382045)

    def expected(active):
        return [
            min(java_rem(java_int(java_int((1 + e) * java_int(ai)) + java_int(bi)), 2038074743) for e in active)
            for ai, bi in zip(a, b)
        ]

    np.testing.assert_array_equal(result[:, :, 0], [expected([0, 5]), expected([1])])


def test_min_hash_lsh_needs_a_non_zero_entry(tmp_path):
    model = op_model(
        tmp_path,
        "min_hash_lsh",
        {
            "random_coefficients_a": bw.long_list([1]),
            "random_coefficients_b": bw.long_list([2]),
            "input_size": {"int": 2},
        },
    )
    with pytest.raises(ScoringError) as info:
        run(model, x=np.array([[1.0, 0.0], [0.0, -0.0]]))
    assert str(info.value) == scoring_error(
        tmp_path, "min_hash_lsh", "input column 'x' must have at least 1 non zero entry (row 1)"
    )


def netlib_ddot(x, y):
    """models.md §6.2, netlib Java11BLAS ddot: four interleaved fma accumulators, then the tail."""

    def fma(a, b, c):
        return float(Fraction(a) * Fraction(b) + Fraction(c))

    head = 4 * (len(x) // 4)
    partial = [0.0] * 4
    for j in range(head):
        partial[j % 4] = fma(x[j], y[j], partial[j % 4])
    total = 0.0 + (((partial[0] + partial[1]) + partial[2]) + partial[3])
    for j in range(head, len(x)):
        total = fma(x[j], y[j], total)
    return total


def brp_model(tmp_path, units, numerics="fast"):
    return op_model(
        tmp_path,
        "bucketed_random_projection_lsh",
        {
            "random_unit_vectors": {"type": "list", "tensor": [bw.tensor(u) for u in units]},
            "bucket_length": bw.double(2.0),
            "input_size": {"int": len(units[0])},
        },
        numerics=numerics,
    )


def test_bucketed_random_projection_lsh(tmp_path):
    units = [[0.5, -0.25, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, -3.0]]
    model = brp_model(tmp_path, units)
    rows = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [-8.0, 0.0, 0.5, 0.25, 2.0]])
    frame = run(model, x=rows)
    assert out(frame).shape == (2, 2, 1)
    np.testing.assert_array_equal(out(frame)[:, :, 0], np.floor(rows @ np.array(units).T / 2.0))
    assert frame.type_of("y") == DataType("double", "tensor", (5, 1))


def test_bucketed_random_projection_lsh_jvm_summation_order(tmp_path):
    units = [[1.0] * 9]
    model = brp_model(tmp_path, units, numerics="jvm")
    row = [1e16, 1e16, -1e16, -1e16, 1.0, 1.0, 1.0, 1.0, 4.5]  # the order of the sum decides the hash
    expected = math.floor(netlib_ddot(row, units[0]) / 2.0)
    assert expected == 2 and math.floor(sum(row) / 2.0) == 4
    frame = run(model, x=np.array([row]))
    assert out(frame)[0, 0, 0] == expected
