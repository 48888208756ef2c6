"""MurmurHash3 x86_32 of many byte strings stored back to back (an Arrow string array's data
buffer and offsets), compiled: the A/B router hashes every row's key of every batch.

The same function as :func:`flink_ml_udf.mleap.murmur3.hash_bytes` (Spark's ``hashUnsafeBytes``,
``version=1``, or ``hashUnsafeBytes2``, ``version=2``), one string at a time in a loop, where the
numpy version builds a rows x longest-string matrix and loops over block positions: ~45 ms per
100 000 ten-byte keys there, ~1 ms here (bench/experiment_bench.py). Arithmetic is in int64,
masked to 32 bits after every step (a product of two 32-bit values wraps in int64, but its low 32
bits are the ones Java keeps). The step functions repeat the reference's: numba compiles only calls
to compiled functions, and the reference stays plain Python so that it needs no numba.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.compiled import inline, jit, warm

_MASK = 0xFFFFFFFF
_C1 = 0xCC9E2D51
_C2 = 0x1B873593


@inline
def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & _MASK


@inline
def _mix_k1(k1):
    k1 = (k1 * _C1) & _MASK
    k1 = _rotl(k1, 15)
    return (k1 * _C2) & _MASK


@inline
def _mix_h1(h1, k1):
    h1 = _rotl(h1 ^ k1, 13)
    return (h1 * 5 + 0xE6546B64) & _MASK


@inline
def _fmix(h1, length):
    h1 ^= length & _MASK
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & _MASK
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & _MASK
    h1 ^= h1 >> 16
    return h1


@jit
def hash_offsets(data, offsets, version, seed):
    """Signed MurmurHash3 (int32) of ``data[offsets[i]:offsets[i + 1]]`` for every ``i``."""
    n = offsets.size - 1
    out = np.empty(n, dtype=np.int32)
    for i in range(n):
        start = np.int64(offsets[i])
        length = np.int64(offsets[i + 1]) - start
        h1 = np.int64(seed) & _MASK
        blocks = length // 4
        for b in range(blocks):
            p = start + 4 * b
            k1 = (
                np.int64(data[p])
                | (np.int64(data[p + 1]) << 8)
                | (np.int64(data[p + 2]) << 16)
                | (np.int64(data[p + 3]) << 24)
            )
            h1 = _mix_h1(h1, _mix_k1(k1))
        tail = start + 4 * blocks
        if version == 2:
            k1 = np.int64(0)
            for t in range(length - 4 * blocks):
                k1 |= np.int64(data[tail + t]) << (8 * t)
            h1 ^= _mix_k1(k1)
        else:
            for t in range(length - 4 * blocks):
                byte = np.int64(data[tail + t])
                if byte > 127:  # a Java byte, sign-extended to int
                    byte = (byte - 256) & _MASK
                h1 = _mix_h1(h1, _mix_k1(byte))
        h1 = _fmix(h1, length)
        out[i] = h1 - (1 << 32) if h1 >= (1 << 31) else h1
    return out


def warm_hash(who: str) -> None:
    """Compile (or load from the cache) :func:`hash_offsets` now, not on the first batch."""
    warm(who, hash_offsets, np.zeros(1, dtype=np.uint8), np.zeros(2, dtype=np.int32), 1, 42)
