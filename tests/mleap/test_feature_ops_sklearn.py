"""Numeric feature ops on bundles the ``mleap`` package writes from scikit-learn: they score like
sklearn (or mleap's own transform) wherever MLeap's semantics agree, and where they do not (PCA),
like the JVM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.export.sklearn import export_bundle
from flink_ml_udf.mleap import load_bundle

COLUMNS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.normal(size=(200, 3)) * [1.0, 3.0, 0.5], columns=COLUMNS)


def sklearn_pipeline(*steps):
    import mleap.sklearn.pipeline  # noqa: F401  (patches Pipeline for MLeap)
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([(step.name, step) for step in steps])
    pipeline.mlinit()
    return pipeline


def extractor():
    from mleap.sklearn.preprocessing.data import FeatureExtractor

    return FeatureExtractor(input_scalars=COLUMNS, output_vector="features")


def export_and_load(pipeline, tmp_path):
    return load_bundle(export_bundle(pipeline, str(tmp_path / "bundle"), form="folder"))


def score(model, frame: pd.DataFrame, output: str) -> np.ndarray:
    names = [c.name for c in model.input_schema]
    return model.transform_columns({name: frame[name].to_numpy() for name in names}).get(output, "test")


@pytest.mark.parametrize("threshold", [0.0, 0.7])
def test_binarizer_matches_sklearn(tmp_path, data, threshold):
    from sklearn.preprocessing import Binarizer

    features = extractor()
    binarizer = Binarizer(threshold=threshold)
    binarizer.mlinit(prior_tf=features, output_features="binary")
    pipeline = sklearn_pipeline(features, binarizer)
    pipeline.fit(data)
    model = export_and_load(pipeline, tmp_path)
    assert [op.op for op in model.ops] == ["pipeline", "vector_assembler", "sklearn_binarizer"]
    np.testing.assert_array_equal(score(model, data, "binary"), pipeline.transform(data))


def legacy_feature_names(expansion):
    """scikit-learn < 1.2 ``PolynomialFeatures.get_feature_names()``: ``x{i}`` and ``x{i}^{p}`` terms."""
    names = []
    for powers in expansion.powers_:
        terms = [f"x{i}" if p == 1 else f"x{i}^{p}" for i, p in enumerate(powers) if p]
        names.append(" ".join(terms) or "1")
    return names


@pytest.mark.parametrize(
    "degree,include_bias,interaction_only", [(2, True, False), (3, False, False), (2, False, True)]
)
def test_polynomial_features_match_sklearn(tmp_path, data, degree, include_bias, interaction_only):
    from sklearn.preprocessing import PolynomialFeatures

    features = extractor()
    expansion = PolynomialFeatures(degree=degree, include_bias=include_bias, interaction_only=interaction_only)
    expansion.mlinit(prior_tf=features, output_features="poly")
    pipeline = sklearn_pipeline(features, expansion)
    pipeline.fit(data)
    # mleap 0.25 calls get_feature_names(), removed in scikit-learn 1.2; its replacement names the
    # fitted columns ("a b") instead of "x0 x1" and returns an array, so restore the old method.
    expansion.get_feature_names = lambda: legacy_feature_names(expansion)
    model = export_and_load(pipeline, tmp_path)
    assert model.ops[-1].op == "sklearn_polynomial_expansion"
    # MLeap uses Math.pow per term, sklearn multiplies columns: equal up to an ulp for cubes.
    np.testing.assert_allclose(score(model, data, "poly"), pipeline.transform(data), rtol=1e-15, atol=0)


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_imputer_matches_sklearn_simple_imputer(tmp_path, data, strategy):
    from mleap.sklearn.extensions.data import Imputer

    frame = data.copy()
    frame.loc[::7, "a"] = np.nan
    imputer = Imputer(input_features="a", output_features="a_imputed", strategy=strategy)
    pipeline = sklearn_pipeline(imputer)
    pipeline.fit(frame)
    model = export_and_load(pipeline, tmp_path)
    assert [c.name for c in model.input_schema] == ["a"]
    expected = pipeline.transform(frame).to_numpy().ravel()
    np.testing.assert_array_equal(score(model, frame, "a_imputed"), expected)


@pytest.mark.parametrize("operation", ["log", "exp", "sqrt", "sin", "cos", "tan", "abs"])
def test_math_unary_matches_mleap_transform(tmp_path, data, operation):
    from mleap.sklearn.preprocessing.data import MathUnary

    step = MathUnary(input_features=["a"], output_features="out", transform_type=operation)
    pipeline = sklearn_pipeline(step)
    values = data["a"].abs() if operation in ("log", "sqrt") else data["a"]
    model = export_and_load(pipeline, tmp_path)
    np.testing.assert_array_equal(
        score(model, pd.DataFrame({"a": values}), "out"), np.asarray(step.fit_transform(values.to_numpy()))
    )


@pytest.mark.parametrize("operation", ["add", "sub", "mul", "div", "rem", "pow"])
def test_math_binary_matches_mleap_transform(tmp_path, data, operation):
    from mleap.sklearn.preprocessing.data import MathBinary

    step = MathBinary(input_features=["a", "b"], output_features="out", transform_type=operation)
    pipeline = sklearn_pipeline(step)
    # Positive operands: there Python's % (mleap's transform) and Java's % (the JVM) agree.
    frame = data[["a", "b"]].abs() + 0.5
    model = export_and_load(pipeline, tmp_path)
    expected = step.fit_transform(frame.to_numpy()).to_numpy().ravel()
    np.testing.assert_array_equal(score(model, frame, "out"), expected)


def test_pca_scores_components_times_x_without_centering(tmp_path, data):
    import mleap.sklearn.decomposition.pca  # noqa: F401
    from sklearn.decomposition import PCA

    features = extractor()
    pca = PCA(n_components=3)  # the writer's row-major components only score right when k == n
    pca.mlinit(input_features="features", prediction_column="pcs")
    pipeline = sklearn_pipeline(features, pca)
    pipeline.fit(data)
    model = export_and_load(pipeline, tmp_path)
    ours = score(model, data, "pcs")
    X = data.to_numpy()
    np.testing.assert_allclose(ours, X @ pca.components_.T, rtol=0, atol=1e-13)
    # sklearn's own transform subtracts mean_ first: MLeap (and so this runtime) does not.
    np.testing.assert_allclose(ours, pipeline.transform(data) + pca.mean_ @ pca.components_.T, rtol=0, atol=1e-12)
