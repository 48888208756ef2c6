"""What the bundle reader hands to an op: a node's name, sockets and attributes, and a way to
read the node's own files (tree files, sub-models) without knowing where the bundle lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, List, Optional

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.attributes import Attributes
from flink_ml_udf.mleap.budget import LoadBudget
from flink_ml_udf.mleap.numerics import FAST, Numerics

if TYPE_CHECKING:  # pragma: no cover
    from flink_ml_udf.mleap.ops.base import Op


@dataclass(frozen=True)
class Socket:
    """One port of a node bound to a frame column."""

    port: str
    name: str


@dataclass
class ModelSpec:
    """A ``model.json``: op name and attributes, plus the folder it was read from.

    Sub-models (the trees of a forest) are only this; graph nodes add a :class:`NodeSpec`.
    """

    op: str
    attributes: Attributes
    folder: str
    context: str
    bundle: "BundleContext" = field(repr=False)

    @property
    def numerics(self) -> "Numerics":
        """The dot-product kernels this model was loaded with (chosen once per bundle at load)."""
        return self.bundle.numerics

    def reserve(self, size: int, what: str, attribute: Optional[str] = None) -> None:
        """Account ``size`` bytes that ``what`` (built from ``attribute``, if one) takes at load, before
        allocating it; past the bundle's load budget, an error naming the node and attribute."""

        def error(message: str) -> BundleError:
            if attribute is None:
                return BundleError(f"{self.context}: {message}")
            return self.attributes.error(attribute, message)

        self.bundle.load_budget.reserve(size, what, error)

    def as_node(self, name: str, inputs: List["Socket"], outputs: List["Socket"]) -> "NodeSpec":
        """This sub-model bound to frame columns, so any op can load it: sub-models (one-vs-rest
        classifiers, drilldown models) have no ``node.json`` of their own."""
        return NodeSpec(
            op=self.op,
            attributes=self.attributes,
            folder=self.folder,
            context=self.context,
            bundle=self.bundle,
            name=name,
            inputs=list(inputs),
            outputs=list(outputs),
        )


@dataclass
class NodeSpec(ModelSpec):
    """A graph node: a model plus its ``node.json`` name and port → column bindings."""

    name: str = ""
    inputs: List[Socket] = field(default_factory=list)
    outputs: List[Socket] = field(default_factory=list)

    def error(self, message: str) -> BundleError:
        return BundleError(f"{self.context}: {message}")

    def input(self, port: str) -> str:
        for socket in self.inputs:
            if socket.port == port:
                return socket.name
        raise self.error(f"missing input port {port!r} (ports: {_ports(self.inputs)})")

    def output(self, port: str, required: bool = True) -> Optional[str]:
        for socket in self.outputs:
            if socket.port == port:
                return socket.name
        if required:
            raise self.error(f"missing output port {port!r} (ports: {_ports(self.outputs)})")
        return None

    def numbered(self, side: str, prefix: str) -> List[str]:
        """Columns of ports ``prefix0 .. prefixN-1`` on ``side`` ("inputs"/"outputs"), in port order."""
        sockets = {socket.port: socket.name for socket in getattr(self, side)}
        columns = []
        while f"{prefix}{len(columns)}" in sockets:
            columns.append(sockets[f"{prefix}{len(columns)}"])
        return columns


@dataclass
class BundleContext:
    """Services the reader lends to ops while they load: file access and nested loading."""

    location: str
    read_text: Callable[[str], str]
    read_model: Callable[[str], ModelSpec]
    load_node: Callable[[str], "Op"]
    file_extension: str
    read_bytes: Callable[[str], bytes]
    # (folder, stem) -> "folder/stem.json" or "folder/stem.pb": the bundle format's file, or the other
    # format's when only that one is there (bundles mixing JSON and protobuf files).
    formatted_file: Callable[[str, str], str]
    # What ops may allocate at load from attribute sizes (flink_ml_udf.mleap.budget).
    load_budget: LoadBudget = field(default_factory=lambda: LoadBudget(1 << 30))
    # The dot-product kernels every op of this bundle keeps (flink_ml_udf.mleap.numerics).
    numerics: Numerics = FAST


def _ports(sockets: List[Socket]) -> str:
    return ", ".join(repr(s.port) for s in sockets) or "none"
