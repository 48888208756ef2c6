"""gbt_regression, gbt_classifier, isotonic_regression, aft_survival_regression and
generalized_linear_regression on hand-written, Spark-style bundles.

Expected values come from sklearn models with the same meaning or from the formulas, computed here.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from scipy.special import erf
from sklearn import datasets
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.isotonic import IsotonicRegression as SkIsotonicRegression

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import Frame
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, vector
from tests import bundle_writer as bw
from tests.mleap.model_bundles import (
    float32_exact,
    gbt_bundle_from_sklearn,
    load,
    model_node,
    regression_tree,
    score,
)

# -- GBT -------------------------------------------------------------------------------------------


def test_gbt_regression_matches_sklearn_gradient_boosting(tmp_path):
    data = datasets.load_diabetes()
    x = float32_exact(data.data)
    sk = GradientBoostingRegressor(n_estimators=25, max_depth=3, learning_rate=0.1, random_state=0).fit(x, data.target)
    init = float(sk.init_.constant_.ravel()[0])
    model = load(tmp_path, gbt_bundle_from_sklearn(sk, init, 1.0, "gbt_regression"))
    out = score(model, x)
    np.testing.assert_allclose(out["prediction"], sk.predict(x), rtol=0, atol=1e-9)


def gbt_classifier_case(tmp_path, outputs, thresholds=None):
    data = datasets.load_breast_cancer()
    x = float32_exact(data.data)
    sk = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0).fit(x, data.target)
    prior = sk.init_.class_prior_[1]
    init = math.log(prior / (1 - prior))
    extra = {"num_classes": bw.long(2)}
    if thresholds is not None:
        extra["thresholds"] = bw.double_list(thresholds)
    # Spark's probability is sigmoid(2m): halving every weight makes m = sklearn's decision / 2.
    node = gbt_bundle_from_sklearn(sk, init, 0.5, "gbt_classifier", extra, outputs)
    return load(tmp_path, node), sk, x


def test_gbt_classifier_all_ports_match_sklearn(tmp_path):
    model, sk, x = gbt_classifier_case(tmp_path, ("raw_prediction", "probability", "prediction"))
    out = score(model, x)
    decision = sk.decision_function(x)
    np.testing.assert_allclose(out["raw_prediction"], np.column_stack((-decision / 2, decision / 2)), atol=1e-9)
    np.testing.assert_allclose(out["probability"], sk.predict_proba(x), atol=1e-12)
    np.testing.assert_array_equal(out["prediction"], sk.predict(x))
    assert model.output("probability").dtype == vector(2)


@pytest.mark.parametrize("outputs", [("prediction",), ("raw_prediction", "prediction"), ("probability", "prediction")])
def test_gbt_classifier_every_port_path_predicts_the_same(tmp_path, outputs):
    model, sk, x = gbt_classifier_case(tmp_path, outputs)
    np.testing.assert_array_equal(score(model, x)["prediction"], sk.predict(x))


def test_gbt_classifier_thresholds_scale_probabilities(tmp_path):
    model, sk, x = gbt_classifier_case(tmp_path, ("prediction",), thresholds=[0.2, 0.8])
    p = sk.predict_proba(x)
    expected = (p[:, 1] / 0.8 > p[:, 0] / 0.2).astype(float)
    np.testing.assert_array_equal(score(model, x)["prediction"], expected)
    assert 0 < expected.sum() < sk.predict(x).sum()  # the thresholds changed some predictions


def hand_gbt(tmp_path, weights, extra=None, outputs=("prediction",), op="gbt_classifier"):
    trees = {
        "a": regression_tree(bw.tree_lines([bw.split(0, 0.5), bw.leaf(-1.0), bw.leaf(2.0)]), 1),
        "b": regression_tree(bw.tree_lines([bw.leaf(0.25)]), 1),
    }
    attributes = {
        "num_features": bw.long(1),
        "tree_weights": bw.double_list(weights),
        "trees": bw.string_list(["a", "b"]),
        **(extra if extra is not None else {"num_classes": bw.long(2)}),
    }
    return load(tmp_path, model_node(op, attributes, outputs=outputs, submodels=trees))


def test_gbt_margin_zero_prob_path_and_margin_path(tmp_path):
    # m = w0 * tree_a + w1 * 0.25: x <= 0.5 gives -1*1 + 4*0.25 = 0 exactly.
    x = np.array([[0.0], [1.0]])
    margin_path = hand_gbt(tmp_path / "m", [1.0, 4.0])
    prob_path = hand_gbt(tmp_path / "p", [1.0, 4.0], outputs=("probability", "prediction"))
    np.testing.assert_array_equal(score(margin_path, x)["prediction"], [0.0, 1.0])
    out = score(prob_path, x)
    np.testing.assert_array_equal(out["probability"][0], [0.5, 0.5])
    np.testing.assert_allclose(out["probability"][1], [1 / (1 + math.exp(6.0)), 1 - 1 / (1 + math.exp(6.0))])
    np.testing.assert_array_equal(out["prediction"], [0.0, 1.0])


def test_gbt_regression_weights_are_used(tmp_path):
    model = hand_gbt(tmp_path, [0.5, 2.0], extra={}, op="gbt_regression")
    np.testing.assert_array_equal(score(model, np.array([[0.0], [3.0]]))["prediction"], [0.0, 1.5])


def test_gbt_load_errors(tmp_path):
    with pytest.raises(BundleError, match=r"attribute num_classes: GBT classification is binary, found 3 classes$"):
        hand_gbt(tmp_path / "a", [1.0, 1.0], extra={"num_classes": bw.long(3)})
    with pytest.raises(BundleError, match=r"attribute tree_weights: has 1 weights for 2 trees$"):
        hand_gbt(tmp_path / "b", [1.0])
    with pytest.raises(BundleError, match=r"attribute lossType: only 'logistic' is supported, found 'squared'$"):
        hand_gbt(tmp_path / "c", [1.0, 1.0], extra={"num_classes": bw.long(2), "lossType": bw.string("squared")})
    with pytest.raises(BundleError, match=r"attribute thresholds: has 3 values, expected num_classes = 2$"):
        hand_gbt(
            tmp_path / "d",
            [1.0, 1.0],
            extra={"num_classes": bw.long(2), "thresholds": bw.double_list([0.1, 0.2, 0.7])},
        )


# -- isotonic --------------------------------------------------------------------------------------


def isotonic(tmp_path, boundaries, predictions, feature_index=None, isotonic_value=True):
    attributes = {
        "boundaries": bw.double_list(boundaries),
        "predictions": bw.double_list(predictions),
        "isotonic": bw.boolean(True) if isotonic_value else {},
    }
    if feature_index is not None:
        attributes["feature_index"] = bw.long(feature_index)
    return load(tmp_path, model_node("isotonic_regression", attributes))


def test_isotonic_matches_sklearn_on_a_vector_input(tmp_path):
    rng = np.random.default_rng(3)
    train = rng.uniform(0, 10, 200)
    sk = SkIsotonicRegression(out_of_bounds="clip").fit(train, np.sqrt(train) + rng.normal(0, 0.3, 200))
    model = isotonic(tmp_path, sk.X_thresholds_, sk.y_thresholds_, feature_index=1)
    probe = np.concatenate([rng.uniform(-2, 12, 300), sk.X_thresholds_[:5]])
    x = np.column_stack([np.full(probe.size, 99.0), probe])
    np.testing.assert_allclose(score(model, x)["prediction"], sk.predict(probe), rtol=0, atol=1e-12)
    assert model.input("features").dtype == vector(None)


def test_isotonic_scalar_input_duplicates_and_nan_follow_java_binary_search(tmp_path):
    model = isotonic(tmp_path, [1, 2, 2, 2, 3], [10, 20, 25, 30, 40], isotonic_value=False)
    assert model.input("features").dtype == DOUBLE_NOT_NULL
    x = np.array([2.0, 2.5, 1.5, 0.0, 9.0, np.nan, 1.0, 3.0])
    # key 2 hits index 2 first (not the leftmost 2); 2.5 interpolates from the last 2 (index 3).
    expected = [25.0, 35.0, 15.0, 10.0, 40.0, 40.0, 10.0, 40.0]
    np.testing.assert_array_equal(model.transform_columns({"features": x}).get("prediction", "t"), expected)


def test_isotonic_null_scalar_and_out_of_range_index(tmp_path):
    model = isotonic(tmp_path / "s", [0.0, 1.0], [0.0, 1.0])
    frame = Frame(2)
    frame.add("features", np.array([0.5, 0.0]), DOUBLE_NOT_NULL, nulls=np.array([False, True]))
    with pytest.raises(
        ScoringError, match=r"input column 'features' is null \(it is a non-nullable double\) \(row 1\)$"
    ):
        model.transform(frame)
    indexed = isotonic(tmp_path / "v", [0.0, 1.0], [0.0, 1.0], feature_index=2)
    with pytest.raises(
        ScoringError, match=r"feature_index 2 is out of range for input column 'features' of 2 features"
    ):
        score(indexed, np.zeros((1, 2)))


def test_isotonic_load_errors(tmp_path):
    with pytest.raises(BundleError, match=r"attribute boundaries: is empty; the model needs at least one boundary$"):
        isotonic(tmp_path / "a", [], [])
    with pytest.raises(BundleError, match=r"attribute predictions: has 1 values for 2 boundaries$"):
        isotonic(tmp_path / "b", [0.0, 1.0], [3.0])


# -- AFT -------------------------------------------------------------------------------------------


def test_aft_prediction_and_quantiles(tmp_path):
    beta, b, scale, q = np.array([0.3, -0.2]), 0.7, 1.5, [0.1, 0.5, 0.9]
    node = model_node(
        "aft_survival_regression",
        {
            "coefficients": bw.tensor(beta),
            "intercept": bw.double(b),
            "quantile_probabilities": bw.double_list(q),
            "scale": bw.double(scale),
        },
        outputs=("prediction", "quantiles"),
    )
    model = load(tmp_path, node)
    x = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 0.0]])
    out = score(model, x)
    lam = np.exp(x @ beta + b)
    np.testing.assert_allclose(out["prediction"], lam, rtol=1e-15)
    # Weibull quantile: lambda * (-log(1 - q)) ** scale.
    np.testing.assert_allclose(out["quantiles"], lam[:, None] * (-np.log(1 - np.array(q))) ** scale, rtol=1e-14)
    assert model.output("quantiles").dtype == vector(3)


def test_aft_empty_quantile_list_and_width_check(tmp_path):
    node = model_node(
        "aft_survival_regression",
        {
            "coefficients": bw.tensor([1.0]),
            "intercept": {},
            "quantile_probabilities": {"type": "list"},
            "scale": bw.double(1.0),
        },
        outputs=("prediction", "quantiles"),
    )
    model = load(tmp_path, node)
    out = score(model, np.array([[0.0], [1.0]]))
    np.testing.assert_allclose(out["prediction"], [1.0, math.e])
    assert out["quantiles"].shape == (2, 0)
    with pytest.raises(ScoringError, match=r"input column 'features' has 2 features, expected 1$"):
        score(model, np.zeros((1, 2)))


# -- GLR -------------------------------------------------------------------------------------------

UNLINK = {
    "identity": lambda e: e,
    "logit": lambda e: 1 / (1 + np.exp(-e)),
    "log": np.exp,
    "inverse": lambda e: 1 / e,
    "sqrt": lambda e: e**2,
    "cloglog": lambda e: 1 - np.exp(-np.exp(e)),
    "probit": lambda e: 0.5 * (1 + erf(e / np.sqrt(2))),
}
DEFAULT_LINK = {"gaussian": "identity", "binomial": "logit", "poisson": "log", "gamma": "inverse"}


def glr(tmp_path, family, link=None, outputs=("prediction", "link_prediction")):
    attributes = {"coefficients": bw.tensor([0.5, -1.0]), "intercept": bw.double(0.25), "family": bw.string(family)}
    if link is not None:
        attributes["link"] = bw.string(link)
    return load(tmp_path, model_node("generalized_linear_regression", attributes, outputs=outputs))


def project(family, mu):
    mu = np.asarray(mu, dtype=float)
    if family == "gaussian":
        return np.clip(mu, -sys.float_info.max, sys.float_info.max)
    if family == "binomial":
        return np.clip(mu, 1e-16, 1 - 1e-16)
    return np.clip(mu, 1e-16, sys.float_info.max)


@pytest.mark.parametrize("family", sorted(DEFAULT_LINK))
@pytest.mark.parametrize("link", [None, *sorted(UNLINK)])
def test_glr_every_family_and_link(tmp_path, family, link):
    model = glr(tmp_path, family, link)
    x = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, -3.0], [-0.5, 0.0]])
    eta = x @ np.array([0.5, -1.0]) + 0.25
    with np.errstate(divide="ignore"):
        expected = project(family, UNLINK[link or DEFAULT_LINK[family]](eta))
    out = score(model, x)
    np.testing.assert_allclose(out["prediction"], expected, rtol=1e-14)
    np.testing.assert_array_equal(out["link_prediction"], eta)


def test_glr_projection_edges(tmp_path):
    # eta = 0.5 x0 - x1 + 0.25: rows give eta = 0 (inverse link: 1/0 = +inf), very negative, NaN.
    x = np.array([[-0.5, 0.0], [-200.0, 0.0], [np.nan, 0.0]])
    gaussian = score(glr(tmp_path / "g", "gaussian", "inverse", ("prediction",)), x)["prediction"]
    assert gaussian[0] == sys.float_info.max and np.isnan(gaussian[2])
    binomial = score(glr(tmp_path / "b", "binomial"), x)["prediction"]
    assert binomial[1] == 1e-16 and np.isnan(binomial[2])
    poisson = score(glr(tmp_path / "p", "poisson", "inverse"), x)["prediction"]
    assert poisson[0] == sys.float_info.max and poisson[1] == 1e-16


def test_glr_unknown_family_or_link(tmp_path):
    with pytest.raises(
        BundleError, match=r"attribute family: 'tweedie' is not one of gaussian, binomial, poisson, gamma$"
    ):
        glr(tmp_path / "a", "tweedie")
    with pytest.raises(BundleError, match=r"attribute link: 'power' is not one of identity, logit, log, inverse, sqrt"):
        glr(tmp_path / "b", "gamma", "power")
