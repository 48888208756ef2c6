"""The op interface and the registry of op classes keyed by MLeap op name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, TypeVar

import numpy as np

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType, vector

#: Ops MLeap defines that this runtime deliberately does not score; named in the unknown-op error.
UNSUPPORTED_OPS = ("tensorflow", "als", "lda_local_model_op")

#: op name -> callable building the op from its node spec (an Op subclass, or a factory).
OPS: Dict[str, Callable[[NodeSpec], "Op"]] = {}


T = TypeVar("T")


def registrar(table: Dict[str, T], what: str) -> Callable[..., Callable[[T], T]]:
    """A decorator factory filing what it decorates in ``table`` under MLeap op names, once each."""

    def register_names(*names: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            for name in names:
                if name in table:
                    raise RuntimeError(f"{what} {name!r} registered twice")
                table[name] = item
            return item

        return decorate

    return register_names


#: Class decorator: make an op class the decoder of the MLeap op ``names``.
register = registrar(OPS, "op")


def op_class(name: str, context: str) -> Callable[[NodeSpec], "Op"]:
    try:
        return OPS[name]
    except KeyError:
        why = "is not supported by this runtime" if name in UNSUPPORTED_OPS else "is unknown"
        raise BundleError(f"{context}: op {name!r} {why}; supported ops: {', '.join(sorted(OPS))}") from None


@dataclass(frozen=True)
class Column:
    """A frame column an op reads or writes, with the type the op declares for it."""

    name: str
    dtype: DataType


class Op(ABC):
    """One node of a bundle: attributes decoded into arrays once at load, then applied per batch.

    Subclasses decode in ``__init__`` (errors name the node through ``spec``) and keep the per-batch
    path in :meth:`transform` to array work.
    """

    def __init__(self, spec: NodeSpec) -> None:
        self.name = spec.name
        self.op = spec.op
        self.who = f"node {spec.name} ({spec.op})"
        self.inputs: List[Column] = []
        self.outputs: List[Column] = []
        self.children: List[Op] = []  # set by containers (pipelines)

    def bind(
        self,
        spec: NodeSpec,
        input_type: DataType,
        output_type: DataType,
        input_port: str = "input",
        output_port: str = "output",
    ) -> None:
        """Bind the node's ``input_port`` and ``output_port`` (both required) to one input and one output
        column of these types: the binding of every one-in, one-out op, written once."""
        self.inputs.append(Column(spec.input(input_port), input_type))
        self.outputs.append(Column(spec.output(output_port), output_type))

    def bind_optional_output(self, spec: NodeSpec, port: str, dtype: DataType) -> Optional[str]:
        """Bind output ``port`` if the node has it (MLeap's optional outputs: probability, quantiles, ...);
        the column's name, or ``None``."""
        column = spec.output(port, required=False)
        if column is not None:
            self.outputs.append(Column(column, dtype))
        return column

    @abstractmethod
    def transform(self, frame: Frame) -> None:
        """Read this op's input columns from ``frame`` and append its output columns."""

    def walk(self) -> Iterator["Op"]:
        """This op and, for containers, every op inside it in execution order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class VectorOp(Op):
    """One vector column in, one column out: the base of every op that maps the rows of one vector.

    The input is read by :meth:`Frame.vectors` (nulls rejected, ``size`` checked when known); the
    output is ``output``, by default a vector of the same size. Subclasses either set ``kernel``, a
    callable on the ``(rows, size)`` array decoded once at load (an :class:`~..kernels.Affine` for the
    scalers), or override :meth:`compute` when the rows need more than one kernel call or the frame.
    """

    kernel: Callable[[np.ndarray], np.ndarray]

    def __init__(self, spec: NodeSpec, size: Optional[int], output: Optional[DataType] = None) -> None:
        super().__init__(spec)
        self.size = size
        self.bind(spec, vector(size), vector(size) if output is None else output)

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        """The output rows for input rows ``x`` (float64); ``frame`` is there to reject rows."""
        return self.kernel(x)

    def transform(self, frame: Frame) -> None:
        x = frame.vectors(self.inputs[0].name, self.who, self.size)
        out = self.outputs[0]
        frame.add(out.name, self.compute(x, frame), out.dtype)
