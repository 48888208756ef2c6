"""``binarizer`` and ``sklearn_binarizer``: a threshold on a scalar or, element-wise, on a tensor."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, DataType


def _binarizer_shape(spec: NodeSpec) -> DataType:
    """``input_shapes`` is one data shape in Spark bundles and a one-element list in sklearn ones;
    both forms are read for both ops. MLeap 0.8 wrote the single shape as ``input_shape``."""
    attrs = spec.attributes
    name = "input_shape" if "input_shape" in attrs and "input_shapes" not in attrs else "input_shapes"
    raw = attrs.raw(name)
    if isinstance(raw, dict) and raw.get("type") == "list":
        shapes = attrs.data_shape_list(name)
        if not shapes:
            raise attrs.error(name, "the list of data shapes is empty")
        shape = shapes[0]
    else:
        shape = attrs.data_shape(name)
    if shape.shape not in ("scalar", "tensor"):
        raise attrs.error(name, f"a binarizer takes a scalar or a tensor, not a {shape.shape}")
    return shape


@register("binarizer", "sklearn_binarizer")
class Binarizer(Op):
    """``1.0 if x > threshold else 0.0`` (NaN gives 0.0), on a scalar or element-wise on a tensor."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        if spec.op == "binarizer" and "thresholds" in attrs:
            if "threshold" in attrs:
                raise attrs.error("thresholds", "both 'threshold' and 'thresholds' are present")
            raise attrs.error("thresholds", "multi-column Binarizer is not supported by MLeap")
        self.threshold = attrs.double("threshold")
        shape = _binarizer_shape(spec)
        self.scalar = shape.shape == "scalar"
        if self.scalar:  # MLeap: a scalar binarizer is non-null in and out, a tensor one nullable
            dtype = DataType("double", nullable=False)
        else:
            dtype = DataType("double", "tensor", shape.dims, nullable=True)
        self.bind(spec, dtype, dtype if not self.scalar else DOUBLE_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        column = self.inputs[0].name
        x = np.asarray(frame.get(column, self.who), dtype=np.float64)
        frame.require_non_null(column, self.who)
        if self.scalar and x.ndim != 1:
            raise ScoringError(f"{self.who}: input column {column!r} must hold scalars, found a {x.ndim}-D array")
        if not self.scalar and x.ndim < 2:
            raise ScoringError(f"{self.who}: input column {column!r} must hold tensors, found scalars")
        with np.errstate(invalid="ignore"):
            out = (x > self.threshold).astype(np.float64)
        frame.add(self.outputs[0].name, out, self.outputs[0].dtype)
