"""``math_unary`` and ``math_binary``: Spark's element-wise math on doubles.

They follow the JVM runtime to the bit where the JVM's arithmetic is exact (IEEE ``+ - * /``, sqrt,
floor, ceil, Java's ``Math.round`` and ``%``); the transcendental functions (log, exp, sin, ...) use
numpy's, which may differ from HotSpot's intrinsics in the last ulp.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.math import java_max, java_min, java_pow, java_round
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, DataType


def _logit(op: "MathUnary", frame: Frame, x: np.ndarray) -> np.ndarray:
    """commons-math3 ``Logit``: outside [0, 1] is an error, else ``log(x / (1 - x))``."""
    frame.reject((x < 0.0) | (x > 1.0), f"{op.who}: logit input outside [0, 1] in column {op.inputs[0].name!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / (1.0 - x))


_UNARY: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": java_round,
}
UNARY_OPERATIONS = tuple(sorted([*_UNARY, "logit"]))


@register("math_unary")
class MathUnary(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.operation = attrs.string("operation")
        if self.operation not in UNARY_OPERATIONS:
            raise attrs.error("operation", f"{self.operation!r} is not one of {', '.join(UNARY_OPERATIONS)}")
        self.bind(spec, DataType("double", nullable=False), DOUBLE_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        x = frame.scalars(self.inputs[0].name, self.who, self.inputs[0].dtype.nullable)
        if self.operation == "logit":
            result = _logit(self, frame, x)
        else:
            with np.errstate(all="ignore"):  # log(0) = -Inf, sqrt(-1) = NaN, exp overflow = Inf: values, not errors
                result = _UNARY[self.operation](x)
        frame.add(self.outputs[0].name, np.asarray(result, dtype=np.float64), self.outputs[0].dtype)


def _log_n(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.log(a) / np.log(b)


_BINARY: Dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "rem": np.fmod,  # Java % on doubles: truncated, sign of the dividend (not Python's %)
    "log_n": _log_n,
    "pow": java_pow,
    "min": java_min,
    "max": java_max,
}
BINARY_OPERATIONS = tuple(sorted(_BINARY))


@register("math_binary")
class MathBinary(Op):
    """``a <op> b`` where a missing ``input_a``/``input_b`` port is replaced by the ``da``/``db`` constant."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.operation = attrs.string("operation")
        if self.operation not in _BINARY:
            hint = " (the JVM spells it 'log_n')" if self.operation == "logn" else ""
            raise attrs.error("operation", f"{self.operation!r} is not one of {', '.join(BINARY_OPERATIONS)}{hint}")
        ports = {socket.port: socket.name for socket in spec.inputs}
        self.operands: List[Optional[Column]] = []
        self.defaults: List[Optional[float]] = []
        for port, default_name in (("input_a", "da"), ("input_b", "db")):
            default = attrs.double(default_name, None)
            if port in ports:
                column = Column(ports[port], DataType("double", nullable=False))
                self.inputs.append(column)
                self.operands.append(column)
            elif default is None:
                raise spec.error(f"needs input port {port!r} or attribute {default_name!r}")
            else:
                self.operands.append(None)
            self.defaults.append(default)
        self.outputs.append(Column(spec.output("output"), DOUBLE_NOT_NULL))

    def transform(self, frame: Frame) -> None:
        a, b = (
            frame.scalars(column.name, self.who, column.dtype.nullable)
            if column is not None
            else np.full(frame.n_rows, default)
            for column, default in zip(self.operands, self.defaults)
        )
        with np.errstate(all="ignore"):  # IEEE results (Inf, NaN) are MLeap's values, not errors
            result = _BINARY[self.operation](a, b)
        frame.add(self.outputs[0].name, np.asarray(result, dtype=np.float64), self.outputs[0].dtype)
