"""Array kernels shared by several ops. Each is built once at load and called per batch.

Following hummingbird, ops reduce their attributes to a few kernels: every scaler becomes one
:class:`Affine`, every classifier shares :func:`argmax_first` and :func:`normalize_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from flink_ml_udf.mleap.jvm.order import double_to_long_bits, total_order_keys


@dataclass(frozen=True)
class Affine:
    """``y = (x - offset) / divisor * scale + shift``, column-wise; ``None`` skips a step.

    ``constant`` (NaN where unused) replaces whole columns whose spread is zero; with
    ``constant_keeps_nan`` a NaN input stays NaN there (min-max), without it the constant wins
    (standard scaler: ``std == 0`` gives exactly 0.0). The operation order mirrors MLeap's so that
    results agree to the bit: divide where it divides, multiply by a reciprocal where it does.
    """

    offset: Optional[np.ndarray] = None
    divisor: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    shift: Optional[np.ndarray] = None
    constant: Optional[np.ndarray] = None
    constant_keeps_nan: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x - self.offset if self.offset is not None else x.copy()
        if self.divisor is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                y /= self.divisor
        if self.scale is not None:
            y *= self.scale
        if self.shift is not None:
            y += self.shift
        if self.constant is not None:
            columns = ~np.isnan(self.constant)
            fixed = np.broadcast_to(self.constant[columns], (len(y), int(columns.sum())))
            if self.constant_keeps_nan:
                fixed = np.where(np.isnan(x[:, columns]), np.nan, fixed)
            y[:, columns] = fixed
        return y


def rows_times(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` (a vector or a ``(features, outputs)`` matrix), computed row by row with
    ``einsum`` instead of BLAS, so that a row's result has the same bits whatever batch it arrives in.

    OpenBLAS picks gemv or gemm kernels, blocking and FMA paths from the batch's shape: measured on
    random shapes, ``(x @ v)[0]`` differed in the last bits from ``x[:1] @ v`` in over half of them,
    so a prediction on a threshold could flip with its batch neighbours. The JVM computes per row.
    ``einsum`` keeps one summation order per row; it is as fast for model widths (below ~100)."""
    return np.einsum("rf,f...->r...", x, matrix)


def argmax_first(values: np.ndarray) -> np.ndarray:
    """Row-wise index of the first maximum, as Spark's ``DenseVector.argmax``: a NaN is skipped,
    except at index 0 where it wins (``np.argmax`` would return the first NaN instead)."""
    if values.shape[1] == 0:
        return np.full(len(values), -1, dtype=np.int64)
    masked = np.where(np.isnan(values), -np.inf, values)
    best = np.argmax(masked, axis=1)
    all_low = ~(masked > -np.inf).any(axis=1)  # only NaN or -inf: Spark keeps index 0
    best[all_low | np.isnan(values[:, 0])] = 0
    return best


def seq_sum(values: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Scala's ``Array[Double].sum``: a left-to-right running sum. numpy's ``sum`` adds pairwise,
    which differs from the JVM in the last bits (2 ulp on the airbnb forest)."""
    if values.shape[axis] == 0:
        return np.zeros_like(values).sum(axis=axis, keepdims=keepdims)
    total = np.cumsum(values, axis=axis).take([-1], axis=axis)
    return total if keepdims else np.squeeze(total, axis=axis)


def normalize_rows(values: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; a row summing to 0 is left unchanged (MLeap ``normalize``)."""
    totals = seq_sum(values, axis=1, keepdims=True)
    safe = np.where(totals == 0.0, 1.0, totals)
    return np.where(totals == 0.0, values, values / safe)


# -- Java ordering and search, for ops whose JVM code relies on them -------------------------------

#: MLeap's machine epsilon (``LinalgUtils.EPSILON``): halved while ``1 + eps/2 != 1``.
EPSILON = 2.220446049250313e-16


def argmax_total_order(values: np.ndarray) -> np.ndarray:
    """Row-wise Scala ``maxBy``: the first maximum under Java's total order (a NaN beats numbers)."""
    return np.argmax(total_order_keys(values), axis=1)


def argmin_total_order(values: np.ndarray) -> np.ndarray:
    """Row-wise Scala ``minBy``: the first minimum under Java's total order (a NaN loses to numbers)."""
    return np.argmin(total_order_keys(values), axis=1)


def java_binary_search(sorted_values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``java.util.Arrays.binarySearch(double[], double)`` for every key at once.

    A literal port rather than ``np.searchsorted``: on duplicates Java returns whichever equal
    element the bisection meets first (not the leftmost), equal values are told apart by their bits
    (-0.0 sorts below 0.0, NaN above everything) and a miss returns ``-(insertion point) - 1``.
    The loop runs over bisection steps (about log2 n), each step vectorized over all keys.
    """
    keys = np.asarray(keys, dtype=np.float64)
    key_bits = double_to_long_bits(keys)
    value_bits = double_to_long_bits(sorted_values)
    low = np.zeros(keys.shape, dtype=np.int64)
    high = np.full(keys.shape, len(sorted_values) - 1, dtype=np.int64)
    hit = np.full(keys.shape, -1, dtype=np.int64)
    active = low <= high
    while active.any():
        mid = (low + high) >> 1
        safe_mid = np.where(active, mid, 0)
        mid_value = sorted_values[safe_mid]
        mid_bits = value_bits[safe_mid]
        with np.errstate(invalid="ignore"):
            below = mid_value < keys
            above = mid_value > keys
        same = ~below & ~above & (mid_bits == key_bits)
        go_right = below | (~above & ~same & (mid_bits < key_bits))
        found = active & same
        hit[found] = mid[found]
        low = np.where(active & go_right, mid + 1, low)
        high = np.where(active & ~go_right & ~same, mid - 1, high)
        active &= ~found & (low <= high)
    return np.where(hit >= 0, hit, -(low + 1))
