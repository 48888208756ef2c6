"""``vector_assembler``: concatenate scalar and vector inputs into one feature vector.

MLeap builds a sparse vector and compresses it; the values are the same as this dense concatenation,
which is what the model ops downstream consume. A null input is an error, a NaN is a value.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE, vector


@register("vector_assembler")
class VectorAssembler(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        columns = spec.numbered("inputs", "input")
        shapes = spec.attributes.data_shape_list("input_shapes")
        if len(shapes) != len(columns):
            raise spec.attributes.error(
                "input_shapes", f"has {len(shapes)} shapes but the node has {len(columns)} input ports"
            )
        total = 0
        for column, shape in zip(columns, shapes):
            if shape.shape == "scalar":
                self.inputs.append(Column(column, DOUBLE))
                total += 1
            elif shape.shape == "tensor" and shape.dims is not None and len(shape.dims) == 1:
                self.inputs.append(Column(column, vector(shape.dims[0])))
                total += shape.dims[0]
            else:
                raise spec.attributes.error(
                    "input_shapes", f"input {column!r}: only scalars and 1-D tensors of known size can be assembled"
                )
        self.outputs.append(Column(spec.output("output"), vector(total)))

    def transform(self, frame: Frame) -> None:
        parts = []
        for column in self.inputs:
            values = frame.get(column.name, self.who)
            frame.require_non_null(column.name, self.who)
            values = np.asarray(values, dtype=np.float64)
            parts.append(values.reshape(len(values), -1))
        out = self.outputs[0]
        frame.add(out.name, np.hstack(parts) if parts else np.zeros((frame.n_rows, 0)), out.dtype)
