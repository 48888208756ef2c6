"""Missing values: ``imputer`` (null, NaN and ``missing_value`` become the surrogate) and
``coalesce`` (the first non-null input per row)."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE, DOUBLE_NOT_NULL, DataType


@register("imputer")
class Imputer(Op):
    """MLeap's single-column imputer: null, NaN and ``missing_value`` all become the surrogate."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.surrogate = attrs.double("surrogate_value")
        self.missing = attrs.double("missing_value", float("nan"))
        self.strategy = attrs.string("strategy")  # informational: the surrogate is already computed
        nullable = attrs.boolean("nullable_input", True)
        self.bind(spec, DataType("double", nullable=nullable), DOUBLE_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        column = self.inputs[0]
        x = frame.scalars(column.name, self.who, column.dtype.nullable)
        missing = np.isnan(x) | (x == self.missing)
        missing |= frame.null_mask(column.name)
        frame.add(self.outputs[0].name, np.where(missing, self.surrogate, x), self.outputs[0].dtype)


@register("coalesce")
class Coalesce(Op):
    """First non-null input per row, else null; a NaN is a value and wins."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        nullable = attrs.boolean_list("nullable_inputs")
        # MLeap reads the sockets in node.json order and pairs the i-th with nullable_inputs[i].
        if len(nullable) != len(spec.inputs):
            raise attrs.error("nullable_inputs", f"has {len(nullable)} entries for {len(spec.inputs)} input ports")
        for socket, is_nullable in zip(spec.inputs, nullable):
            self.inputs.append(Column(socket.name, DataType("double", nullable=is_nullable)))
        self.outputs.append(Column(spec.output("output"), DOUBLE))

    def transform(self, frame: Frame) -> None:
        result = np.full(frame.n_rows, np.nan)
        pending = np.ones(frame.n_rows, dtype=bool)
        for column in self.inputs:
            values = frame.scalars(column.name, self.who, column.dtype.nullable)
            present = pending & ~frame.null_mask(column.name)
            result[present] = values[present]
            pending &= ~present
        out = self.outputs[0]
        frame.add(out.name, result, out.dtype, nulls=pending)
