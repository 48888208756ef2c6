"""Export a scikit-learn pipeline as an MLeap bundle with the ``mleap`` package (0.25.x).

The ``mleap`` package wants every step initialised by hand (``mlinit``) with the column it reads
and writes, and has quirks that are easy to trip on: ``LinearRegression`` must be fitted on a 2-D
``y``, tree models need feature names, and bundles land in a folder named after the pipeline plus a
zip. :func:`export_bundle` hides all that for the common shape

    numeric columns → [scalers...] → one model

so the example bundles, the tests and data scientists share one code path. Needs the ``dev`` extra
(``scikit-learn`` and ``mleap``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Sequence

import numpy as np

FEATURES_COLUMN = "features"


def mleap_pipeline(feature_columns: Sequence[str], steps: Sequence[Any], prediction_column: str = "prediction"):
    """An sklearn ``Pipeline`` of a FeatureExtractor, the given transformers, and a final model,
    each initialised for MLeap with the columns it reads and writes."""
    import mleap.sklearn.base  # noqa: F401  (these imports patch sklearn classes for MLeap)
    import mleap.sklearn.ensemble.forest  # noqa: F401
    import mleap.sklearn.logistic  # noqa: F401
    import mleap.sklearn.pipeline  # noqa: F401
    import mleap.sklearn.preprocessing.data  # noqa: F401
    import mleap.sklearn.tree.tree  # noqa: F401
    from mleap.sklearn.preprocessing.data import FeatureExtractor
    from sklearn.pipeline import Pipeline

    extractor = FeatureExtractor(input_scalars=list(feature_columns), output_vector=FEATURES_COLUMN)
    chain = [extractor]
    prior = extractor
    column = FEATURES_COLUMN
    *transformers, model = steps
    for step in transformers:
        column = f"{step.op}_{column}"
        step.mlinit(prior_tf=prior, output_features=column)
        chain.append(step)
        prior = step
    if model.op.startswith(("decision_tree", "random_forest")):
        model.mlinit(
            input_features=column,
            prediction_column=prediction_column,
            feature_names=[f"f{i}" for i in range(len(feature_columns))],
        )
    else:
        model.mlinit(input_features=column, prediction_column=prediction_column)
    chain.append(model)
    pipeline = Pipeline([(step.name, step) for step in chain])
    pipeline.mlinit()
    return pipeline


def fit_pipeline(pipeline, frame, target):
    """Fit, giving ``LinearRegression`` the 2-D target its MLeap serializer needs."""
    final = pipeline.steps[-1][1]
    y = np.asarray(target)
    if final.op == "linear_regression" and y.ndim == 1:
        y = y.reshape(-1, 1)
    return pipeline.fit(frame, y)


def export_bundle(pipeline, destination: str, form: str = "zip") -> str:
    """Write a fitted :func:`mleap_pipeline` to ``destination`` (a folder path, or a ``.zip`` path
    when ``form`` is ``"zip"``) and return that path. An existing destination is replaced."""
    if form not in ("zip", "folder"):
        raise ValueError(f"form must be 'zip' or 'folder', not {form!r}")
    staging = tempfile.mkdtemp(prefix="mleap-export-")
    try:
        pipeline.serialize_to_bundle(staging, "bundle", init=True)
        source = os.path.join(staging, "bundle.zip" if form == "zip" else "bundle")
        if os.path.isdir(destination):
            shutil.rmtree(destination)
        elif os.path.exists(destination):
            os.remove(destination)
        os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
        shutil.move(source, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination
