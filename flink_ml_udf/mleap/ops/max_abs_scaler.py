"""``max_abs_scaler``: the shared :class:`~..kernels.Affine` divide, then MLeap's clamp to [-1, 1]
(Spark only divides; MLeap also clamps, so values beyond the fitted range saturate)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flink_ml_udf.mleap.kernels import Affine
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.scalers import VectorMap
from flink_ml_udf.mleap.spec import NodeSpec


@dataclass(frozen=True)
class ClampedAffine:
    """An :class:`Affine` whose result is clipped to ``[low, high]``; NaN stays NaN."""

    affine: Affine
    low: float
    high: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.affine(x), self.low, self.high)


@register("max_abs_scaler")
class MaxAbsScaler(VectorMap):
    def __init__(self, spec: NodeSpec) -> None:
        max_abs = spec.attributes.tensor("maxAbs")
        super().__init__(spec, max_abs.size)
        # A zero max-abs divides by 1 (MLeap: `if (x == 0) 1 else x`, so -0.0 too).
        self.kernel = ClampedAffine(Affine(divisor=np.where(max_abs == 0.0, 1.0, max_abs)), -1.0, 1.0)  # type: ignore[assignment]
