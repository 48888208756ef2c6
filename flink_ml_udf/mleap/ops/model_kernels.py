"""What the dot/gemv-based model ops share: MLeap's exact-width input rule, and the dot-product
kernels the model was loaded with.

Spark's BLAS ``require``s equal sizes, so a features vector longer than the model is a score error
in the JVM rather than a silent truncation; ops mix in :class:`ExactWidth` ahead of their
:class:`ModelOp` base. It also keeps ``self.numerics``, the kernels chosen for the whole bundle at
load (:mod:`flink_ml_udf.mleap.numerics`): per row with ``einsum`` (``fast``, batch-independent) or
in the JVM's exact summation order (``jvm``: netlib ``Java11BLAS``, dense vs. sparse path per row).
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.model_base import ModelOp
from flink_ml_udf.mleap.spec import NodeSpec


class ExactWidth(ModelOp):
    def __init__(self, spec: NodeSpec, *args, **kwargs) -> None:
        super().__init__(spec, *args, **kwargs)
        self.numerics = spec.numerics

    def features(self, frame: Frame) -> np.ndarray:
        x = super().features(frame)
        if self.num_features is not None and x.shape[1] != self.num_features:
            raise ScoringError(
                f"{self.who}: input column {self.inputs[0].name!r} has {x.shape[1]} features, "
                f"expected {self.num_features}"
            )
        return x
