"""Locality-sensitive hashing: ``min_hash_lsh`` and ``bucketed_random_projection_lsh``.

Both output one hash per function as a ``[k, 1]`` tensor, a 3-D ``(rows, k, 1)`` array in a frame.
Both declare their output as ``[input_size, 1]`` (an MLeap slip kept in the schema; the values
have k rows).
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType

HASH_PRIME = 2038074743


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to Java ``int``."""
    return ((values + 2**31) & 0xFFFFFFFF) - 2**31


class HashOp(VectorOp):
    def __init__(self, spec: NodeSpec, size: int) -> None:
        super().__init__(spec, size, DataType("double", "tensor", (size, 1)))
        self.numerics = spec.numerics

    def hashes(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return self.hashes(x, frame)[:, :, None]

    @property
    def output_row_bytes(self) -> int:
        """MLeap declares the output ``[input_size, 1]``; a row holds one value per hash function."""
        return 8 * self.n_hashes

    @property
    def n_hashes(self) -> int:
        raise NotImplementedError


@register("min_hash_lsh")
class MinHashLSH(HashOp):
    """``min over non-zero indices e of ((1 + e) * a + b) % prime``, in MLeap's 32-bit ``int``
    arithmetic: products and sums wrap and ``%`` keeps the dividend's sign, so hashes may be negative
    (Spark computes in 64 bits and differs)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        a = wrap_int32(np.asarray(attrs.long_list("random_coefficients_a"), dtype=np.int64))
        b = wrap_int32(np.asarray(attrs.long_list("random_coefficients_b"), dtype=np.int64))
        if a.size != b.size:
            raise attrs.error("random_coefficients_b", f"has {b.size} values but 'random_coefficients_a' has {a.size}")
        super().__init__(spec, attrs.long("input_size"))
        spec.reserve(
            3 * 8 * max(self.size, 0) * a.size, f"a table of {a.size} hashes of {self.size} indices", "input_size"
        )
        element = np.arange(1, self.size + 1, dtype=np.int64)[:, None]
        hashed = wrap_int32(wrap_int32(element * a[None, :]) + b[None, :])
        self.table = np.fmod(hashed, HASH_PRIME)  # (input_size, k): every feature index, every function

    @property
    def n_hashes(self) -> int:
        return self.table.shape[1]

    def hashes(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        active = x != 0.0  # NaN counts as non-zero, as in Spark's numNonzeros
        frame.reject(
            ~active.any(axis=1),
            f"{self.who}: input column {self.inputs[0].name!r} must have at least 1 non zero entry",
        )
        out = np.zeros((len(x), self.table.shape[1]))
        ceiling = np.iinfo(np.int64).max
        for j in range(self.table.shape[1]):
            out[:, j] = np.where(active, self.table[:, j], ceiling).min(axis=1, initial=ceiling)
        out[~active.any(axis=1)] = 0.0
        return out


@register("bucketed_random_projection_lsh")
class BucketedRandomProjectionLSH(HashOp):
    """``floor(dot(x, u_j) / bucket_length)`` per random unit vector ``u_j``, the dots by the model's
    numerics (the JVM's exact order matters only for a dot landing on a bucket boundary)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        vectors = attrs.tensor_list("random_unit_vectors")
        size = attrs.long("input_size")
        for i, unit in enumerate(vectors):
            if unit.size != size:
                raise attrs.error("random_unit_vectors", f"vector {i} has {unit.size} values, input_size is {size}")
        self.bucket_length = attrs.double("bucket_length")
        super().__init__(spec, size)
        self.units = np.array(vectors, dtype=np.float64).reshape(len(vectors), size)

    @property
    def n_hashes(self) -> int:
        return len(self.units)

    def hashes(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor(self.numerics.features_dot_each(x, self.units) / self.bucket_length)
