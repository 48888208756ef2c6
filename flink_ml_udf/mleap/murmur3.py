"""MurmurHash3 x86_32 exactly as Spark's ``org.apache.spark.unsafe.hash.Murmur3_x86_32`` (and MLeap's
copy, ``ml.combust.mleap.core.util.Murmur3_x86_32``) computes it: seed 42 for ``HashingTF`` and
``FeatureHasher``, UTF-8 bytes of the term, the result read as a signed 32-bit int.

Two byte-hashing variants exist and a bundle says which one it was fitted with:

* **v1** ``hashUnsafeBytes`` (Spark ≤ 2.x): each tail byte (length % 4) is mixed in as its own block,
  read as a *signed* Java byte sign-extended to 32 bits. Not the standard MurmurHash3.
* **v2** ``hashUnsafeBytes2`` (Spark ≥ 2.3, SPARK-23381): the standard MurmurHash3 x86_32 tail.

:func:`hash_bytes` is the plain reference; :func:`hash_strings` computes the same values for many
strings at once with numpy (a loop over 4-byte block positions, vectorized over the strings), which is
what the ops call on the distinct tokens of a batch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SEED = 42
VERSIONS = (1, 2)

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF
#: Longer strings go through :func:`hash_bytes`, so one huge token cannot blow up the padded matrix.
_VECTOR_MAX_BYTES = 256


# -- scalar reference ----------------------------------------------------------------------------
def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def _mix_k1(k1: int) -> int:
    k1 = (k1 * _C1) & _MASK
    k1 = _rotl(k1, 15)
    return (k1 * _C2) & _MASK


def _mix_h1(h1: int, k1: int) -> int:
    h1 = _rotl(h1 ^ k1, 13)
    return (h1 * 5 + 0xE6546B64) & _MASK


def _fmix(h1: int, length: int) -> int:
    h1 ^= length & _MASK
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & _MASK
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & _MASK
    h1 ^= h1 >> 16
    return h1


def _signed(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def hash_bytes(data: bytes, version: int = 2, seed: int = SEED) -> int:
    """Spark's ``hashUnsafeBytes`` (``version=1``) or ``hashUnsafeBytes2`` (``version=2``), signed."""
    if version not in VERSIONS:
        raise ValueError(f"hash version must be 1 or 2, not {version!r}")
    length = len(data)
    aligned = length - length % 4
    h1 = seed & _MASK
    for i in range(0, aligned, 4):
        h1 = _mix_h1(h1, _mix_k1(int.from_bytes(data[i : i + 4], "little")))
    if version == 1:
        for b in data[aligned:]:
            signed_byte = b - 256 if b > 127 else b  # Java byte, sign-extended to int
            h1 = _mix_h1(h1, _mix_k1(signed_byte & _MASK))
    else:
        k1 = int.from_bytes(data[aligned:], "little")
        h1 ^= _mix_k1(k1)
    return _signed(_fmix(h1, length))


def hash_string(text: str, version: int = 2, seed: int = SEED) -> int:
    return hash_bytes(text.encode("utf-8"), version, seed)


def hash_int(value: int, seed: int = SEED) -> int:
    """Spark ``hashInt``: one 4-byte block."""
    return _signed(_fmix(_mix_h1(seed & _MASK, _mix_k1(value & _MASK)), 4))


def hash_long(value: int, seed: int = SEED) -> int:
    """Spark ``hashLong``: low word, then high word."""
    value &= (1 << 64) - 1
    h1 = _mix_h1(seed & _MASK, _mix_k1(value & _MASK))
    h1 = _mix_h1(h1, _mix_k1(value >> 32))
    return _signed(_fmix(h1, 8))


def non_negative_mod(hashes: np.ndarray, modulus: int) -> np.ndarray:
    """Spark ``Utils.nonNegativeMod``: ``x mod n`` in ``[0, n)`` (numpy ``%`` already floors)."""
    return np.mod(np.asarray(hashes, dtype=np.int64), modulus)


# -- vectorized --------------------------------------------------------------------------------
def _v_rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _v_mix_k1(k1: np.ndarray) -> np.ndarray:
    k1 = k1 * np.uint32(_C1)
    k1 = _v_rotl(k1, 15)
    return k1 * np.uint32(_C2)


def _v_mix_h1(h1: np.ndarray, k1: np.ndarray) -> np.ndarray:
    h1 = _v_rotl(h1 ^ k1, 13)
    return h1 * np.uint32(5) + np.uint32(0xE6546B64)


def _v_fmix(h1: np.ndarray, length: np.ndarray) -> np.ndarray:
    h1 = h1 ^ length.astype(np.uint32)
    h1 ^= h1 >> np.uint32(16)
    h1 *= np.uint32(0x85EBCA6B)
    h1 ^= h1 >> np.uint32(13)
    h1 *= np.uint32(0xC2B2AE35)
    h1 ^= h1 >> np.uint32(16)
    return h1


def hash_strings(strings: Sequence[str], version: int = 2, seed: int = SEED) -> np.ndarray:
    """:func:`hash_string` of every string, as an int32 array."""
    if version not in VERSIONS:
        raise ValueError(f"hash version must be 1 or 2, not {version!r}")
    # Encoding is inherently per string; everything after it is array work.
    encoded = [s.encode("utf-8") for s in strings]
    out = np.empty(len(encoded), dtype=np.int32)
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    long_ones = lengths > _VECTOR_MAX_BYTES
    for i in np.flatnonzero(long_ones):
        out[i] = hash_bytes(encoded[i], version, seed)
    short = np.flatnonzero(~long_ones)
    if short.size:
        out[short] = _hash_short([encoded[i] for i in short], lengths[short], version, seed)
    return out


def _hash_short(encoded: Sequence[bytes], lengths: np.ndarray, version: int, seed: int) -> np.ndarray:
    return hash_concatenated(np.frombuffer(b"".join(encoded), dtype=np.uint8), lengths, version, seed)


def hash_concatenated(data: np.ndarray, lengths: np.ndarray, version: int = 2, seed: int = SEED) -> np.ndarray:
    """:func:`hash_bytes` of each of ``len(lengths)`` byte strings stored back to back in ``data``
    (uint8), as an int32 array: e.g. an Arrow string array's data buffer and its offsets' differences.
    Callers keep strings longer than a few hundred bytes out (the work is a rows x longest matrix)."""
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    lengths = np.asarray(lengths, dtype=np.int64)
    blocks = lengths // 4
    width = (int(lengths.max()) // 4 + 1) * 4  # room for every full block plus a zero-padded tail block
    matrix = np.zeros((n, width), dtype=np.uint8)
    if (lengths == lengths[0]).all():  # fixed-width keys (ids, UUIDs): one reshape, no per-byte indices
        matrix[:, : lengths[0]] = data[: n * int(lengths[0])].reshape(n, int(lengths[0]))
    else:
        rows = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        cols = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
        matrix[rows, cols] = data[: int(lengths.sum())]
    words = matrix.view("<u4").astype(np.uint32)
    h1 = np.full(n, seed & _MASK, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for j in range(int(blocks.max()) + 1):
            full = j < blocks
            if not full.any():
                break
            h1 = np.where(full, _v_mix_h1(h1, _v_mix_k1(words[:, j])), h1)
        tail_words = words[np.arange(n), blocks]
        if version == 2:
            h1 ^= _v_mix_k1(tail_words)  # mixK1(0) == 0: no effect without a tail
        else:
            tail_len = lengths % 4
            for t in range(3):
                byte = matrix[np.arange(n), np.minimum(blocks * 4 + t, width - 1)]
                k = byte.astype(np.int8).astype(np.int32).astype(np.uint32)  # Java sign extension
                h1 = np.where(t < tail_len, _v_mix_h1(h1, _v_mix_k1(k)), h1)
        return _v_fmix(h1, lengths).view(np.int32)
