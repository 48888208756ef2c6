"""MLeap's protobuf bundle files (``model.pb``, ``node.pb``, ``tree.pb``), decoded into the very dicts
the JSON files give.

Both formats carry the same Bundle.ML messages (combust/bundle-protobuf ``bundle.proto``,
``ext/dtree.proto``, ``ext/ctree.proto``); the JVM reads either into one set of ScalaPB classes.
Here the protobuf side is turned into the JSON side's dicts (``{"op": ..., "attributes": {...}}``,
``{"name": ..., "shape": {...}}``, tree-line records), following the Scala JSON writer's rules
(default-valued scalar fields and empty lists are left out), so attribute getters, ops and tree
parsing never learn which format a bundle used.

The message classes are built at import time from descriptors written out below: no ``protoc``
and no generated ``_pb2`` modules to keep in step with the installed ``protobuf`` runtime.
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from flink_ml_udf.errors import BundleError

_FIELD = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _FIELD.LABEL_OPTIONAL, _FIELD.LABEL_REPEATED
_SCALAR_TYPES = {
    "bool": _FIELD.TYPE_BOOL,
    "string": _FIELD.TYPE_STRING,
    "bytes": _FIELD.TYPE_BYTES,
    "int32": _FIELD.TYPE_INT32,
    "int64": _FIELD.TYPE_INT64,
    "uint32": _FIELD.TYPE_UINT32,
    "float": _FIELD.TYPE_FLOAT,
    "double": _FIELD.TYPE_DOUBLE,
}

# BasicType numbers (bundle.proto) → the names the JSON format uses.
BASIC_TYPES = {
    0: "unknown",
    1: "boolean",
    2: "byte",
    3: "short",
    4: "int",
    5: "long",
    6: "float",
    7: "double",
    100: "string",
    101: "byte_string",
}
BASIC_TYPE_NUMBERS = {name: number for number, name in BASIC_TYPES.items()}
DATA_SHAPE_TYPES = {0: "scalar", 1: "list", 2: "tensor"}

# Fixed-width tensor element types: big-endian, as Java's ByteBuffer writes them.
_TENSOR_DTYPES = {
    "double": np.dtype(">f8"),
    "float": np.dtype(">f4"),
    "long": np.dtype(">i8"),
    "int": np.dtype(">i4"),
    "short": np.dtype(">i2"),
    "byte": np.dtype("i1"),
    "boolean": np.dtype("u1"),
}


# -- descriptors -------------------------------------------------------------------------------


def _message(
    container: Any,
    name: str,
    fields: List[Tuple[str, int, str, bool]],
    oneof: Optional[str] = None,
) -> descriptor_pb2.DescriptorProto:
    """Add message ``name`` with ``(field, number, type, repeated)`` fields to ``container``.

    ``type`` is a scalar type name, ``enum:<.full.Name>`` or a message's ``.full.Name``. With
    ``oneof``, every field belongs to that oneof.
    """
    message = container.message_type.add() if hasattr(container, "message_type") else container.nested_type.add()
    message.name = name
    if oneof:
        message.oneof_decl.add().name = oneof
    for field_name, number, kind, repeated in fields:
        field = message.field.add()
        field.name = field_name
        field.number = number
        field.label = _REPEATED if repeated else _OPTIONAL
        if kind in _SCALAR_TYPES:
            field.type = _SCALAR_TYPES[kind]
        elif kind.startswith("enum:"):
            field.type = _FIELD.TYPE_ENUM
            field.type_name = kind[len("enum:") :]
        else:
            field.type = _FIELD.TYPE_MESSAGE
            field.type_name = kind
        if oneof:
            field.oneof_index = 0
    return message


def _enum(file: descriptor_pb2.FileDescriptorProto, name: str, values: Dict[int, str]) -> None:
    enum = file.enum_type.add()
    enum.name = name
    for number, value_name in values.items():
        value = enum.value.add()
        value.name = value_name
        value.number = number


def _bundle_file() -> descriptor_pb2.FileDescriptorProto:
    """``bundle/bundle.proto`` (package ``ml.bundle``): the messages of model and node files."""
    file = descriptor_pb2.FileDescriptorProto(name="bundle.proto", package="ml.bundle", syntax="proto3")
    _enum(file, "BasicType", {number: name.upper() if number else "UNDEFINED" for number, name in BASIC_TYPES.items()})
    _enum(file, "DataShapeType", {number: name.upper() for number, name in DATA_SHAPE_TYPES.items()})
    _message(file, "TensorDimension", [("size", 1, "int32", False), ("name", 2, "string", False)])
    _message(file, "TensorShape", [("dimensions", 1, ".ml.bundle.TensorDimension", True)])
    _message(
        file,
        "Tensor",
        [
            ("base", 1, "enum:.ml.bundle.BasicType", False),
            ("shape", 2, ".ml.bundle.TensorShape", False),
            ("value", 3, "bytes", False),
        ],
    )
    _message(
        file,
        "DataShape",
        [
            ("base", 1, "enum:.ml.bundle.DataShapeType", False),
            ("is_nullable", 2, "bool", False),
            ("tensor_shape", 3, ".ml.bundle.TensorShape", False),
        ],
    )
    value_fields = [
        ("b", 1, "bool"),
        ("s", 2, "string"),
        ("i", 3, "int32"),
        ("l", 4, "int64"),
        ("f", 5, "float"),
        ("d", 6, "double"),
        ("bs", 7, "bytes"),
        ("t", 8, ".ml.bundle.Tensor"),
        ("bt", 9, "enum:.ml.bundle.BasicType"),
        ("ds", 10, ".ml.bundle.DataShape"),
        ("m", 11, ".ml.bundle.Model"),
    ]
    _message(file, "List", [(name, number, kind, True) for name, number, kind in value_fields])
    _message(file, "Scalar", [(name, number, kind, False) for name, number, kind in value_fields])
    _message(
        file,
        "Value",
        [
            ("s", 1, ".ml.bundle.Scalar", False),
            ("l", 2, ".ml.bundle.List", False),
            ("t", 3, ".ml.bundle.Tensor", False),
        ],
        oneof="v",
    )
    attributes = _message(file, "Attributes", [("list", 1, ".ml.bundle.Attributes.ListEntry", True)])
    entry = _message(attributes, "ListEntry", [("key", 1, "string", False), ("value", 2, ".ml.bundle.Value", False)])
    entry.options.map_entry = True
    _message(file, "Model", [("op", 1, "string", False), ("attributes", 2, ".ml.bundle.Attributes", False)])
    _message(file, "Socket", [("port", 1, "string", False), ("name", 2, "string", False)])
    _message(file, "NodeShape", [("inputs", 1, ".ml.bundle.Socket", True), ("outputs", 2, ".ml.bundle.Socket", True)])
    _message(file, "Node", [("name", 1, "string", False), ("shape", 2, ".ml.bundle.NodeShape", False)])
    return file


def _dtree_file() -> descriptor_pb2.FileDescriptorProto:
    """``bundle/ext/dtree.proto`` (package ``ml.bundle.dtree``): one decision-tree node."""
    file = descriptor_pb2.FileDescriptorProto(name="dtree.proto", package="ml.bundle.dtree", syntax="proto3")
    split = _message(
        file,
        "Split",
        [
            ("categorical", 1, ".ml.bundle.dtree.Split.CategoricalSplit", False),
            ("continuous", 2, ".ml.bundle.dtree.Split.ContinuousSplit", False),
        ],
        oneof="s",
    )
    _message(
        split,
        "CategoricalSplit",
        [
            ("feature_index", 1, "uint32", False),
            ("is_left", 2, "bool", False),
            ("num_categories", 3, "uint32", False),
            ("categories", 4, "double", True),
        ],
    )
    _message(split, "ContinuousSplit", [("feature_index", 1, "uint32", False), ("threshold", 2, "double", False)])
    node = _message(
        file,
        "Node",
        [
            ("internal", 1, ".ml.bundle.dtree.Node.InternalNode", False),
            ("leaf", 2, ".ml.bundle.dtree.Node.LeafNode", False),
        ],
        oneof="n",
    )
    _message(node, "InternalNode", [("split", 1, ".ml.bundle.dtree.Split", False)])
    _message(node, "LeafNode", [("values", 1, "double", True)])
    return file


def _ctree_file() -> descriptor_pb2.FileDescriptorProto:
    """``bundle/ext/ctree.proto`` (package ``ml.bundle.ctree``): one bisecting k-means tree node."""
    file = descriptor_pb2.FileDescriptorProto(name="ctree.proto", package="ml.bundle.ctree", syntax="proto3")
    _message(
        file,
        "Node",
        [
            ("index", 1, "uint32", False),
            ("norm", 2, "double", False),
            ("values", 3, "double", True),
            ("num_children", 4, "uint32", False),
        ],
    )
    return file


_POOL = descriptor_pool.DescriptorPool()  # private: never clashes with other users of these names
for _file in (_bundle_file(), _dtree_file(), _ctree_file()):
    _POOL.Add(_file)


def _class(full_name: str) -> type:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))


ModelMessage = _class("ml.bundle.Model")
NodeMessage = _class("ml.bundle.Node")
ValueMessage = _class("ml.bundle.Value")
TensorMessage = _class("ml.bundle.Tensor")
DecisionNodeMessage = _class("ml.bundle.dtree.Node")
ClusterNodeMessage = _class("ml.bundle.ctree.Node")


# -- model.pb / node.pb ------------------------------------------------------------------------


def _parse(message_class: type, data: bytes, where: str) -> Message:
    message = message_class()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        # The decoder's own wording differs between protobuf backends (upb, C++, Python); the type is what matters.
        raise BundleError(f"{where}: not a valid protobuf {message_class.DESCRIPTOR.full_name} message") from exc
    return message


def decode_model(data: bytes, where: str) -> Dict[str, Any]:
    """A ``model.pb`` as the dict its ``model.json`` twin holds; ``where`` names the file in errors."""
    return _model(_parse(ModelMessage, data, where), where)


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


def _model(model: Message, where: str) -> Dict[str, Any]:
    document: Dict[str, Any] = {"op": model.op}
    if model.HasField("attributes"):
        document["attributes"] = {
            name: _value(value, f"{where} → attribute {name}") for name, value in model.attributes.list.items()
        }
    return document


def _value(value: Message, where: str) -> Dict[str, Any]:
    kind = value.WhichOneof("v")
    if kind == "l":
        return {**_list(value.l, where), "type": "list"}
    if kind == "t":
        return {**_tensor(value.t, where), "type": "tensor"}
    # An empty Value reads as an all-default scalar in the JVM (ScalaPB's getS), so it is one here.
    return _scalar(value.s, where)


def _scalar(scalar: Message, where: str) -> Dict[str, Any]:
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
        document["tensor"] = _tensor(scalar.t, f"{where} (tensor)")
    if scalar.bt:
        document["basic_type"] = _basic_type(scalar.bt, where)
    if scalar.HasField("ds"):
        document["data_shape"] = _data_shape(scalar.ds, where)
    if scalar.HasField("m"):
        document["model"] = _model(scalar.m, f"{where} (model)")
    return document


def _list(items: Message, where: str) -> Dict[str, Any]:
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
        document["tensor"] = [_tensor(t, f"{where}[{i}]") for i, t in enumerate(items.t)]
    if len(items.bt):
        document["basic_type"] = [_basic_type(bt, where) for bt in items.bt]
    if len(items.ds):
        document["data_shape"] = [_data_shape(ds, where) for ds in items.ds]
    if len(items.m):
        document["model"] = [_model(m, f"{where}[{i}] (model)") for i, m in enumerate(items.m)]
    return document


def _tensor(tensor: Message, where: str) -> Dict[str, Any]:
    """``{<base>: [values...], "shape": {"dimensions": [...]}}`` from the big-endian value bytes."""
    base = BASIC_TYPES.get(tensor.base)
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
    dtype = _TENSOR_DTYPES[base]
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


def _basic_type(number: int, where: str) -> str:
    name = BASIC_TYPES.get(number)
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
    (a node, then its ``numChildren`` children, each recursively); trailing bytes are ignored."""
    frames = tree_frames(data, where)
    records: List[Dict[str, Any]] = []

    def read() -> None:
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
        for _ in range(node.num_children):
            read()

    read()
    return records


# -- encoding (the writer side: test bundles and conversions) -----------------------------------


def encode_model(document: Dict[str, Any]) -> bytes:
    """A ``model.json`` dict as ``model.pb`` bytes."""
    return _model_message(document).SerializeToString()


def encode_node(document: Dict[str, Any]) -> bytes:
    """A ``node.json`` dict as ``node.pb`` bytes."""
    node = NodeMessage(name=document.get("name", ""))
    if "shape" in document:
        shape = document["shape"]
        node.shape.SetInParent()
        for side in ("inputs", "outputs"):
            for socket in shape.get(side, []):
                getattr(node.shape, side).add(port=socket["port"], name=socket["name"])
    return node.SerializeToString()


def encode_decision_tree(records: List[Dict[str, Any]]) -> bytes:
    """``tree.json`` records (pre-order) as ``tree.pb`` bytes."""
    return b"".join(_frame(_decision_message(record)) for record in records)


def encode_cluster_tree(records: List[Dict[str, Any]]) -> bytes:
    """Bisecting k-means ``tree.json`` records as ``tree.pb`` bytes (negative indices as uint32)."""
    return b"".join(
        _frame(
            ClusterNodeMessage(
                index=int(r["index"]) & 0xFFFFFFFF,
                norm=_float(r.get("norm", 0.0)),
                values=[_float(v) for v in r.get("values", [])],
                num_children=int(r.get("numChildren", 0)),
            )
        )
        for r in records
    )


def _frame(message: Message) -> bytes:
    payload = message.SerializeToString()
    return struct.pack(">i", len(payload)) + payload


def _decision_message(record: Dict[str, Any]) -> Message:
    node = DecisionNodeMessage()
    if record["type"] == "leaf":
        node.leaf.values.extend(_float(v) for v in record["values"])
        node.leaf.SetInParent()
        return node
    split = record["split"]
    node.internal.split.SetInParent()
    if split["type"] == "continuous":
        target = node.internal.split.continuous
        target.SetInParent()
        target.feature_index = int(split["featureIndex"])
        target.threshold = _float(split["threshold"])
    else:
        target = node.internal.split.categorical
        target.SetInParent()
        target.feature_index = int(split["featureIndex"])
        target.is_left = bool(split["isLeft"])
        target.num_categories = int(split["numCategories"])
        target.categories.extend(_float(c) for c in split["categories"])
    return node


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)  # JSON null is how spray-json writes NaN


def _model_message(document: Dict[str, Any]) -> Message:
    model = ModelMessage(op=document.get("op", ""))
    if "attributes" in document:
        model.attributes.SetInParent()
        for name, value in document["attributes"].items():
            _fill_value(model.attributes.list[name], value)
    return model


def _fill_value(target: Message, value: Dict[str, Any]) -> None:
    kind = value.get("type")
    if kind == "list":
        target.l.SetInParent()
        _fill_fields(target.l, value, repeated=True)
    elif kind == "tensor":
        _fill_tensor(target.t, value)
    else:
        target.s.SetInParent()
        _fill_fields(target.s, value, repeated=False)


_ENCODERS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "boolean": ("b", bool),
    "int": ("i", int),
    "long": ("l", int),
    "float": ("f", _float),
    "double": ("d", _float),
    "string": ("s", str),
    "byte_string": ("bs", base64.b64decode),
    "basic_type": ("bt", BASIC_TYPE_NUMBERS.__getitem__),
}


def _fill_fields(target: Message, value: Dict[str, Any], repeated: bool) -> None:
    for key, item in value.items():
        if key == "type":
            continue
        if key in _ENCODERS:
            field, convert = _ENCODERS[key]
            if repeated:
                getattr(target, field).extend(convert(v) for v in item)
            else:
                setattr(target, field, convert(item))
        elif key == "tensor":
            for tensor in item if repeated else [item]:
                _fill_tensor(target.t.add() if repeated else target.t, tensor)
        elif key == "data_shape":
            for shape in item if repeated else [item]:
                _fill_data_shape(target.ds.add() if repeated else target.ds, shape)
        elif key == "model":
            for model in item if repeated else [item]:
                (target.m.add() if repeated else target.m).CopyFrom(_model_message(model))
        else:
            raise ValueError(f"unknown value key {key!r}")


def _fill_tensor(target: Message, tensor: Dict[str, Any]) -> None:
    target.SetInParent()
    bases = [key for key in BASIC_TYPE_NUMBERS if key in tensor and key != "unknown"]
    if len(bases) != 1:
        raise ValueError(f"a tensor needs exactly one value key, found {bases}")
    base = bases[0]
    target.base = BASIC_TYPE_NUMBERS[base]
    target.value = encode_tensor_values(base, tensor[base])
    if "shape" in tensor:
        target.shape.SetInParent()
        for dim in tensor["shape"].get("dimensions", []):
            target.shape.dimensions.add(size=int(dim.get("size", 0)), name=dim.get("name", ""))


def encode_tensor_values(base: str, values: List[Any]) -> bytes:
    if base == "string":
        return b"".join(struct.pack(">i", len(v.encode())) + v.encode() for v in values)
    if base == "byte_string":
        return b"".join(struct.pack(">i", len(b)) + b for b in map(base64.b64decode, values))
    if base in ("double", "float"):
        values = [_float(v) for v in values]
    return np.asarray(values, dtype=_TENSOR_DTYPES[base]).tobytes()


def _fill_data_shape(target: Message, shape: Dict[str, Any]) -> None:
    target.SetInParent()
    target.base = {name: number for number, name in DATA_SHAPE_TYPES.items()}[shape["base"]]
    target.is_nullable = bool(shape.get("isNullable", False))
    if "tensorShape" in shape:
        target.tensor_shape.SetInParent()
        for dim in shape["tensorShape"].get("dimensions", []):
            target.tensor_shape.dimensions.add(size=int(dim.get("size", 0)), name=dim.get("name", ""))
