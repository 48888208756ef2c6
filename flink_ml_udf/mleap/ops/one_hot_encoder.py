"""``one_hot_encoder``: category index → indicator vector, per column.

Both attribute generations are read: ``category_sizes`` + ``handle_invalid`` + ``drop_last``
(Spark 3+), and the legacy single-column ``size`` (Spark 2, the sklearn writer), whose
``handle_invalid`` defaults to ``keep`` when ``drop_last`` is set and ``error`` otherwise.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.ops.multi_column import column_pairs
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType, vector

HANDLE_INVALID = ("error", "keep")


@register("one_hot_encoder")
class OneHotEncoder(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        pairs = column_pairs(spec)
        self.drop_last = attrs.boolean("drop_last")
        if "size" in attrs:
            sizes = [attrs.long("size")]
            default_invalid = "keep" if self.drop_last else "error"
            self.handle_invalid = attrs.string("handle_invalid", default_invalid)
        else:
            sizes = attrs.long_list("category_sizes")
            self.handle_invalid = attrs.string("handle_invalid")
        if self.handle_invalid not in HANDLE_INVALID:
            raise attrs.error("handle_invalid", f"{self.handle_invalid!r} is not one of {', '.join(HANDLE_INVALID)}")
        if len(sizes) != len(pairs):
            raise attrs.error("category_sizes", f"has {len(sizes)} sizes for {len(pairs)} input columns")
        if any(size < 0 for size in sizes):
            raise attrs.error(
                "size" if "size" in attrs else "category_sizes", f"sizes must not be negative, found {sizes}"
            )
        keep = self.handle_invalid == "keep"
        self.categories = sizes
        # Vector width per MLeap: one more slot for invalid values, one fewer for the dropped last.
        self.widths = [n + int(keep) - int(self.drop_last) for n in sizes]
        for (source, target), width in zip(pairs, self.widths):
            self.inputs.append(Column(source, DataType("double", nullable=False)))
            self.outputs.append(Column(target, vector(width)))

    def transform(self, frame: Frame) -> None:
        rows = np.arange(frame.n_rows)
        for source, target, n, width in zip(self.inputs, self.outputs, self.categories, self.widths):
            values = np.asarray(frame.get(source.name, self.who), dtype=np.float64)
            frame.require_non_null(source.name, self.who)
            with np.errstate(invalid="ignore"):
                integral = np.isfinite(values) & (values == np.trunc(values))
                in_range = integral & (values >= 0) & (values < n)
            frame.reject(~integral, f"{self.who}: column {source.name!r} holds a non-integral or NaN category")
            if self.handle_invalid == "error":
                frame.reject(integral & ~in_range, f"{self.who}: column {source.name!r} holds an unseen category")
            index = np.where(in_range, values, n).astype(np.int64)
            out = np.zeros((frame.n_rows, width))
            hit = index < width  # the dropped last category and dropped invalid slot stay all-zero
            out[rows[hit], index[hit]] = 1.0
            frame.add(target.name, out, target.dtype)
