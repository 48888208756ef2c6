"""``normalizer``: each row divided by its p-norm, summed in Spark's order."""

from __future__ import annotations

import math

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


@register("normalizer")
class Normalizer(VectorOp):
    """Spark's ``Vectors.norm`` with sequential sums, then division; a zero norm leaves the row as is."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.p = attrs.double("p_norm")
        if math.isnan(self.p) or self.p < 1.0:
            raise attrs.error(
                "p_norm",
                f"must be >= 1, found {self.p} (JSON bundles store an infinite p as null, which reads as NaN)",
            )
        size = attrs.long("input_size")
        super().__init__(spec, size, vector(size))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        if x.shape[1] == 0:
            return x.copy()
        magnitude = np.abs(x)
        if self.p == 1.0:
            norm = np.add.accumulate(magnitude, axis=1)[:, -1]
        elif self.p == 2.0:
            norm = np.sqrt(np.add.accumulate(x * x, axis=1)[:, -1])
        elif math.isinf(self.p):  # Spark starts the max at 0.0 and never picks a NaN
            norm = np.where(np.isnan(magnitude), 0.0, magnitude).max(axis=1, initial=0.0)
        else:
            with np.errstate(over="ignore"):
                total = np.add.accumulate(np.power(magnitude, self.p), axis=1)[:, -1]
                norm = np.power(total, 1.0 / self.p)
        norm = norm[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norm != 0.0, x / norm, x)
