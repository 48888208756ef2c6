"""``isotonic_regression``: piecewise-linear interpolation between fitted boundaries."""

from __future__ import annotations

from typing import Optional

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import java_binary_search
from flink_ml_udf.mleap.ops.base import Column, register
from flink_ml_udf.mleap.ops.model_base import Regressor
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL


@register("isotonic_regression")
class IsotonicRegression(Regressor):
    """Piecewise-linear interpolation between ``boundaries``; constant outside them.

    With ``feature_index`` the input is a vector and one of its entries is used; without it the
    input is a non-nullable double scalar, as Spark wrote it for a scalar training column.
    The lookup is Java's ``Arrays.binarySearch``, ported literally (:func:`java_binary_search`):
    with duplicate boundaries it may land on any of the equal entries, and their predictions differ.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.boundaries = attrs.double_list("boundaries")
        self.predictions = attrs.double_list("predictions")
        attrs.boolean("isotonic")  # required by MLeap, unused when scoring
        self.feature_index: Optional[int] = attrs.long("feature_index", None)
        if self.boundaries.size == 0:
            raise attrs.error("boundaries", "is empty; the model needs at least one boundary")
        if self.predictions.size != self.boundaries.size:
            raise attrs.error(
                "predictions", f"has {self.predictions.size} values for {self.boundaries.size} boundaries"
            )
        if self.feature_index is not None and self.feature_index < 0:
            raise attrs.error("feature_index", f"must be >= 0, found {self.feature_index}")
        super().__init__(spec, None)
        if self.feature_index is None:
            self.inputs[0] = Column(self.inputs[0].name, DOUBLE_NOT_NULL)

    def features(self, frame: Frame) -> np.ndarray:
        """The one feature this model reads, as a 1-D array."""
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        if self.feature_index is None:
            frame.require_non_null(source, self.who, "it is a non-nullable double")
            if values.ndim != 1:
                raise ScoringError(f"{self.who}: input column {source!r} must be a double scalar, found a vector")
            return np.asarray(values, dtype=np.float64)
        frame.require_non_null(source, self.who)
        if values.ndim != 2:
            raise ScoringError(f"{self.who}: input column {source!r} must be a vector, found scalars")
        if values.shape[1] <= self.feature_index:
            raise ScoringError(
                f"{self.who}: feature_index {self.feature_index} is out of range for input column {source!r} "
                f"of {values.shape[1]} features"
            )
        return values[:, self.feature_index]

    def predict(self, x: np.ndarray) -> np.ndarray:
        b, p = self.boundaries, self.predictions
        n = b.size
        found = java_binary_search(b, x)
        insert = -found - 1
        # Interpolate between neighbours i-1 and i; clipped so rows taking another branch index safely.
        i = np.clip(insert, 1, max(n - 1, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            between = p[i - 1] + (p[i] - p[i - 1]) * (x - b[i - 1]) / (b[i] - b[i - 1]) if n > 1 else p[0]
        return np.select(
            [insert == 0, insert == n, found < 0],
            [p[0], p[n - 1], between],
            default=p[np.clip(found, 0, n - 1)],
        ).astype(np.float64)
