"""``vector_indexer``: categorical features of a vector replaced by their category index."""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import VectorOp, register
from flink_ml_udf.mleap.ops.feature_selection import index_list
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector

HANDLE_INVALID = ("error", "skip", "keep")


@register("vector_indexer")
class VectorIndexer(VectorOp):
    """Replace each categorical feature by its category index (exact double lookup: -0.0 finds 0.0,
    NaN finds nothing). ``skip`` is an error in MLeap's transformer, not a row skip."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("num_features")
        self.handle_invalid = attrs.string("handle_invalid", "error")
        if self.handle_invalid not in HANDLE_INVALID:
            raise attrs.error("handle_invalid", f"{self.handle_invalid!r} is not one of {', '.join(HANDLE_INVALID)}")
        self.maps: List[Tuple[int, np.ndarray, np.ndarray, int]] = []
        for key in index_list(attrs, "keys", attrs.long_list("keys"), size).tolist():
            categories = attrs.double_list(f"key_{key}_keys")
            indices = attrs.long_list(f"key_{key}_values")
            if len(indices) != categories.size:
                raise attrs.error(f"key_{key}_values", f"has {len(indices)} entries for {categories.size} keys")
            # A Scala Map from the pairs: duplicates keep the last index; -0.0 and 0.0 are one key.
            mapping = {value + 0.0: float(index) for value, index in zip(categories.tolist(), indices)}
            matchable = sorted(k for k in mapping if not math.isnan(k))
            self.maps.append(
                (key, np.array(matchable, dtype=np.float64), np.array([mapping[k] for k in matchable]), len(mapping))
            )
        super().__init__(spec, size, vector(size))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        out = x.copy()
        column = self.inputs[0].name
        for key, categories, indices, count in self.maps:
            values = x[:, key]
            if categories.size:
                position = np.minimum(np.searchsorted(categories, values), categories.size - 1)
                found = categories[position] == values
                mapped = indices[position]
            else:
                found = np.zeros(len(values), dtype=bool)
                mapped = np.zeros(len(values))
            if self.handle_invalid == "keep":
                out[:, key] = np.where(found, mapped, float(count))
                continue
            why = (
                "handle_invalid is 'error'"
                if self.handle_invalid == "error"
                else "handle_invalid 'skip' makes MLeap's vector_indexer fail, not skip the row"
            )
            frame.reject(~found, f"{self.who}: column {column!r} holds an unseen category at feature {key} ({why})")
            out[:, key] = np.where(found, mapped, 0.0)
        return out
