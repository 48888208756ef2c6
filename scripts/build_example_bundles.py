"""Build the example bundles committed under models/ (run: make examples).

models/example-1.zip  feature1, feature2, feature3 -> standard scaler -> random forest (regression)
models/example-2/     feature1 -> min-max scaler -> linear regression

The training data follows the ranges of sql/features_datagen.sql so that demo predictions are
meaningful: feature1 in [0, 100], feature2 an integer in [0, 10], feature3 in [-1, 1].
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline

FEATURES = ["feature1", "feature2", "feature3"]


def training_data(rows: int = 2000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "feature1": rng.uniform(0, 100, rows),
            "feature2": rng.integers(0, 11, rows).astype(np.float64),
            "feature3": rng.uniform(-1, 1, rows),
        }
    )
    frame["target"] = (
        0.5 * frame.feature1 + 3.0 * np.sin(frame.feature2) + 10.0 * frame.feature3**2 + rng.normal(0, 1, rows)
    )
    return frame


def build(models_dir: str) -> None:
    data = training_data()
    first = mleap_pipeline(
        FEATURES, [StandardScaler(), RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0)]
    )
    fit_pipeline(first, data[FEATURES], data.target)
    print("wrote", export_bundle(first, os.path.join(models_dir, "example-1.zip"), form="zip"))

    second = mleap_pipeline(["feature1"], [MinMaxScaler(), LinearRegression()])
    fit_pipeline(second, data[["feature1"]], data.target)
    print("wrote", export_bundle(second, os.path.join(models_dir, "example-2"), form="folder"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    build(os.path.normpath(parser.parse_args().models_dir))
