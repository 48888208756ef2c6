"""Ops checked on hand-written bundles: Spark-style attributes, edge cases and MLeap's own rules.

Expected values are computed here from the attributes, independently of the runtime's code.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import LabelEncoder
from sklearn.preprocessing import OneHotEncoder as SkOneHotEncoder

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import Frame, load_bundle
from flink_ml_udf.mleap.types import DOUBLE, STRING, DataType, vector
from tests import bundle_writer as bw


def assembled_model(tmp_path, model_node, n_features):
    assembler = bw.Node(
        "assembler",
        "vector_assembler",
        {"input_shapes": bw.scalar_shapes(n_features)},
        inputs=[(f"input{i}", f"x{i}") for i in range(n_features)],
        outputs=[("output", "features")],
    )
    return load_bundle(bw.write_bundle(tmp_path / "b", bw.pipeline("p", [assembler, model_node])))


def score(model, **columns):
    return model.transform_columns(columns)


# -- string_indexer --------------------------------------------------------------------------


def indexer_model(tmp_path, labels, handle_invalid=None, legacy=False):
    attributes = (
        {"labels": bw.string_list(labels)}
        if legacy
        else {
            "labels_length": {"int": 1},
            "labels_array_0": bw.string_list(labels),
        }
    )
    if handle_invalid:
        attributes["handle_invalid"] = bw.string(handle_invalid)
    ports = (
        ([("input", "city")], [("output", "city_index")])
        if legacy
        else ([("input0", "city")], [("output0", "city_index")])
    )
    node = bw.Node("indexer", "string_indexer", attributes, inputs=ports[0], outputs=ports[1])
    return load_bundle(bw.write_bundle(tmp_path / "b", node))


@pytest.mark.parametrize("legacy", [False, True])
def test_string_indexer_matches_sklearn_label_encoder(tmp_path, legacy):
    values = np.array(["paris", "berlin", "rome", "berlin", "oslo", "rome", "rome"], dtype=object)
    encoder = LabelEncoder().fit(values)
    model = indexer_model(tmp_path, list(encoder.classes_), legacy=legacy)
    assert [str(c.dtype) for c in model.input_schema] == ["string"]
    frame = score(model, city=values)
    np.testing.assert_array_equal(frame.get("city_index", "t"), encoder.transform(values).astype(float))


def test_string_indexer_unseen_label_errors_by_default(tmp_path):
    model = indexer_model(tmp_path, ["a", "b"])
    with pytest.raises(ScoringError) as info:
        score(model, city=np.array(["a", "zzz", "b", "q"], dtype=object))
    assert str(info.value) == (
        f"bundle {tmp_path / 'b'} → node indexer (string_indexer): unseen label in column 'city' "
        "(handle_invalid is 'error') (row 1 and 1 more)"
    )


def test_string_indexer_keep_maps_unseen_and_null_to_extra_index(tmp_path):
    model = indexer_model(tmp_path, ["a", "b"], handle_invalid="keep")
    frame = score(model, city=np.array(["b", "zzz", None, "a"], dtype=object))
    np.testing.assert_array_equal(frame.get("city_index", "t"), [1.0, 2.0, 2.0, 0.0])


def test_string_indexer_skip_marks_rows_skipped(tmp_path):
    model = indexer_model(tmp_path, ["a", "b"], handle_invalid="skip")
    frame = score(model, city=np.array(["b", "zzz", "a"], dtype=object))
    np.testing.assert_array_equal(frame.skipped, [False, True, False])
    np.testing.assert_array_equal(frame.get("city_index", "t")[[0, 2]], [1.0, 0.0])


def test_string_indexer_mark_policy_rejects_only_bad_rows(tmp_path):
    model = indexer_model(tmp_path, ["a", "b"])
    frame = Frame(4, on_invalid="mark")
    frame.add("city", np.array(["a", None, "q", "b"], dtype=object), STRING)
    model.transform(frame)
    np.testing.assert_array_equal(frame.rejected, [False, True, True, False])
    assert frame.reasons == [
        "node indexer (string_indexer): input column 'city' is null (1 rows)",
        "node indexer (string_indexer): unseen label in column 'city' (handle_invalid is 'error') (1 rows)",
    ]


def test_string_indexer_casts_a_double_column_as_java_does(tmp_path):
    """A numeric input is cast with Java's ``Double.toString`` (features.md, string_indexer): the labels a
    Spark StringIndexer fitted on a double column are these strings, not Python's ``repr`` ('10000000.0')."""
    labels = ["1.0E7", "1.0E-5", "-0.0", "NaN", "0.0", "1.5", "1.0E-4", "0.001", "1.23456789E8"]
    model = indexer_model(tmp_path, labels, handle_invalid="keep")
    frame = Frame(11)
    values = np.array([1e7, 1e-5, -0.0, np.nan, 0.0, 1.5, 1e-4, 0.001, 123456789.0, 10000000.5, np.nan])
    nulls = np.zeros(11, dtype=bool)
    nulls[10] = True  # a null row holds NaN in the frame: still a null (the extra index), never the label "NaN"
    frame.add("city", values, DOUBLE, nulls=nulls)
    model.transform(frame)
    np.testing.assert_array_equal(frame.get("city_index", "t"), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9])


def test_string_indexer_casts_a_long_column_without_a_fraction(tmp_path):
    model = indexer_model(tmp_path, ["3", "-7", "3.0"])
    frame = Frame(2)
    frame.add("city", np.array([3.0, -7.0]), DataType("long"))
    model.transform(frame)
    np.testing.assert_array_equal(frame.get("city_index", "t"), [0.0, 1.0])


# -- one_hot_encoder -------------------------------------------------------------------------


def encoder_model(tmp_path, attributes):
    node = bw.Node("ohe", "one_hot_encoder", attributes, inputs=[("input0", "c")], outputs=[("output0", "c_vec")])
    return load_bundle(bw.write_bundle(tmp_path / "b", node))


@pytest.mark.parametrize("drop_last", [False, True])
def test_one_hot_encoder_matches_sklearn(tmp_path, drop_last):
    categories = np.array([0, 2, 1, 3, 3, 0, 2], dtype=float)
    model = encoder_model(
        tmp_path,
        {
            "category_sizes": {"type": "list", "int": [4]},
            "handle_invalid": bw.string("error"),
            "drop_last": bw.boolean(drop_last),
        },
    )
    sklearn = SkOneHotEncoder(categories=[[0.0, 1.0, 2.0, 3.0]], drop=[3.0] if drop_last else None, sparse_output=False)
    expected = sklearn.fit_transform(categories.reshape(-1, 1))
    frame = score(model, c=categories)
    np.testing.assert_array_equal(frame.get("c_vec", "t"), expected)
    assert frame.type_of("c_vec") == vector(3 if drop_last else 4)


def test_one_hot_encoder_legacy_size_keep_and_invalid(tmp_path):
    # Legacy attrs: size + drop_last=true ⇒ handle_invalid defaults to keep: width n+1-1 = n.
    model = encoder_model(tmp_path, {"size": bw.long(3), "drop_last": bw.boolean(True)})
    frame = score(model, c=np.array([0.0, 2.0, 7.0]))
    np.testing.assert_array_equal(frame.get("c_vec", "t"), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])


def test_one_hot_encoder_rejects_unseen_and_fractional(tmp_path):
    model = encoder_model(
        tmp_path,
        {
            "category_sizes": {"type": "list", "int": [2]},
            "handle_invalid": bw.string("error"),
            "drop_last": bw.boolean(False),
        },
    )
    with pytest.raises(ScoringError, match=r"column 'c' holds an unseen category \(row 1\)$"):
        score(model, c=np.array([1.0, 5.0]))
    with pytest.raises(ScoringError, match=r"column 'c' holds a non-integral or NaN category \(row 0\)$"):
        score(model, c=np.array([0.5, 1.0]))


def test_one_hot_encoder_refuses_skip(tmp_path):
    with pytest.raises(BundleError, match=r"attribute handle_invalid: 'skip' is not one of error, keep$"):
        encoder_model(
            tmp_path,
            {
                "category_sizes": {"type": "list", "int": [2]},
                "handle_invalid": bw.string("skip"),
                "drop_last": bw.boolean(False),
            },
        )


# -- scalers ---------------------------------------------------------------------------------


def vector_op_model(tmp_path, op, attributes):
    node = bw.Node("scaler", op, attributes, inputs=[("input", "v")], outputs=[("output", "out")])
    return load_bundle(bw.write_bundle(tmp_path / "b", node))


def test_standard_scaler_zero_std_gives_exact_zero_even_for_nan(tmp_path):
    model = vector_op_model(tmp_path, "standard_scaler", {"mean": bw.tensor([1.0, 2.0]), "std": bw.tensor([2.0, 0.0])})
    frame = score(model, v=np.array([[3.0, 5.0], [np.nan, np.nan]]))
    out = frame.get("out", "t")
    np.testing.assert_array_equal(out[0], [(3.0 - 1.0) * (1.0 / 2.0), 0.0])
    assert np.isnan(out[1, 0]) and out[1, 1] == 0.0


def test_standard_scaler_mean_only_and_std_only(tmp_path):
    mean_only = vector_op_model(tmp_path / "m", "standard_scaler", {"mean": bw.tensor([1.0, -1.0])})
    std_only = vector_op_model(tmp_path / "s", "standard_scaler", {"std": bw.tensor([4.0, 0.0])})
    x = np.array([[3.0, 5.0]])
    np.testing.assert_array_equal(score(mean_only, v=x).get("out", "t"), [[2.0, 6.0]])
    np.testing.assert_array_equal(score(std_only, v=x).get("out", "t"), [[0.75, 0.0]])


def test_min_max_scaler_target_range_and_constant_column(tmp_path):
    model = vector_op_model(
        tmp_path,
        "min_max_scaler",
        {
            "min": bw.tensor([0.0, 5.0]),
            "max": bw.tensor([10.0, 5.0]),
            "minValue": bw.double(-1.0),
            "maxValue": bw.double(1.0),
        },
    )
    frame = score(model, v=np.array([[2.5, 7.0], [10.0, np.nan]]))
    out = frame.get("out", "t")
    np.testing.assert_array_equal(out[0], [(2.5 / 10.0) * 2.0 - 1.0, 0.5 * 2.0 - 1.0])
    assert out[1, 0] == 1.0 and np.isnan(out[1, 1])


def test_scaler_rejects_vector_of_wrong_size(tmp_path):
    model = vector_op_model(tmp_path, "standard_scaler", {"mean": bw.tensor([1.0, 2.0])})
    with pytest.raises(ScoringError, match=r"input column 'v' has size 3, expected 2$"):
        score(model, v=np.zeros((1, 3)))


# -- linear models ---------------------------------------------------------------------------


def test_linear_regression_with_omitted_zero_intercept(tmp_path):
    # The Scala writer drops zero scalars: "intercept": {} means 0.0.
    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor([2.0, -1.0]), "intercept": {}},
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
    )
    model = assembled_model(tmp_path, node, 2)
    frame = score(model, x0=np.array([1.0, 3.0]), x1=np.array([4.0, 0.5]))
    np.testing.assert_array_equal(frame.get("y", "t"), [2.0 - 4.0, 6.0 - 0.5])


def multinomial_node(coefficients_kf, intercepts, ports):
    k, f = coefficients_kf.shape
    return bw.Node(
        "mlr",
        "logistic_regression",
        {
            "num_classes": bw.long(k),
            # Spark/MLeap store matrices column-major.
            "coefficient_matrix": bw.tensor(coefficients_kf.ravel(order="F"), dims=[k, f]),
            "intercept_vector": bw.tensor(intercepts),
        },
        inputs=[("features", "features")],
        outputs=ports,
    )


def test_multinomial_logistic_regression_matches_sklearn_softmax(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    clf = LogisticRegression(max_iter=5000).fit(data.data, data.target)
    node = multinomial_node(
        clf.coef_, clf.intercept_, [("prediction", "y"), ("probability", "p"), ("raw_prediction", "r")]
    )
    model = assembled_model(tmp_path, node, 4)
    frame = score(model, **{f"x{i}": data.data[:, i] for i in range(4)})
    np.testing.assert_allclose(frame.get("p", "t"), clf.predict_proba(data.data), rtol=0, atol=1e-12)
    np.testing.assert_allclose(frame.get("r", "t"), clf.decision_function(data.data), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(frame.get("y", "t"), clf.predict(data.data).astype(float))


def test_binary_logistic_regression_threshold_and_paths(tmp_path):
    node = bw.Node(
        "blr",
        "logistic_regression",
        {
            "num_classes": bw.long(2),
            "coefficients": bw.tensor([1.0]),
            "intercept": bw.double(0.0),
            "threshold": bw.double(0.8),
        },
        inputs=[("features", "features")],
        outputs=[("prediction", "y"), ("probability", "p")],
    )
    model = assembled_model(tmp_path, node, 1)
    m = np.array([-2.0, 1.0, 1.5])  # sigmoid: 0.119, 0.731, 0.818 -> only the last clears 0.8
    frame = score(model, x0=m)
    np.testing.assert_array_equal(frame.get("y", "t"), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(frame.get("p", "t")[:, 1], 1 / (1 + np.exp(-m)), rtol=1e-15)
    np.testing.assert_allclose(frame.get("p", "t")[:, 0], 1 / (1 + np.exp(m)), rtol=1e-15)


# -- trees -----------------------------------------------------------------------------------


def test_spark_tree_with_categorical_split_and_count_leaves(tmp_path):
    # Root: x1 in {1, 3} goes left (isLeft) -> leaf counts [8, 2]; else x0 <= 0.5 -> [1, 3] / [0, 0].
    tree = bw.tree_lines(
        [
            bw.categorical_split(1, [1.0, 3.0], True, 4),
            bw.leaf(8.0, 2.0),
            bw.split(0, 0.5),
            bw.leaf(1.0, 3.0),
            bw.leaf(0.0, 0.0),
        ]
    )
    node = bw.Node(
        "dt",
        "decision_tree_classifier",
        {"num_features": bw.long(2), "num_classes": bw.long(2)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y"), ("probability", "p"), ("raw_prediction", "r")],
        files={"tree.json": tree},
    )
    model = assembled_model(tmp_path, node, 2)
    frame = score(model, x0=np.array([0.0, 0.0, 1.0, np.nan, 0.2]), x1=np.array([3.0, 2.0, 0.0, 5.0, np.nan]))
    np.testing.assert_array_equal(frame.get("r", "t"), [[8, 2], [1, 3], [0, 0], [0, 0], [1, 3]])
    np.testing.assert_array_equal(frame.get("p", "t"), [[0.8, 0.2], [0.25, 0.75], [0, 0], [0, 0], [0.25, 0.75]])
    np.testing.assert_array_equal(frame.get("y", "t"), [0.0, 1.0, 0.0, 0.0, 1.0])


def random_forest_node():
    """A forest whose ``trees`` list names two of three tree folders: the stray one must be ignored."""

    def tree(lines):
        return bw.Node("", "decision_tree_regression", {"num_features": bw.long(1)}, files={"tree.json": lines})

    return bw.Node(
        "rf",
        "random_forest_regression",
        {
            "num_features": bw.long(1),
            "tree_weights": bw.double_list([1.0, 1.0]),
            "trees": bw.string_list(["tree_b", "tree_a"]),
        },
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
        submodels={
            "tree_b": tree(bw.tree_lines([bw.split(0, 0.0), bw.leaf(1.0), bw.leaf(3.0)])),
            "tree_a": tree(bw.tree_lines([bw.leaf(10.0)])),
            "stray": tree(bw.tree_lines([bw.leaf(1000.0)])),
        },
    )


def test_random_forest_regression_follows_trees_list_not_folders(tmp_path):
    node = random_forest_node()
    model = assembled_model(tmp_path, node, 1)
    frame = score(model, x0=np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(frame.get("y", "t"), [(1.0 + 10.0) / 2, (3.0 + 10.0) / 2])


# -- vector_assembler / schema -----------------------------------------------------------------


def test_vector_assembler_rejects_null_scalar(tmp_path):
    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor([1.0]), "intercept": bw.double(0.5)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
    )
    model = assembled_model(tmp_path, node, 1)
    frame = Frame(3)
    frame.add("x0", np.array([1.0, np.nan, 2.0]), DOUBLE, nulls=np.array([False, True, False]))
    with pytest.raises(ScoringError) as info:
        model.transform(frame)
    assert (
        str(info.value)
        == f"bundle {tmp_path / 'b'} → node assembler (vector_assembler): input column 'x0' is null (row 1)"
    )
