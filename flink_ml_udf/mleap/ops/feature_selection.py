"""``vector_slicer`` and ``chi_sq_selector``: the chosen features of a vector, by index.

The index lists are checked against the input size at load (:func:`index_list`).
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from flink_ml_udf.mleap.attributes import Attributes
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


def index_list(attrs: Attributes, name: str, values: List[int], bound: Optional[int]) -> np.ndarray:
    """Feature indices read from ``name``; each must address an element of a ``bound``-wide vector."""
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if bound is not None and ((array < 0) | (array >= bound)).any():
        bad = int(array[(array < 0) | (array >= bound)][0])
        raise attrs.error(name, f"index {bad} is outside a vector of size {bound}")
    return array


@register("vector_slicer")
class VectorSlicer(VectorOp):
    """``indices`` then ``named_indices`` (names were resolved to positions at export)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("input_size")
        names = attrs.string_list("names")
        named = attrs.long_list("named_indices")
        if len(names) != len(named):
            raise attrs.error("named_indices", f"has {len(named)} entries for {len(names)} names")
        self.selected = np.concatenate(
            [
                index_list(attrs, "indices", attrs.long_list("indices"), size),
                index_list(attrs, "named_indices", named, size),
            ]
        )
        super().__init__(spec, size, vector(len(self.selected)))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return x[:, self.selected]


@register("chi_sq_selector")
class ChiSqSelector(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("input_size")
        self.selected = index_list(attrs, "filter_indices", attrs.long_list("filter_indices"), size)
        super().__init__(spec, size, vector(len(self.selected)))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return x[:, self.selected]
