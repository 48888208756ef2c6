"""Scalar feature ops: ``bucketizer``, ``imputer``, ``coalesce``, ``math_unary``, ``math_binary``.

Each follows the JVM runtime to the bit where the JVM's arithmetic is exact (IEEE ``+ - * /``, sqrt,
floor, ceil, Java's ``Math.round`` and ``%``); the transcendental functions (log, exp, sin, ...) use
numpy's, which may differ from HotSpot's intrinsics in the last ulp.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.order import total_order_keys
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE, DOUBLE_NOT_NULL, DataType

HANDLE_INVALID = ("error", "skip", "keep")
_LONG_RANGE = 2.0**63  # (double) Long.MAX_VALUE rounds up to 2^63; Long.MIN_VALUE is -2^63


def java_round(x: np.ndarray) -> np.ndarray:
    """``(double) Math.round(x)``: ties toward +Inf, NaN → 0, saturating at the long range."""
    floor = np.floor(x)
    with np.errstate(invalid="ignore"):
        rounded = floor + (x - floor >= 0.5)  # the fraction of a double is exact; -0.0 + 0.0 is 0.0
    rounded = np.where(np.isnan(x), 0.0, rounded)
    return np.clip(rounded, -_LONG_RANGE, _LONG_RANGE)


def java_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.pow``: as C ``pow`` except ``pow(x, NaN)`` is NaN for every x and ``pow(±1, ±Inf)`` is NaN."""
    with np.errstate(all="ignore"):
        result = np.power(a, b)
    java_nan = np.isnan(b) | ((np.abs(a) == 1.0) & np.isinf(b))
    return np.where(java_nan, np.nan, result)


def java_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.min``: NaN if either is NaN, and ``-0.0`` is below ``0.0``."""
    result = np.minimum(a, b)
    zeros = (a == 0.0) & (b == 0.0)
    return np.where(zeros, np.where(np.signbit(a) | np.signbit(b), -0.0, 0.0), result)


def java_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Math.max``: NaN if either is NaN, and ``0.0`` is above ``-0.0``."""
    result = np.maximum(a, b)
    zeros = (a == 0.0) & (b == 0.0)
    return np.where(zeros, np.where(np.signbit(a) & np.signbit(b), -0.0, 0.0), result)


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
