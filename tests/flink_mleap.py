"""What a flink-mleap user brings (getindata/streaming-ml-with-flink): bundles shaped like its
``mleap-example-1``/``-2`` and its ``application.conf``, written by this project's test helpers.

Their bundles are a pipeline whose only node is a ``random_forest_regression`` reading the tensor
column ``x`` (one double: ``num_features`` 1) on port ``features`` and writing ``output`` on port
``prediction`` (their exporter also listed ``raw_prediction`` and ``probability`` ports, which a
regression ignores). Their config keeps ``application.conf`` and the bundle folders side by side
in ``src/main/resources`` and names the folders as classpath resources (``/mleap-example-1``).
"""

from __future__ import annotations

import os
import shutil
from typing import Dict

import numpy as np

from tests import bundle_writer as bw
from tests.mleap.model_bundles import float32_exact, sklearn_tree_lines

#: flink-mleap's example config (HOCON, camelCase keys), as its example module ships it.
THEIR_CONF = """\
mleap {
    gcs {
        bucket = "--fill--"
    }
    udfRegistry = [
        {
            udfName = "Predict"
            bundlePath = "/mleap-example-1"
            bundleSource = "file"
        },
        {
            udfName = "Predictv2"
            bundlePath = "/mleap-example-2"
            bundleSource = "file"
        },
#        {
#            udfName = "Predictv3"
#            bundlePath = "/mleap-example-3"
#            bundleSource = "gcs"
#        }
    ]
}
"""

#: The range the forests are fitted on (the datagen feature1 of the tests stays inside it).
X_RANGE = (0.0, 12.0)


def fit_forest(n_trees: int, seed: int):
    """A scikit-learn forest on one feature: y = sin(x) + x / 4 plus noise."""
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(seed)
    x = float32_exact(rng.uniform(*X_RANGE, 400))
    y = np.sin(x) + x / 4 + rng.normal(0, 0.1, len(x))
    return RandomForestRegressor(n_estimators=n_trees, max_depth=5, random_state=seed).fit(x.reshape(-1, 1), y)


def write_forest_bundle(path: str, forest) -> str:
    """A folder bundle shaped like theirs scoring ``forest`` (each tree as an MLeap tree.json)."""
    names = [f"tree{i}" for i in range(len(forest.estimators_))]
    trees = {
        name: bw.Node(
            "",
            "decision_tree_regression",
            {"num_features": bw.long(1)},
            files={"tree.json": sklearn_tree_lines(estimator.tree_)},
        )
        for name, estimator in zip(names, forest.estimators_)
    }
    node = bw.Node(
        "random_forest_regression_ab48bdec",
        "random_forest_regression",
        {
            "num_features": bw.long(1),
            "tree_weights": bw.double_list([1.0] * len(names)),
            "trees": bw.string_list(names),
        },
        inputs=[("features", "x")],
        outputs=[("prediction", "output"), ("raw_prediction", "raw_prediction"), ("probability", "probability")],
        submodels=trees,
    )
    return bw.write_bundle(path, bw.pipeline("pipeline_ab48bded", [node]))


def write_their_example(folder: str) -> Dict[str, str]:
    """Their resources folder: ``application.conf`` beside ``mleap-example-1`` (one tree) and
    ``mleap-example-2`` (two trees). Returns the paths by name (``conf``, ``Predict``, ``Predictv2``)."""
    os.makedirs(folder, exist_ok=True)
    conf = os.path.join(folder, "application.conf")
    with open(conf, "w") as handle:
        handle.write(THEIR_CONF)
    return {
        "conf": conf,
        "Predict": write_forest_bundle(os.path.join(folder, "mleap-example-1"), fit_forest(1, seed=1)),
        "Predictv2": write_forest_bundle(os.path.join(folder, "mleap-example-2"), fit_forest(2, seed=2)),
    }


def write_linear_bundle(path: str, coefficients, zipped: bool = False) -> str:
    """``y = x · coefficients + 0.5`` reading the tensor ``x`` (of size len(coefficients)) directly, as
    their forests do: a bundle whose values say which inputs it got, in which order. A folder, or
    with ``zipped`` a zip file beside it (``<path>.zip``), which can be replaced by a rename."""
    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor(coefficients), "intercept": bw.double(0.5)},
        inputs=[("features", "x")],
        outputs=[("prediction", "y")],
    )
    folder = bw.write_bundle(path, node)
    return shutil.make_archive(folder, "zip", folder) if zipped else folder


def runtime_predictions(bundle: str, x) -> np.ndarray:
    """What this project's MLeap runtime computes for the values ``x`` of the tensor ``x``."""
    from flink_ml_udf.mleap import load_bundle

    model = load_bundle(bundle)
    return model.transform_columns({"x": np.asarray(x, dtype=np.float64).reshape(-1, 1)}).get("output", "test")
