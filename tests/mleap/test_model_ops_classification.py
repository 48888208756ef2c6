"""naive_bayes, multi_layer_perceptron_classifier, support_vector_machine, linear_svc, one_vs_rest
and the scikit-learn ``svm`` op. Expected values come from the matching sklearn models or formulas."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import BernoulliNB, MultinomialNB
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.types import DOUBLE, vector
from tests import bundle_writer as bw
from tests.conftest import float32_exact
from tests.mleap.model_bundles import load, model_node, score

ALL_PORTS = ("raw_prediction", "probability", "prediction")

# -- naive Bayes -----------------------------------------------------------------------------------


def nb_node(sk, model_type, outputs=ALL_PORTS, thresholds=None):
    k, f = sk.feature_log_prob_.shape
    attributes = {
        "num_features": bw.long(f),
        "num_classes": bw.long(k),
        "pi": bw.tensor(sk.class_log_prior_),
        "theta": bw.tensor(sk.feature_log_prob_.ravel(order="F"), [k, f]),  # Spark: column-major
        "model_type": bw.string(model_type),
    }
    if thresholds is not None:
        attributes["thresholds"] = bw.double_list(thresholds)
    return model_node("naive_bayes", attributes, outputs=outputs)


def count_data():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 300)
    rates = np.array([[5, 1, 1, 2], [1, 4, 2, 1], [2, 2, 5, 1]], dtype=float)
    return rng.poisson(rates[y]).astype(float), y


@pytest.mark.parametrize("outputs", [ALL_PORTS, ("prediction",), ("raw_prediction", "prediction")])
def test_multinomial_naive_bayes_matches_sklearn(tmp_path, outputs):
    x, y = count_data()
    sk = MultinomialNB(alpha=0.5).fit(x, y)
    out = score(load(tmp_path, nb_node(sk, "multinomial", outputs)), x)
    np.testing.assert_array_equal(out["prediction"], sk.predict(x))
    if "raw_prediction" in outputs:
        np.testing.assert_allclose(out["raw_prediction"], sk.predict_joint_log_proba(x), rtol=1e-13)
    if "probability" in outputs:
        np.testing.assert_allclose(out["probability"], sk.predict_proba(x), rtol=1e-12, atol=1e-15)


def test_bernoulli_naive_bayes_matches_sklearn(tmp_path):
    x, y = count_data()
    binary = (x > 1).astype(float)
    sk = BernoulliNB(alpha=1.0, binarize=None).fit(binary, y)
    out = score(load(tmp_path, nb_node(sk, "bernoulli")), binary)
    np.testing.assert_allclose(out["raw_prediction"], sk.predict_joint_log_proba(binary), rtol=1e-13)
    np.testing.assert_allclose(out["probability"], sk.predict_proba(binary), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(out["prediction"], sk.predict(binary))


def test_bernoulli_naive_bayes_rejects_non_binary_features(tmp_path):
    x, y = count_data()
    sk = BernoulliNB(binarize=None).fit((x > 1).astype(float), y)
    model = load(tmp_path, nb_node(sk, "bernoulli"))
    bad = np.array([[1, 0, 0, 1], [1, 0.5, 0, 0], [0, 0, np.nan, 0]], dtype=float)
    with pytest.raises(
        ScoringError, match=r"bernoulli naive Bayes needs features that are 0.0 or 1.0 \(row 1 and 1 more\)$"
    ):
        score(model, bad)


def test_naive_bayes_thresholds_and_load_errors(tmp_path):
    x, y = count_data()
    sk = MultinomialNB().fit(x, y)
    thresholds = [0.2, 0.5, 0.3]
    out = score(load(tmp_path / "t", nb_node(sk, "multinomial", ("prediction",), thresholds)), x)
    np.testing.assert_array_equal(out["prediction"], np.argmax(sk.predict_proba(x) / thresholds, axis=1))
    with pytest.raises(BundleError, match=r"attribute model_type: 'gaussian' is not one of multinomial, bernoulli$"):
        load(tmp_path / "g", nb_node(sk, "gaussian"))
    with pytest.raises(BundleError, match=r"attribute thresholds: has 2 values, expected num_classes = 3$"):
        load(tmp_path / "l", nb_node(sk, "multinomial", thresholds=[0.5, 0.5]))


# -- multi-layer perceptron ------------------------------------------------------------------------


def spark_mlp_weights(sk: MLPClassifier) -> np.ndarray:
    """Per layer: the nout x nin matrix column-major (= sklearn's nin x nout coefs_ row-major), then biases."""
    parts = []
    for coefs, intercepts in zip(sk.coefs_, sk.intercepts_):
        parts += [coefs.ravel(order="C"), intercepts]
    return np.concatenate(parts)


@pytest.mark.parametrize("hidden", [(6,), (5, 4)])
def test_mlp_matches_sklearn_logistic_softmax(tmp_path, hidden):
    data = datasets.load_iris()
    x = StandardScaler().fit_transform(data.data)
    sk = MLPClassifier(hidden_layer_sizes=hidden, activation="logistic", max_iter=3000, random_state=0)
    sk.fit(x, data.target)
    layers = [x.shape[1], *hidden, 3]
    node = model_node(
        "multi_layer_perceptron_classifier",
        {"layers": bw.long_list(layers), "weights": bw.tensor(spark_mlp_weights(sk))},
        outputs=ALL_PORTS,
    )
    model = load(tmp_path, node)
    out = score(model, x)
    a = x
    for coefs, intercepts in zip(sk.coefs_[:-1], sk.intercepts_[:-1]):
        a = 1 / (1 + np.exp(-(a @ coefs + intercepts)))
    np.testing.assert_allclose(out["raw_prediction"], a @ sk.coefs_[-1] + sk.intercepts_[-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["probability"], sk.predict_proba(x), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(out["prediction"], sk.predict(x))
    assert model.input("features").dtype == vector(4)


def test_mlp_weight_count_is_checked(tmp_path):
    node = model_node(
        "multi_layer_perceptron_classifier",
        {"layers": bw.long_list([2, 3]), "weights": bw.tensor(np.zeros(8))},
    )
    with pytest.raises(BundleError, match=r"attribute weights: has 8 values, layers \[2, 3\] need 9$"):
        load(tmp_path, node)


# -- linear SVMs -----------------------------------------------------------------------------------


def svm_attributes(coefficients, intercept, **extra):
    return {
        "coefficients": bw.tensor(coefficients),
        "intercept": bw.double(intercept),
        "num_classes": bw.long(2),
        **extra,
    }


def test_support_vector_machine_probability_is_the_margin(tmp_path):
    model = load(tmp_path, model_node("support_vector_machine", svm_attributes([1.0, -2.0], 0.5), outputs=ALL_PORTS))
    x = np.array([[1.0, 1.0], [3.0, 0.0], [0.5, 0.5]])
    m = x @ [1.0, -2.0] + 0.5
    out = score(model, x)
    np.testing.assert_array_equal(out["raw_prediction"], np.column_stack((-m, m)))
    np.testing.assert_array_equal(out["probability"], np.column_stack((-m, m)))
    np.testing.assert_array_equal(out["prediction"], [0.0, 1.0, 0.0])  # m = -0.5, 3.5, 0: a tie picks 0


def test_support_vector_machine_thresholds_divide_the_margins(tmp_path):
    attributes = svm_attributes([1.0], 0.0, thresholds=bw.double_list([2.0, 0.5]))
    model = load(tmp_path, model_node("support_vector_machine", attributes))
    # scaled = [-m / 2, m / 0.5]: m = -1 gives [0.5, -2] -> 0; m = 1 gives [-0.5, 2] -> 1.
    np.testing.assert_array_equal(score(model, np.array([[-1.0], [1.0]]))["prediction"], [0.0, 1.0])


def test_linear_svc_matches_sklearn_and_ignores_probability_port(tmp_path):
    data = datasets.load_breast_cancer()
    x = StandardScaler().fit_transform(data.data)
    sk = LinearSVC(C=0.5, max_iter=20000).fit(x, data.target)
    attributes = svm_attributes(sk.coef_[0], sk.intercept_[0], threshold={})  # {} is Spark's 0.0
    model = load(tmp_path, model_node("linear_svc", attributes, outputs=ALL_PORTS))
    out = score(model, x)
    decision = sk.decision_function(x)
    np.testing.assert_allclose(out["raw_prediction"], np.column_stack((-decision, decision)), atol=1e-12)
    np.testing.assert_array_equal(out["prediction"], sk.predict(x))
    assert "probability" not in out and [c.name for c in model.output_schema] == ["prediction", "raw_prediction"]


def test_linear_svc_threshold(tmp_path):
    attributes = svm_attributes([1.0], 0.0, threshold=bw.double(0.75))
    for outputs in [("prediction",), ("raw_prediction", "prediction")]:
        model = load(tmp_path / "_".join(outputs), model_node("linear_svc", attributes, outputs=outputs))
        np.testing.assert_array_equal(score(model, np.array([[0.5], [0.75], [1.0]]))["prediction"], [0.0, 0.0, 1.0])


def test_linear_svms_are_binary(tmp_path):
    attributes = {**svm_attributes([1.0], 0.0), "num_classes": bw.long(3), "threshold": {}}
    with pytest.raises(BundleError, match=r"attribute num_classes: a linear SVM is binary, found 3 classes$"):
        load(tmp_path, model_node("linear_svc", attributes))


@pytest.mark.parametrize("make", [lambda: LinearSVC(max_iter=20000), lambda: SVC(kernel="linear", C=0.1)])
def test_sklearn_svm_bundle_from_the_mleap_package(tmp_path, make):
    import mleap.sklearn.svm  # noqa: F401  (adds serialize_to_bundle to SVC / LinearSVC)

    data = datasets.load_breast_cancer(as_frame=True)
    features = float32_exact(data.data.rename(columns=lambda c: c.replace(" ", "_")))
    pipeline = mleap_pipeline(list(features.columns), [StandardScaler(), make()])
    fit_pipeline(pipeline, features, data.target.to_numpy())
    model = load_bundle(export_bundle(pipeline, str(tmp_path / "svm.zip")))
    assert [op.op for op in model.ops][-1] == "svm"
    frame = model.transform_columns({c: features[c].to_numpy() for c in features.columns})
    np.testing.assert_array_equal(frame.get("prediction", "t"), pipeline.predict(features))


# -- one vs rest -----------------------------------------------------------------------------------


def lr_submodel(coefficients, intercept):
    return bw.Node(
        "lr",
        "logistic_regression",
        {"num_classes": bw.long(2), "coefficients": bw.tensor(coefficients), "intercept": bw.double(intercept)},
    )


def ovr_node(submodels, num_features, outputs=("probability", "raw_prediction", "prediction")):
    attributes = {"num_classes": bw.long(len(submodels)), "num_features": bw.long(num_features)}
    return model_node(
        "one_vs_rest",
        attributes,
        outputs=outputs,
        submodels={f"model{i}": m for i, m in enumerate(submodels)},
    )


def test_one_vs_rest_of_logistic_regressions_matches_sklearn(tmp_path):
    data = datasets.load_wine()
    x = StandardScaler().fit_transform(data.data)
    sk = OneVsRestClassifier(LogisticRegression(max_iter=2000)).fit(x, data.target)
    subs = [lr_submodel(e.coef_[0], e.intercept_[0]) for e in sk.estimators_]
    model = load(tmp_path, ovr_node(subs, x.shape[1]))
    out = score(model, x)
    margins = np.column_stack([e.decision_function(x) for e in sk.estimators_])
    sigmoid = 1 / (1 + np.exp(-margins))
    np.testing.assert_allclose(out["raw_prediction"], margins, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(out["prediction"], sk.predict(x))
    np.testing.assert_allclose(out["probability"], sigmoid.max(axis=1), rtol=1e-13)
    assert model.output("probability").dtype == DOUBLE and model.output("raw_prediction").dtype == vector(3)


def test_one_vs_rest_linear_svc_votes_are_hard_and_first_wins(tmp_path):
    svc = [bw.Node("svc", "linear_svc", {**svm_attributes([w], 0.0), "threshold": {}}) for w in (-1.0, 1.0, 2.0)]
    model = load(tmp_path, ovr_node(svc, 1))
    out = score(model, np.array([[1.0], [-1.0], [0.0]]))
    # x=1: votes [0, 1, 1] -> class 1; x=-1: [1, 0, 0] -> 0; x=0: all 0 -> 0.
    np.testing.assert_array_equal(out["raw_prediction"], [[0, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out["prediction"], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(out["probability"], [1.0, 1.0, 0.0])


def test_one_vs_rest_nan_probability_wins_like_scala_max_by(tmp_path):
    # Model 1 reads a NaN-producing coefficient; Scala 2.13's total order puts NaN above 1.0.
    subs = [lr_submodel([0.0, 100.0], 0.0), lr_submodel([np.nan, 0.0], 0.0)]
    node = ovr_node(subs, 2)
    node.submodels["model1"].attributes["coefficients"] = {
        "type": "tensor",
        "double": [None, 0.0],
        "shape": {"dimensions": [{"size": 2, "name": ""}]},
    }
    out = score(load(tmp_path, node), np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(out["prediction"], [1.0])
    assert np.isnan(out["probability"][0])


def test_one_vs_rest_needs_classifier_submodels(tmp_path):
    regression = bw.Node("lin", "linear_regression", {"coefficients": bw.tensor([1.0]), "intercept": bw.double(0.0)})
    with pytest.raises(BundleError, match=r"one_vs_rest needs classifier sub-models, found op 'linear_regression'$"):
        load(tmp_path, ovr_node([lr_submodel([1.0], 0.0), regression], 1))


def test_one_vs_rest_with_tree_and_gbt_submodels_reads_their_files(tmp_path):
    tree = bw.Node(
        "dt",
        "decision_tree_classifier",
        {"num_features": bw.long(1), "num_classes": bw.long(2)},
        files={"tree.json": bw.tree_lines([bw.split(0, 0.0), bw.leaf(3.0, 1.0), bw.leaf(1.0, 9.0)])},
    )
    gbt_tree = bw.Node(
        "t",
        "decision_tree_regression",
        {"num_features": bw.long(1)},
        files={"tree.json": bw.tree_lines([bw.leaf(0.5)])},
    )
    gbt = bw.Node(
        "gbt",
        "gbt_classifier",
        {
            "num_features": bw.long(1),
            "num_classes": bw.long(2),
            "tree_weights": bw.double_list([1.0]),
            "trees": bw.string_list(["tree0"]),
        },
        submodels={"tree0": gbt_tree},
    )
    out = score(load(tmp_path, ovr_node([tree, gbt], 1)), np.array([[-1.0], [1.0]]))
    p_gbt = 1 - 1 / (1 + np.exp(2 * 0.5))  # 0.731
    # x=-1: tree leaf (3, 1) -> p = 0.25 < 0.731 -> class 1; x=1: leaf (1, 9) -> p = 0.9 -> class 0.
    np.testing.assert_allclose(out["raw_prediction"], [[1.0, 0.5], [9.0, 0.5]])
    np.testing.assert_array_equal(out["prediction"], [1.0, 0.0])
    np.testing.assert_allclose(out["probability"], [p_gbt, 0.9])


def test_one_vs_rest_protobuf_bundle(tmp_path):
    from tests.bundle_protobuf import to_protobuf

    subs = [lr_submodel([1.0, 0.0], 0.0), lr_submodel([0.0, 1.0], -0.5), lr_submodel([-1.0, -1.0], 0.0)]
    source = bw.write_bundle(tmp_path / "json", ovr_node(subs, 2))
    model = load_bundle(to_protobuf(source, str(tmp_path / "pb")))
    assert (tmp_path / "pb" / "root" / "model2" / "model.pb").exists()
    x = np.array([[2.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    out = score(model, x)
    np.testing.assert_array_equal(out["prediction"], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(out["probability"], 1 / (1 + np.exp(-np.array([2.0, 1.5, 2.0]))))
