"""The JVM's dot products, reproduced to the last bit, vectorized over a batch of rows.

MLeap scores linear models with Spark's BLAS, which (without a native BLAS, the normal case for
MLeap serving) runs netlib's ``Java11BLAS``. Its dense ``ddot`` keeps four interleaved partial
sums, each advanced with a fused multiply-add; a sparse vector instead uses Spark's own loop of
plain multiplies and adds (models.md §6.2-6.3). ``numpy``'s ``@`` uses neither order, so its
results can differ from the JVM's in the last bits.

numpy has no fma, and Python 3.11 has no ``math.fma``. :func:`fma` emulates it exactly with
error-free transformations in float64 (Boldo & Melquiond, "Emulation of a FMA and correctly
rounded sums: proved algorithms using rounding to odd", IEEE TC 57(4), 2008)::

    (uh, ul) = a*b exactly          Veltkamp/Dekker two-product
    (th, tl) = c + uh exactly        Knuth two-sum
    v        = round_to_odd(tl + ul) two-sum, then step to the odd neighbour if inexact
    fma      = th + v                one rounding to nearest

The transformations are exact only away from overflow and underflow, so elements outside a safe
range (non-finite, tiny non-zero products, huge values) are recomputed one by one with exact
rational arithmetic (:func:`fma_exact`); real feature data practically never goes there.

This path costs far more than ``@`` (see bench/runtime_bench.py), so a model uses it only when
loaded with ``numerics="jvm"`` (:mod:`flink_ml_udf.mleap.numerics`). GBT models need no choice:
their compiled traversal sums with the real fma in this order (:mod:`flink_ml_udf.mleap.compiled.forest`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Tuple

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitter for 53-bit significands
_SPLIT_LIMIT = 2.0**995  # above this, _SPLIT * x can overflow
_BIG = 2.0**1000  # sums near the overflow threshold leave the safe range
_TINY = 2.0**-900  # below this, a product's low half can underflow

# --- exact fma -----------------------------------------------------------------------------


def fma_exact(a: float, b: float, c: float) -> float:
    """``a*b + c`` with one rounding, by exact rational arithmetic (IEEE 754 special cases)."""
    a, b, c = float(a), float(b), float(c)
    if a != a or b != b or c != c:
        return float("nan")
    if np.isinf(a) or np.isinf(b):
        if a == 0.0 or b == 0.0:
            return float("nan")  # inf * 0
        product_sign = np.copysign(1.0, a) * np.copysign(1.0, b)
        if np.isinf(c) and np.copysign(1.0, c) != product_sign:
            return float("nan")  # inf - inf
        return product_sign * float("inf")
    if np.isinf(c):
        return c  # a finite product never changes an infinite addend, even if a*b would overflow
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        # Exact zero: IEEE gives -0 only for (-0) + (-0); the product is exactly zero here iff a or b is.
        return (a * b) + c if (a == 0.0 or b == 0.0) else 0.0
    try:
        result = float(exact)  # int/int true division: correctly rounded
    except OverflowError:
        return float("inf") if exact > 0 else float("-inf")
    return result if result != 0.0 else (-0.0 if exact < 0 else 0.0)


def _two_sum(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def _two_product(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_round_to_odd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s, e = _two_sum(a, b)
    # Inexact and the nearest neighbour is even: the odd neighbour lies on the other side of s.
    step = (e != 0.0) & ((s.view(np.int64) & 1) == 0)
    if step.any():
        s = np.where(step, np.nextafter(s, np.copysign(np.inf, e)), s)
    return s


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Elementwise correctly rounded ``a*b + c`` (broadcasting), exact for every float64 input."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    with np.errstate(all="ignore"):
        uh, ul = _two_product(a, b)
        th, tl = _two_sum(c, uh)
        result = th + _add_round_to_odd(tl, ul)
        zero_product = (a == 0.0) | (b == 0.0)
        if zero_product.any():
            result = np.where(zero_product, uh + c, result)  # keeps IEEE's signed-zero rule
        abs_uh = np.abs(uh)
        safe = (
            (np.abs(a) < _SPLIT_LIMIT)
            & (np.abs(b) < _SPLIT_LIMIT)
            & (np.abs(c) < _BIG)
            & (abs_uh < _BIG)
            & ((abs_uh >= _TINY) | zero_product)
            & np.isfinite(result)
        )
    if not safe.all():
        result = np.array(result, copy=True)
        for index in zip(*np.nonzero(~safe)):
            result[index] = fma_exact(a[index], b[index], c[index])
    return result


# --- JVM dot products over a batch ---------------------------------------------------------


def ddot_j11(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row of ``x`` (rows, n) dotted with ``y`` as netlib ``Java11BLAS.ddot`` does: four
    interleaved fma partial sums over the multiple-of-4 prefix, combined ``((s0 + s1) + s2) + s3``,
    then the remainder. ``y`` is one vector (n,) for every row, or one per row (rows, n)."""
    x = np.asarray(x, np.float64)
    rows, n = x.shape
    if n == 0:
        return np.zeros(rows)
    xt = np.ascontiguousarray(x.T)  # (n, rows): each step reads contiguous column blocks
    y = np.asarray(y, np.float64)
    yt = y[:, None] if y.ndim == 1 else np.ascontiguousarray(y.T)  # (n, 1) or (n, rows)
    n4 = n - n % 4
    if n4:
        lanes = np.zeros((4, rows))
        for i in range(0, n4, 4):
            lanes = fma(xt[i : i + 4], yt[i : i + 4], lanes)
        total = 0.0 + (((lanes[0] + lanes[1]) + lanes[2]) + lanes[3])
    else:
        total = np.zeros(rows)
    for i in range(n4, n):
        total = fma(xt[i], yt[i], total)
    return total


def sdot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows of ``x`` as Spark sparse vectors (their non-zeros, ascending) dotted with dense ``y``:
    a plain multiply, then an add, in index order."""
    x = np.asarray(x, np.float64)
    total = np.zeros(len(x))
    with np.errstate(all="ignore"):
        for i in range(x.shape[1]):
            column = x[:, i]
            if np.isfinite(y[i]):
                total = total + column * y[i]  # an implicit zero adds +-0, which never changes the sum
            else:
                total = np.where(column != 0.0, total + column * y[i], total)
    return total


def stored_sparse(x: np.ndarray) -> np.ndarray:
    """Which rows Spark's ``Vector.compressed`` keeps sparse: ``1.5 * (nnz + 1) < size`` (NaN counts).

    ``vector_assembler`` (and ``binarizer``) always compress their output, so for a features column
    they produce this is the representation the JVM model sees. Another producer keeps its input's
    representation, which a dense frame no longer records; that is the limit of this emulation.
    """
    return 1.5 * (np.count_nonzero(x, axis=1) + 1.0) < x.shape[1]


def jvm_dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spark ``BLAS.dot(features, coefficients)``: ``sdot`` for rows stored sparse, else ``ddot``."""
    x = np.asarray(x, np.float64)
    sparse = stored_sparse(x)
    out = np.empty(len(x))
    if sparse.any():
        out[sparse] = sdot(x[sparse], y)
    if not sparse.all():
        out[~sparse] = ddot_j11(x[~sparse], y)
    return out


def gemv_j11(x: np.ndarray, matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``start + matrix @ row`` for each row of ``x``, as netlib ``Java11BLAS.dgemv('N')`` with
    alpha = beta = 1: columns taken four at a time, the last of the four first."""
    x = np.asarray(x, np.float64)
    n = x.shape[1]
    out = np.broadcast_to(np.asarray(start, np.float64), (len(x), matrix.shape[0])).copy()
    n4 = n - n % 4
    for c in range(0, n4, 4):
        for k in (3, 2, 1, 0):
            out = fma(x[:, c + k : c + k + 1], matrix[:, c + k], out)
    for c in range(n4, n):
        out = fma(x[:, c : c + 1], matrix[:, c], out)
    return out


def sparse_gemv(x: np.ndarray, matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Spark's own loop for a dense matrix times a sparse vector: ``s*1.0 + 1.0*start`` per class."""
    return np.stack([sdot(x, matrix[k]) for k in range(matrix.shape[0])], axis=1) + start


def jvm_margins(x: np.ndarray, matrix: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Multinomial margins ``start + matrix . x`` by the path the JVM takes for each row."""
    x = np.asarray(x, np.float64)
    sparse = stored_sparse(x)
    out = np.empty((len(x), matrix.shape[0]))
    if sparse.any():
        out[sparse] = sparse_gemv(x[sparse], matrix, start)
    if not sparse.all():
        out[~sparse] = gemv_j11(x[~sparse], matrix, start)
    return out


def jvm_dot_each(x: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``BLAS.dot(row, v_j)`` for every row of ``x`` and every vector ``v_j`` of ``vectors`` (k, n):
    a (rows, k) array, each column by :func:`jvm_dot`."""
    return np.stack([jvm_dot(x, v) for v in vectors], axis=1).reshape(len(x), len(vectors))


def dgemm_column(a: np.ndarray, matrix: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``bias + matrix · row`` for each row of ``a``, as netlib ``Java11BLAS.dgemm`` NN with one
    column (Spark's MLP layers): a sequential fma sum per output over blocks of the inputs (one block
    unless outputs x inputs >= 1e6), each block's sum added to the bias-filled output."""
    n_out, n_in = matrix.shape
    block = n_in if n_out * n_in < 1_000_000 else 4 * -(-min(500, n_in) // 4)
    out = np.broadcast_to(bias, (len(a), n_out)).copy()
    for start in range(0, n_in, block):
        partial = np.zeros((len(a), n_out))
        for i in range(start, min(start + block, n_in)):  # a loop over inputs, each step covers all rows
            partial = fma(matrix[:, i][None, :], a[:, i : i + 1], partial)
        out = out + partial
    return out
