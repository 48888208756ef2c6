"""``dct`` and ``pca``: a fixed matrix times each row, the matrix built once at load."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import rows_times
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` (forward ``D @ x``; its transpose is the inverse, DCT-III)."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    phase = ((2 * i + 1) * k) % (4 * n)  # reduce the angle exactly before scaling by pi
    matrix = np.cos(np.pi * phase / (2.0 * n)) * np.sqrt(2.0 / n)
    matrix[0, :] = np.sqrt(1.0 / n)
    return matrix


@register("dct")
class DCT(VectorOp):
    """Orthonormal DCT-II (forward) or DCT-III (inverse), as JTransforms with ``scale=true``. Agrees with
    the JVM to a few ulps, not bit for bit: JTransforms computes through an FFT."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.inverse = attrs.boolean("inverse")
        size = attrs.long("input_size")
        if size < 1:
            raise attrs.error("input_size", f"must be at least 1, found {size}")
        super().__init__(spec, size, vector(size))
        spec.reserve(3 * 8 * size * size, f"a {size}x{size} DCT matrix", "input_size")
        matrix = _dct_matrix(size)
        self.matrix = matrix if self.inverse else matrix.T

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return rows_times(x, self.matrix)


@register("pca")
class PCA(VectorOp):
    """``x @ PC`` with PC the ``[n, k]`` column-major ``principal_components``; no centering.

    The sklearn writer stores ``components_`` (k×n) row-major under dims ``[k, n]``; read column-major,
    that is ``components_.T`` only when k == n, so such a bundle scores ``components_ @ x``, not
    sklearn's ``(x - mean_) @ components_.T`` (MLeap's behaviour, kept)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        values = attrs.tensor("principal_components")
        dims = attrs.tensor_dims("principal_components")
        if dims is None or len(dims) != 2:
            raise attrs.error("principal_components", f"expected a 2-D tensor, found dimensions {dims}")
        self.components = values.reshape(dims, order="F")
        super().__init__(spec, dims[0], vector(None))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        # The JVM runs netlib's dgemv('T'), whose summation order is not pinned down here: numpy's
        # product agrees to the last few bits.
        return rows_times(x, self.components)
