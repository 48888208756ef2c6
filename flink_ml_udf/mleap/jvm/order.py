"""Java's view of a double's bits and its total order (``Double.compare``)."""

from __future__ import annotations

import numpy as np

_CANONICAL_NAN_BITS = np.int64(0x7FF8000000000000)


def double_to_long_bits(values: np.ndarray) -> np.ndarray:
    """``java.lang.Double.doubleToLongBits``: the IEEE bits as signed int64, every NaN canonical."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    return np.where(np.isnan(values), _CANONICAL_NAN_BITS, values.view(np.int64))


def total_order_keys(values: np.ndarray) -> np.ndarray:
    """Int64 keys ordered like ``java.lang.Double.compare`` (Scala 2.13's default ``Ordering[Double]``,
    and the order ``Arrays.binarySearch`` and ``Arrays.sort`` use): -0.0 < 0.0 and every NaN, whatever
    its sign or payload, equal to every other and above everything, so ``maxBy``/``minBy`` and
    searches reduce to integer argmax/argmin/searchsorted."""
    bits = double_to_long_bits(values)
    return np.where(bits < 0, bits ^ np.int64(0x7FFFFFFFFFFFFFFF), bits)
