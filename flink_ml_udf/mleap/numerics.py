"""How one model's ops do their dot products: ``fast`` (numpy, per row) or ``jvm`` (the JVM's exact order).

MLeap on the JVM sums dot products in netlib ``Java11BLAS``'s order (:mod:`flink_ml_udf.mleap.jvm.blas`);
numpy's kernels may differ from it in the last bits, which matters only for a score compared to a
threshold or a bucket boundary, and the exact order costs several times more. So it is a per-model
choice made when the bundle is loaded (``load_bundle(..., numerics="jvm")``, the ``numerics`` key of a
UDF entry): the reader hands each op the :class:`Numerics` it was loaded with, the op keeps it, and the
per-batch path calls its kernels with no switch to read, as hummingbird picks a kernel at conversion.
A pickled op keeps its choice (it pickles by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

import numpy as np

from flink_ml_udf.errors import BundleError, brief
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.jvm.vectors import squared_norms as sequential_squared_norms
from flink_ml_udf.mleap.kernels import rows_times

Kernel = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Numerics:
    """The kernels of one numerics choice; every op that multiplies features calls these."""

    name: str
    #: ``BLAS.dot(features, vector)`` per row; the JVM may hold a features row sparse.
    features_dot: Kernel
    #: ``BLAS.dot(features, v_j)`` per row for every vector of a (k, n) stack: a (rows, k) array.
    features_dot_each: Kernel
    #: ``start + matrix · x`` per row (``matrix`` is (outputs, features)): ``gemv`` for multinomial margins.
    features_gemv: Kernel
    #: ``bias + matrix · a`` per row as Spark's MLP layers compute it (``dgemm`` with one column).
    layer_affine: Kernel
    #: ``Σ v²`` along the last axis (``Vectors.norm`` before its sqrt).
    squared_norms: Kernel
    #: Which rows the JVM holds sparse (its distance code branches on that); ``None`` when not followed.
    sparse_rows: Callable[[np.ndarray], Optional[np.ndarray]]

    def __reduce__(self):
        return (numerics_named, (self.name,))


def _fast_gemv(x: np.ndarray, matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    return rows_times(x, matrix.T) + start


def _fast_dot_each(x: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    return rows_times(x, vectors.T)


def _fast_squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("...f,...f->...", x, x)


def _no_sparse_rows(x: np.ndarray) -> None:
    return None


#: Per row with ``einsum`` (a row's bits never depend on its batch), numpy's summation order.
FAST = Numerics(
    name="fast",
    features_dot=rows_times,
    features_dot_each=_fast_dot_each,
    features_gemv=_fast_gemv,
    layer_affine=_fast_gemv,
    squared_norms=_fast_squared_norms,
    sparse_rows=_no_sparse_rows,
)

#: The JVM's summation order to the bit: fma lanes for dense rows, Spark's loop for sparse ones.
JVM = Numerics(
    name="jvm",
    features_dot=blas.jvm_dot,
    features_dot_each=blas.jvm_dot_each,
    features_gemv=blas.jvm_margins,
    layer_affine=blas.dgemm_column,
    squared_norms=sequential_squared_norms,
    sparse_rows=blas.stored_sparse,
)

#: name -> kernels: the values of a UDF entry's ``numerics`` key (config.NUMERICS lists the same names).
NUMERICS: Dict[str, Numerics] = {kernels.name: kernels for kernels in (FAST, JVM)}
DEFAULT_NUMERICS = "fast"


def numerics_named(name: str, where: str = "") -> Numerics:
    """The kernels of ``name``; for any other value an error saying ``where`` it was asked for."""
    try:
        return NUMERICS[name]
    except (KeyError, TypeError):
        prefix = f"{where}: " if where else ""
        raise BundleError(f"{prefix}numerics {brief(name)} is not one of {', '.join(NUMERICS)}") from None
