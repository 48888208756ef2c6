"""Model versions for the model-as-data tests: two compatible bundles that score differently, and
the bad updates a store may be handed (incompatible, corrupt, hostile)."""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass

import pytest

from tests.conftest import REPO


@dataclass(frozen=True)
class ModelVersions:
    v1: str  # example-1: feature1..3 -> scaler -> RF 20 trees
    v2: str  # same inputs and output, another forest: different predictions
    incompatible: str  # example-2 as a zip: one input, so another SQL signature
    corrupt: str  # not a zip at all
    hostile: str  # a zip whose entry climbs out of the bundle


def build_model_versions(folder: str) -> ModelVersions:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.preprocessing import StandardScaler

    from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline

    os.makedirs(folder, exist_ok=True)
    v1 = shutil.copy(os.path.join(REPO, "models", "example-1.zip"), os.path.join(folder, "v1.zip"))
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"feature1": rng.uniform(0, 100, 500), "feature2": rng.integers(0, 11, 500).astype(float),
                         "feature3": rng.uniform(-1, 1, 500)})  # fmt: skip
    features = ["feature1", "feature2", "feature3"]
    pipeline = mleap_pipeline(
        features, [StandardScaler(), RandomForestRegressor(n_estimators=5, max_depth=3, random_state=1)]
    )
    fit_pipeline(pipeline, data[features], 100.0 - data.feature1 + 7.0 * data.feature3)
    v2 = export_bundle(pipeline, os.path.join(folder, "v2.zip"), form="zip")
    incompatible = os.path.join(folder, "incompatible.zip")
    source = os.path.join(REPO, "models", "example-2")
    with zipfile.ZipFile(incompatible, "w") as archive:
        for root, _, files in os.walk(source):
            for name in files:
                full = os.path.join(root, name)
                archive.write(full, os.path.relpath(full, source))
    corrupt = os.path.join(folder, "corrupt.zip")
    with open(corrupt, "wb") as handle:
        handle.write(b"PK\x03\x04 this is not a zip archive " * 10)
    hostile = os.path.join(folder, "hostile.zip")
    with zipfile.ZipFile(v1) as good, zipfile.ZipFile(hostile, "w") as bad:
        for item in good.infolist():
            bad.writestr(item, good.read(item))
        bad.writestr("../escape.json", "{}")
    return ModelVersions(v1, v2, incompatible, corrupt, hostile)


@pytest.fixture(scope="session")
def model_versions(tmp_path_factory) -> ModelVersions:
    return build_model_versions(str(tmp_path_factory.mktemp("model-versions")))
