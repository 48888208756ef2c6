"""A Python runtime for MLeap bundles: read a bundle, score batches of rows with numpy.

>>> model = load_bundle("models/example-1.zip")
>>> frame = model.transform_columns({"feature1": [0.5], "feature2": [3], "feature3": [1.0]})
>>> frame.get(model.prediction_column.name, "me")
"""

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.model import BundleInfo, Model, describe, load_bundle, load_bundle_files
from flink_ml_udf.mleap.types import DataType

__all__ = ["BundleInfo", "DataType", "Frame", "Model", "describe", "load_bundle", "load_bundle_files"]
