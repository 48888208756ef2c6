"""MLeap's protobuf bundle files (``model.pb``, ``node.pb``, ``tree.pb``), decoded into the very dicts
the JSON files give.

Both formats carry the same Bundle.ML messages (combust/bundle-protobuf ``bundle.proto``,
``ext/dtree.proto``, ``ext/ctree.proto``); the JVM reads either into one set of ScalaPB classes.
Here the protobuf side is turned into the JSON side's dicts (``{"op": ..., "attributes": {...}}``,
``{"name": ..., "shape": {...}}``, tree-line records), following the Scala JSON writer's rules
(default-valued scalar fields and empty lists are left out), so attribute getters, ops and tree
parsing never learn which format a bundle used.

The message classes live in :mod:`flink_ml_udf.mleap.protobuf_schema`; the writer side (used to
build test bundles) in :mod:`flink_ml_udf.mleap.protobuf_writer`.
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import numpy as np
from google.protobuf.message import DecodeError, Message

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.protobuf_schema import (
    BASIC_TYPES,
    DATA_SHAPE_TYPES,
    TENSOR_DTYPES,
    ClusterNodeMessage,
    DecisionNodeMessage,
    ModelMessage,
    NodeMessage,
)

# -- model.pb / node.pb ------------------------------------------------------------------------


def _parse(message_class: type, data: bytes, where: str) -> Message:
    message = message_class()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        # The decoder's own wording differs between protobuf backends (upb, C++, Python); the type is what matters.
        raise BundleError(f"{where}: not a valid protobuf {message_class.DESCRIPTOR.full_name} message") from exc
    return message


def decode_model(data: bytes, where: str, basic_types: Mapping[int, str] = BASIC_TYPES) -> Dict[str, Any]:
    """A ``model.pb`` as the dict its ``model.json`` twin holds; ``where`` names the file in errors.

    ``basic_types`` is the ``BasicType`` numbering of the MLeap release that wrote the bundle
    (:func:`flink_ml_udf.mleap.reader.basic_types_of`): 0.8 numbered them differently."""
    return _model(_parse(ModelMessage, data, where), where, basic_types)


def decode_node(data: bytes, where: str) -> Dict[str, Any]:
    """A ``node.pb`` as the dict its ``node.json`` twin holds."""
    node = _parse(NodeMessage, data, where)
    document: Dict[str, Any] = {"name": node.name}
    if node.HasField("shape"):  # absent shape stays absent: the reader reports it like a JSON one
        document["shape"] = {
            "inputs": [{"port": s.port, "name": s.name} for s in node.shape.inputs],
            "outputs": [{"port": s.port, "name": s.name} for s in node.shape.outputs],
        }
    return document


def _model(model: Message, where: str, types: Mapping[int, str]) -> Dict[str, Any]:
    document: Dict[str, Any] = {"op": model.op}
    if model.HasField("attributes"):
        document["attributes"] = {
            name: _value(value, f"{where} → attribute {name}", types) for name, value in model.attributes.list.items()
        }
    return document


def _value(value: Message, where: str, types: Mapping[int, str]) -> Dict[str, Any]:
    kind = value.WhichOneof("v")
    if kind == "l":
        return {**_list(value.l, where, types), "type": "list"}
    if kind == "t":
        return {**_tensor(value.t, where, types), "type": "tensor"}
    # An empty Value reads as an all-default scalar in the JVM (ScalaPB's getS), so it is one here.
    return _scalar(value.s, where, types)


def _scalar(scalar: Message, where: str, types: Mapping[int, str]) -> Dict[str, Any]:
    """Only non-default fields, like the Scala JSON writer (``{}`` means 0 / false / "")."""
    document: Dict[str, Any] = {}
    if scalar.b:
        document["boolean"] = True
    if scalar.i:
        document["int"] = scalar.i
    if scalar.l:
        document["long"] = scalar.l
    if scalar.f or _is_negative_zero(scalar.f):
        document["float"] = scalar.f
    if scalar.d or _is_negative_zero(scalar.d):  # a stored -0.0 is a value, not the default
        document["double"] = scalar.d
    if scalar.s:
        document["string"] = scalar.s
    if scalar.bs:
        document["byte_string"] = base64.b64encode(scalar.bs).decode("ascii")
    if scalar.HasField("t"):
        document["tensor"] = _tensor(scalar.t, f"{where} (tensor)", types)
    if scalar.bt:
        document["basic_type"] = _basic_type(scalar.bt, where, types)
    if scalar.HasField("ds"):
        document["data_shape"] = _data_shape(scalar.ds, where)
    if scalar.HasField("m"):
        document["model"] = _model(scalar.m, f"{where} (model)", types)
    return document


def _list(items: Message, where: str, types: Mapping[int, str]) -> Dict[str, Any]:
    """Only non-empty lists, like the Scala JSON writer (an empty list is ``{"type": "list"}``)."""
    document: Dict[str, Any] = {}
    plain = (("b", "boolean"), ("i", "int"), ("l", "long"), ("f", "float"), ("d", "double"), ("s", "string"))
    for field, key in plain:
        values = getattr(items, field)
        if len(values):
            document[key] = list(values)
    if len(items.bs):
        document["byte_string"] = [base64.b64encode(b).decode("ascii") for b in items.bs]
    if len(items.t):
        document["tensor"] = [_tensor(t, f"{where}[{i}]", types) for i, t in enumerate(items.t)]
    if len(items.bt):
        document["basic_type"] = [_basic_type(bt, where, types) for bt in items.bt]
    if len(items.ds):
        document["data_shape"] = [_data_shape(ds, where) for ds in items.ds]
    if len(items.m):
        document["model"] = [_model(m, f"{where}[{i}] (model)", types) for i, m in enumerate(items.m)]
    return document


def _tensor(tensor: Message, where: str, types: Mapping[int, str]) -> Dict[str, Any]:
    """``{<base>: [values...], "shape": {"dimensions": [...]}}`` from the big-endian value bytes."""
    base = types.get(tensor.base)
    if base is None or base == "unknown":
        raise BundleError(f"{where}: tensor has no valid base type (found {tensor.base})")
    document: Dict[str, Any] = {base: decode_tensor_values(base, tensor.value, where)}
    if tensor.HasField("shape"):
        document["shape"] = _tensor_shape(tensor.shape)
    return document


def decode_tensor_values(base: str, data: bytes, where: str) -> List[Any]:
    """The values of a tensor's ``value`` bytes (``ArraySerializer`` in bundle-ml), as JSON would list them."""
    if base in ("string", "byte_string"):
        records = _length_prefixed(data, where, f"{base} tensor")
        if base == "string":  # the JVM decodes with the platform charset (UTF-8) and replaces bad bytes
            return [record.decode("utf-8", errors="replace") for record in records]
        return [base64.b64encode(record).decode("ascii") for record in records]
    dtype = TENSOR_DTYPES[base]
    if len(data) % dtype.itemsize:
        raise BundleError(
            f"{where}: {base} tensor has {len(data)} value bytes, not a multiple of {dtype.itemsize} "
            f"(the size of one {base})"
        )
    values = np.frombuffer(data, dtype=dtype)
    if base == "boolean":
        return (values == 1).tolist()  # exactly 1 is true, as BooleanArraySerializer reads it
    return values.tolist()


def _length_prefixed(data: bytes, where: str, what: str) -> List[bytes]:
    """Records of ``[int32 BE length][bytes]``.

    The JVM stops quietly at a truncated record; a cut-off tensor is a damaged file, so it is refused.
    """
    records, offset = [], 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise BundleError(f"{where}: {what} is truncated: element {len(records)} has a partial length prefix")
        (size,) = struct.unpack_from(">i", data, offset)
        offset += 4
        if size < 0 or offset + size > len(data):
            raise BundleError(
                f"{where}: {what} is truncated: element {len(records)} needs {size} bytes, {len(data) - offset} remain"
            )
        records.append(bytes(data[offset : offset + size]))
        offset += size
    return records


def _tensor_shape(shape: Message) -> Dict[str, Any]:
    return {"dimensions": [{"size": d.size, "name": d.name} for d in shape.dimensions]}


def _data_shape(shape: Message, where: str) -> Dict[str, Any]:
    base = DATA_SHAPE_TYPES.get(shape.base)
    if base is None:
        raise BundleError(f"{where}: data shape has an unknown base {shape.base}")
    document: Dict[str, Any] = {"base": base, "isNullable": shape.is_nullable}
    if shape.HasField("tensor_shape"):
        document["tensorShape"] = _tensor_shape(shape.tensor_shape)
    return document


def _basic_type(number: int, where: str, types: Mapping[int, str]) -> str:
    name = types.get(number)
    if name is None:
        raise BundleError(f"{where}: unknown basic type {number}")
    return name


def _is_negative_zero(value: float) -> bool:
    return value == 0.0 and np.signbit(value)


# -- tree.pb -----------------------------------------------------------------------------------


def tree_frames(data: bytes, where: str) -> Iterator[Tuple[int, bytes]]:
    """The ``(byte offset, message bytes)`` of each int32-BE length-prefixed node, lazily: a tree
    reader stops once the tree is complete, so bytes after it are never looked at (as in the JVM)."""
    offset, count = 0, 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise BundleError(
                f"{where}: node {count} at byte {offset} is truncated: "
                f"its 4-byte length prefix has only {len(data) - offset} bytes"
            )
        (size,) = struct.unpack_from(">i", data, offset)
        if size < 0 or offset + 4 + size > len(data):
            raise BundleError(
                f"{where}: node {count} at byte {offset} is truncated: "
                f"its length prefix says {size} bytes, {len(data) - offset - 4} remain"
            )
        yield offset, bytes(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
        count += 1


def decision_tree_records(data: bytes, where: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Each ``dtree.Node`` of a ``tree.pb`` as ``(position, record)``: ``record`` is the dict the
    matching ``tree.json`` line holds, ``position`` names the node for errors."""
    for count, (offset, payload) in enumerate(tree_frames(data, where)):
        position = f"{where}: node {count} at byte {offset}"
        yield position, _decision_record(_parse(DecisionNodeMessage, payload, position), position)


def _decision_record(node: Message, where: str) -> Dict[str, Any]:
    kind = node.WhichOneof("n")
    if kind == "leaf":
        return {"type": "leaf", "values": list(node.leaf.values)}
    if kind == "internal":
        split = node.internal.split
        which = split.WhichOneof("s")
        if which == "continuous":
            c = split.continuous
            return {
                "type": "internal",
                "split": {"type": "continuous", "featureIndex": c.feature_index, "threshold": c.threshold},
            }
        if which == "categorical":
            c = split.categorical
            return {
                "type": "internal",
                "split": {
                    "type": "categorical",
                    "featureIndex": c.feature_index,
                    "isLeft": c.is_left,
                    "numCategories": c.num_categories,
                    "categories": list(c.categories),
                },
            }
        raise BundleError(f"{where}: internal node has neither a continuous nor a categorical split")
    raise BundleError(f"{where}: node is neither internal nor leaf (invalid tree)")


def parse_cluster_tree_pb(data: bytes, where: str) -> List[Dict[str, Any]]:
    """A bisecting k-means ``tree.pb`` as the pre-order records its ``tree.json`` lines hold
    (``index``, ``norm``, ``values``, ``numChildren``): exactly the tree's nodes, read the JVM's way
    (a node, then its ``numChildren`` children, each recursively, here with a counter of the nodes
    still owed instead of recursion); trailing bytes are ignored."""
    frames = tree_frames(data, where)
    records: List[Dict[str, Any]] = []
    owed = 1  # nodes the tree still needs: the root, then each node's children
    while owed:
        try:
            offset, payload = next(frames)
        except StopIteration:
            raise BundleError(
                f"{where}: tree file ends after {len(records)} nodes, in the middle of the tree"
            ) from None
        node = _parse(ClusterNodeMessage, payload, f"{where}: node {len(records)} at byte {offset}")
        index = node.index - (1 << 32) if node.index >= 1 << 31 else node.index  # int32 carried in a uint32
        records.append(
            {"index": index, "norm": node.norm, "values": list(node.values), "numChildren": node.num_children}
        )
        owed += node.num_children - 1
    return records
