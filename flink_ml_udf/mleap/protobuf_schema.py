"""The Bundle.ML protobuf messages (combust/bundle-protobuf ``bundle.proto``, ``ext/dtree.proto``,
``ext/ctree.proto``) as message classes, built at import time from descriptors written out here: no
``protoc`` and no generated ``_pb2`` modules to keep in step with the installed ``protobuf`` runtime.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

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
# MLeap 0.8 (bundle-protobuf before 71bed96) numbered the fixed-width types from 0, without UNDEFINED.
BASIC_TYPES_BEFORE_0_9 = {
    0: "boolean",
    1: "byte",
    2: "short",
    3: "int",
    4: "long",
    5: "float",
    6: "double",
    100: "string",
    101: "byte_string",
}
DATA_SHAPE_TYPES = {0: "scalar", 1: "list", 2: "tensor"}

# Fixed-width tensor element types: big-endian, as Java's ByteBuffer writes them.
TENSOR_DTYPES = {
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
