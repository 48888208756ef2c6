"""``bucketizer``: a double into the bucket its splits define, as Spark's ``Bucketizer`` and
``Arrays.binarySearch`` decide it (Java's total order of doubles breaks ties)."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.order import total_order_keys
from flink_ml_udf.mleap.ops.base import Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, DataType

HANDLE_INVALID = ("error", "skip", "keep")


@register("bucketizer")
class Bucketizer(Op):
    """Spark's Bucketizer as MLeap scores it: NaN follows ``handle_invalid``, but a value outside the
    splits is an error whatever ``handle_invalid`` says."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        splits = attrs.double_list("splits").copy()
        if splits.size < 2:
            raise attrs.error("splits", f"needs at least 2 split points, found {splits.size}")
        # JSON cannot hold ±Inf: the writer stores null, read back as NaN; MLeap restores the ends.
        if np.isnan(splits[0]):
            splits[0] = -np.inf
        if np.isnan(splits[-1]):
            splits[-1] = np.inf
        if np.isnan(splits).any() or not (np.diff(splits) > 0).all():
            raise attrs.error("splits", f"must be strictly increasing numbers, found {splits.tolist()}")
        self.handle_invalid = attrs.string("handle_invalid", "error")
        if self.handle_invalid not in HANDLE_INVALID:
            raise attrs.error("handle_invalid", f"{self.handle_invalid!r} is not one of {', '.join(HANDLE_INVALID)}")
        self.splits = splits
        self.keys = total_order_keys(splits)
        self.bind(spec, DataType("double", nullable=False), DOUBLE_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        x = frame.scalars(self.inputs[0].name, self.who, self.inputs[0].dtype.nullable)
        count = len(self.splits)
        nan = np.isnan(x)
        position = np.searchsorted(self.keys, total_order_keys(x), side="left")
        hit = np.take(self.keys, np.minimum(position, count - 1)) == total_order_keys(x)
        bucket = np.where(hit, position, position - 1).astype(np.float64)
        bucket[x == self.splits[-1]] = count - 2
        outside = ~nan & ~hit & ((position == 0) | (position == count)) & (x != self.splits[-1])
        frame.reject(
            outside,
            f"{self.who}: input column {self.inputs[0].name!r} holds a value outside the splits "
            f"[{self.splits[0]}, {self.splits[-1]}] (an error for every handle_invalid)",
        )
        if self.handle_invalid == "error":
            frame.reject(nan, f"{self.who}: input column {self.inputs[0].name!r} holds NaN (handle_invalid is 'error')")
        elif self.handle_invalid == "skip":
            frame.skip(nan)
        bucket[nan] = count - 1
        bucket[outside] = 0.0
        frame.add(self.outputs[0].name, bucket, self.outputs[0].dtype)
