"""``interaction``: the row-wise Kronecker product of the inputs' numeric and one-hot expansions."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType, vector


@register("interaction")
class Interaction(Op):
    """Spark's Interaction: each input expands to numeric values and one-hot categories, and the
    output is the row-wise Kronecker product of those expansions (first input most significant).

    MLeap emits every numeric element, zeros included, and only the hot slot of a categorical one,
    multiplying from the last input to the first; the dense result here keeps both rules, so a
    non-emitted slot is 0.0 even when a NaN or Inf sits in another input.
    """

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        columns = spec.numbered("inputs", "input")
        count = attrs.long("num_inputs")
        if count != len(columns):
            raise attrs.error("num_inputs", f"is {count} but the node has {len(columns)} numbered input ports")
        shapes = attrs.data_shape_list("input_shapes")
        if len(shapes) != count:
            raise attrs.error("input_shapes", f"has {len(shapes)} shapes for {count} inputs")
        self.features: List[np.ndarray] = []
        total = 1
        for i, (column, shape) in enumerate(zip(columns, shapes)):
            counts = np.asarray(attrs.long_list(f"num_features{i}"), dtype=np.int64)
            if counts.size == 0 or (counts <= 0).any():
                raise attrs.error(f"num_features{i}", f"feature counts must all be positive, found {counts.tolist()}")
            if shape.shape == "scalar":
                if counts.size != 1:
                    raise attrs.error(f"num_features{i}", f"a scalar input has one feature, found {counts.size}")
                self.inputs.append(Column(column, DataType("double", nullable=shape.nullable)))
            elif shape.shape == "tensor":
                self.inputs.append(Column(column, vector(counts.size)))
            else:
                raise attrs.error(
                    "input_shapes", f"input {column!r}: expected a scalar or a tensor, not a {shape.shape}"
                )
            self.features.append(counts)
            total *= int(counts.sum())
        self.outputs.append(Column(spec.output("output"), vector(total)))

    def _expand(self, frame: Frame, column: Column, counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(values, emitted) of one input, ``sum(counts)`` wide."""
        x = np.asarray(frame.get(column.name, self.who), dtype=np.float64)
        frame.require_non_null(column.name, self.who, "values to interact cannot be null")
        x = x.reshape(len(x), -1)
        if x.shape[1] != counts.size:
            raise ScoringError(
                f"{self.who}: input column {column.name!r} has size {x.shape[1]}, expected {counts.size}"
            )
        rows = np.arange(len(x))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        values = np.zeros((len(x), int(counts.sum())))
        emitted = np.zeros(values.shape, dtype=bool)
        for j, (n, offset) in enumerate(zip(counts.tolist(), offsets.tolist())):
            v = x[:, j]
            if n == 1:
                values[:, offset] = v
                emitted[:, offset] = True
                continue
            with np.errstate(invalid="ignore"):
                valid = (v >= 0.0) & (v == np.trunc(v)) & (v < n)
            frame.reject(
                ~valid,
                f"{self.who}: input column {column.name!r} element {j} must hold a category index in [0, {n}), "
                "found another value",
            )
            hot = rows[valid]
            slot = offset + v[valid].astype(np.int64)
            values[hot, slot] = 1.0
            emitted[hot, slot] = True
        return values, emitted

    def transform(self, frame: Frame) -> None:
        product = np.ones((frame.n_rows, 1))
        emitted = np.ones((frame.n_rows, 1), dtype=bool)
        for column, counts in reversed(list(zip(self.inputs, self.features))):
            values, mask = self._expand(frame, column, counts)
            with np.errstate(invalid="ignore", over="ignore"):  # the previous product times this value
                product = (product[:, None, :] * values[:, :, None]).reshape(frame.n_rows, -1)
            emitted = (emitted[:, None, :] & mask[:, :, None]).reshape(frame.n_rows, -1)
        out = self.outputs[0]
        frame.add(out.name, np.where(emitted, product, 0.0), out.dtype)
