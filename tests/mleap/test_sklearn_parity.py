"""Bundles written by the ``mleap`` package from fitted scikit-learn models score like sklearn."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline
from flink_ml_udf.mleap import load_bundle
from tests.conftest import REPO, float32_exact

TOLERANCE = 1e-9


def dataset(name: str):
    loader = {
        "diabetes": datasets.load_diabetes,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }[name]
    data = loader(as_frame=True)
    features = data.data.rename(
        columns=lambda c: c.replace(" ", "_").replace("(", "").replace(")", "").replace("/", "_")
    )
    return float32_exact(features), data.target.to_numpy()


CASES = {
    "linear_regression+standard_scaler": ("diabetes", lambda: [StandardScaler(), LinearRegression()]),
    "linear_regression+min_max_scaler": ("diabetes", lambda: [MinMaxScaler(), LinearRegression()]),
    "decision_tree_regression": ("diabetes", lambda: [DecisionTreeRegressor(max_depth=6, random_state=0)]),
    # Trees get no scaler in front: sklearn rounds a tree's input to float32, MLeap compares the double,
    # so scaled values sitting on a split would route differently (the JVM's way is the one we follow).
    "random_forest_regression": (
        "diabetes",
        lambda: [RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0)],
    ),
    "logistic_regression_binary+standard_scaler": (
        "breast_cancer",
        lambda: [StandardScaler(), LogisticRegression(max_iter=5000)],
    ),
    "decision_tree_classifier": ("iris", lambda: [DecisionTreeClassifier(max_depth=4, random_state=0)]),
    "random_forest_classifier": (
        "wine",
        lambda: [RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0)],
    ),
}


def fitted(case: str):
    data_name, make_steps = CASES[case]
    features, target = dataset(data_name)
    pipeline = mleap_pipeline(list(features.columns), make_steps())
    fit_pipeline(pipeline, features, target)
    return pipeline, features


@pytest.mark.parametrize("form", ["zip", "folder"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_prediction_matches_sklearn(case, form, tmp_path):
    pipeline, features = fitted(case)
    path = export_bundle(pipeline, str(tmp_path / ("bundle.zip" if form == "zip" else "bundle")), form=form)
    model = load_bundle(path)

    frame = model.transform_columns({c: features[c].to_numpy() for c in features.columns})
    ours = frame.get(model.prediction_column.name, "test")
    expected = np.ravel(pipeline.predict(features)).astype(np.float64)

    assert len(ours) == len(features) > 100
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOLERANCE)


def test_input_schema_lists_feature_columns_in_order(tmp_path):
    pipeline, features = fitted("decision_tree_classifier")
    model = load_bundle(export_bundle(pipeline, str(tmp_path / "b.zip")))
    assert [c.name for c in model.input_schema] == list(features.columns)
    assert [str(c.dtype) for c in model.input_schema] == ["double"] * 4
    assert model.prediction_column.name == "prediction"
    assert [op.op for op in model.ops] == ["pipeline", "vector_assembler", "decision_tree_classifier"]


def test_random_forest_probability_matches_predict_proba(tmp_path):
    """The sklearn writer declares raw_prediction and probability ports on forests."""
    pipeline, features = fitted("random_forest_classifier")
    model = load_bundle(export_bundle(pipeline, str(tmp_path / "rf.zip")))
    frame = model.transform_columns({c: features[c].to_numpy() for c in features.columns})
    forest = pipeline.steps[-1][1]
    np.testing.assert_allclose(
        frame.get("probability", "test"), pipeline.predict_proba(features), rtol=0, atol=TOLERANCE
    )
    # raw = sum over trees of each tree's normalized leaf: n_trees * mean probability
    np.testing.assert_allclose(
        frame.get("raw_prediction", "test"),
        pipeline.predict_proba(features) * forest.n_estimators,
        rtol=0,
        atol=1e-9 * forest.n_estimators,
    )


def test_example_bundles_match_the_models_they_were_built_from(tmp_path):
    """The committed example bundles are reproducible from scripts/build_example_bundles.py."""
    from scripts.build_example_bundles import FEATURES, build, training_data

    build(str(tmp_path))
    data = float32_exact(training_data().head(300))
    for name, columns in (("example-1.zip", FEATURES), ("example-2", ["feature1"])):
        rebuilt = load_bundle(str(tmp_path / name))
        committed = load_bundle(os.path.join(REPO, "models", name))
        ours = committed.transform_columns({c: data[c].to_numpy() for c in columns})
        again = rebuilt.transform_columns({c: data[c].to_numpy() for c in columns})
        np.testing.assert_allclose(ours.get("prediction", "t"), again.get("prediction", "t"), rtol=0, atol=TOLERANCE)
        assert pd.Series(ours.get("prediction", "t")).nunique() > 10
