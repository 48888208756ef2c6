"""Java's ``Math`` functions where they differ from numpy's: ``round``, ``pow``, ``min``, ``max``
(NaN, signed zeros, ties, the long range), element-wise over arrays."""

from __future__ import annotations

import numpy as np

_LONG_RANGE = 2.0**63  # (double) Long.MAX_VALUE rounds up to 2^63; Long.MIN_VALUE is -2^63


def java_round(x: np.ndarray) -> np.ndarray:
    """``(double) Math.round(x)``: ties toward +Inf, NaN → 0, saturating at the long range."""
    floor = np.floor(x)
    with np.errstate(invalid="ignore"):
        rounded = floor + (x - floor >= 0.5)  # the fraction of a double is exact; -0.0 + 0.0 is 0.0
    rounded = np.where(np.isnan(x), 0.0, rounded)
    return np.clip(rounded, -_LONG_RANGE, _LONG_RANGE)


def java_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.pow``: as C ``pow`` except ``pow(x, NaN)`` is NaN for every x and ``pow(±1, ±Inf)`` is NaN."""
    with np.errstate(all="ignore"):
        result = np.power(a, b)
    java_nan = np.isnan(b) | ((np.abs(a) == 1.0) & np.isinf(b))
    return np.where(java_nan, np.nan, result)


def java_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.min``: NaN if either is NaN, and ``-0.0`` is below ``0.0``."""
    result = np.minimum(a, b)
    zeros = (a == 0.0) & (b == 0.0)
    return np.where(zeros, np.where(np.signbit(a) | np.signbit(b), -0.0, 0.0), result)


def java_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.max``: NaN if either is NaN, and ``0.0`` is above ``-0.0``."""
    result = np.maximum(a, b)
    zeros = (a == 0.0) & (b == 0.0)
    return np.where(zeros, np.where(np.signbit(a) & np.signbit(b), -0.0, 0.0), result)
