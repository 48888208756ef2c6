"""What the dot/gemv-based model ops share: MLeap's exact-width input rule and dot products that
follow :mod:`flink_ml_udf.mleap.blas`'s switch.

Spark's BLAS ``require``s equal sizes, so a features vector longer than the model is a score error
in the JVM rather than a silent truncation; ops mix in :class:`ExactWidth` ahead of their
:class:`ModelOp` base. The dots are computed per row (:func:`~flink_ml_udf.mleap.kernels.rows_times`, batch-independent)
by default and in the JVM's exact summation order (netlib ``Java11BLAS``, dense vs. sparse path per
row) after ``blas.use_jvm_dot(True)``.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.jvm.vectors import squared_norms as jvm_squared_norms
from flink_ml_udf.mleap.kernels import rows_times
from flink_ml_udf.mleap.ops.model_base import ModelOp


class ExactWidth(ModelOp):
    def features(self, frame: Frame) -> np.ndarray:
        x = super().features(frame)
        if self.num_features is not None and x.shape[1] != self.num_features:
            raise ScoringError(
                f"{self.who}: input column {self.inputs[0].name!r} has {x.shape[1]} features, "
                f"expected {self.num_features}"
            )
        return x


def features_dot(x: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``BLAS.dot(features, vector)`` per row: the features may be stored sparse in the JVM."""
    if blas.jvm_dot_enabled():
        return blas.jvm_dot(x, vector)
    return rows_times(x, vector)


def dense_dot(x: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``ddot`` of rows the JVM always holds dense (per-tree predictions, for instance)."""
    if blas.jvm_dot_enabled():
        return blas.ddot_j11(x, vector)
    return rows_times(x, vector)


def features_gemv(x: np.ndarray, matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``start + matrix · x`` per row (``matrix`` is ``(outputs, features)``), the JVM's gemv when enabled."""
    if blas.jvm_dot_enabled():
        return blas.jvm_margins(x, matrix, start)
    return rows_times(x, matrix.T) + start


def squared_norms(x: np.ndarray) -> np.ndarray:
    """``Σ v²`` along the last axis (Spark ``Vectors.norm(v, 2)`` before its sqrt): a running sum in
    index order when the JVM order is enabled, numpy's faster reduction otherwise."""
    if not blas.jvm_dot_enabled():
        return np.einsum("...f,...f->...", x, x)
    return jvm_squared_norms(x)
