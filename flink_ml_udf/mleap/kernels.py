"""Array kernels shared by several ops. Each is built once at load and called per batch.

Following hummingbird, ops reduce their attributes to a few kernels: every scaler becomes one
:class:`Affine`, every classifier shares :func:`argmax_first` and :func:`normalize_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


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


def normalize_rows(values: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; a row summing to 0 is left unchanged (MLeap ``normalize``)."""
    totals = values.sum(axis=1, keepdims=True)
    safe = np.where(totals == 0.0, 1.0, totals)
    return np.where(totals == 0.0, values, values / safe)
