"""Spark ``Vectors`` arithmetic the JVM does in a fixed order."""

from __future__ import annotations

import numpy as np


def squared_norms(x: np.ndarray) -> np.ndarray:
    """``Σ v²`` along the last axis as a running sum in index order: Spark ``Vectors.norm(v, 2)``
    before its sqrt (and ``sqdist``'s sum). numpy's reductions add pairwise and differ in the last bits."""
    total = np.zeros(x.shape[:-1])
    for i in range(x.shape[-1]):  # a loop over features; each step covers every row
        total = total + x[..., i] * x[..., i]
    return total
