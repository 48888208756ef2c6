"""``standard_scaler``, ``min_max_scaler``, ``max_abs_scaler`` and ``elementwise_product``: each decodes
into one :class:`~..kernels.Affine` (``max_abs_scaler`` then clamps to [-1, 1]: Spark only divides; MLeap
also clamps, so values beyond the fitted range saturate)."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import Affine
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


@register("standard_scaler")
class StandardScaler(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        mean = attrs.tensor("mean", None)
        std = attrs.tensor("std", None)
        if mean is None and std is None:
            raise attrs.error("mean", "a standard_scaler needs 'mean', 'std' or both")
        if mean is not None and std is not None and mean.size != std.size:
            raise attrs.error("std", f"has {std.size} values but 'mean' has {mean.size}")
        super().__init__(spec, (std if std is not None else mean).size)
        inverse = None
        if std is not None:
            with np.errstate(divide="ignore"):
                inverse = np.where(std != 0.0, 1.0 / std, 0.0)
        constant = None
        if mean is not None and std is not None:
            constant = np.where(std == 0.0, 0.0, np.nan)  # MLeap: std 0 gives exactly 0.0, even for NaN
        self.kernel = Affine(offset=mean, scale=inverse, constant=constant)


@register("min_max_scaler")
class MinMaxScaler(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        low, high = attrs.tensor("min"), attrs.tensor("max")
        if low.size != high.size:
            raise attrs.error("max", f"has {high.size} values but 'min' has {low.size}")
        super().__init__(spec, low.size)
        min_value = attrs.double("minValue", 0.0)
        max_value = attrs.double("maxValue", 1.0)
        spread = high - low
        target = max_value - min_value
        self.kernel = Affine(
            offset=low,
            divisor=np.where(spread != 0.0, spread, 1.0),
            scale=np.full(low.size, target),
            shift=np.full(low.size, min_value),
            constant=np.where(spread == 0.0, 0.5 * target + min_value, np.nan),
            constant_keeps_nan=True,
        )


@register("max_abs_scaler")
class MaxAbsScaler(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        max_abs = spec.attributes.tensor("maxAbs")
        super().__init__(spec, max_abs.size)
        # A zero max-abs divides by 1 (MLeap: `if (x == 0) 1 else x`, so -0.0 too).
        self.kernel = Affine(divisor=np.where(max_abs == 0.0, 1.0, max_abs))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return np.clip(self.kernel(x), -1.0, 1.0)  # MLeap's clamp; NaN stays NaN


@register("elementwise_product")
class ElementwiseProduct(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        weights = spec.attributes.tensor("scaling_vec")
        super().__init__(spec, weights.size, vector(weights.size))
        self.kernel = Affine(scale=weights)
