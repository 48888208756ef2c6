"""Writing MLeap protobuf bundle files from the JSON-shaped dicts :mod:`protobuf_format` reads:
the encoder side, used to build protobuf test bundles and to convert JSON bundles."""

from __future__ import annotations

import base64
import struct
from typing import Any, Callable, Dict, List, Mapping, Tuple

import numpy as np
from google.protobuf.message import Message

from flink_ml_udf.mleap.protobuf_schema import (
    BASIC_TYPE_NUMBERS,
    BASIC_TYPES,
    DATA_SHAPE_TYPES,
    TENSOR_DTYPES,
    ClusterNodeMessage,
    DecisionNodeMessage,
    ModelMessage,
    NodeMessage,
)

# -- encoding (the writer side: test bundles and conversions) -----------------------------------


def encode_model(document: Dict[str, Any], basic_types: Mapping[int, str] = BASIC_TYPES) -> bytes:
    """A ``model.json`` dict as ``model.pb`` bytes, with the ``BasicType`` numbering ``basic_types``
    (MLeap 0.8 wrote another one: :data:`~flink_ml_udf.mleap.protobuf_schema.BASIC_TYPES_BEFORE_0_9`)."""
    numbers = {name: number for number, name in basic_types.items()}
    return _model_message(document, numbers).SerializeToString()


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


def _model_message(document: Dict[str, Any], numbers: Mapping[str, int] = BASIC_TYPE_NUMBERS) -> Message:
    model = ModelMessage(op=document.get("op", ""))
    if "attributes" in document:
        model.attributes.SetInParent()
        for name, value in document["attributes"].items():
            _fill_value(model.attributes.list[name], value, numbers)
    return model


def _fill_value(target: Message, value: Dict[str, Any], numbers: Mapping[str, int]) -> None:
    kind = value.get("type")
    if kind == "list":
        target.l.SetInParent()
        _fill_fields(target.l, value, True, numbers)
    elif kind == "tensor":
        _fill_tensor(target.t, value, numbers)
    else:
        target.s.SetInParent()
        _fill_fields(target.s, value, False, numbers)


_ENCODERS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "boolean": ("b", bool),
    "int": ("i", int),
    "long": ("l", int),
    "float": ("f", _float),
    "double": ("d", _float),
    "string": ("s", str),
    "byte_string": ("bs", base64.b64decode),
}


def _fill_fields(target: Message, value: Dict[str, Any], repeated: bool, numbers: Mapping[str, int]) -> None:
    for key, item in value.items():
        if key == "type":
            continue
        if key in _ENCODERS or key == "basic_type":
            field, convert = _ENCODERS[key] if key in _ENCODERS else ("bt", numbers.__getitem__)
            if repeated:
                getattr(target, field).extend(convert(v) for v in item)
            else:
                setattr(target, field, convert(item))
        elif key == "tensor":
            for tensor in item if repeated else [item]:
                _fill_tensor(target.t.add() if repeated else target.t, tensor, numbers)
        elif key == "data_shape":
            for shape in item if repeated else [item]:
                _fill_data_shape(target.ds.add() if repeated else target.ds, shape)
        elif key == "model":
            for model in item if repeated else [item]:
                (target.m.add() if repeated else target.m).CopyFrom(_model_message(model, numbers))
        else:
            raise ValueError(f"unknown value key {key!r}")


def _fill_tensor(target: Message, tensor: Dict[str, Any], numbers: Mapping[str, int]) -> None:
    target.SetInParent()
    bases = [key for key in numbers if key in tensor and key != "unknown"]
    if len(bases) != 1:
        raise ValueError(f"a tensor needs exactly one value key, found {bases}")
    base = bases[0]
    target.base = numbers[base]
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
    return np.asarray(values, dtype=TENSOR_DTYPES[base]).tobytes()


def _fill_data_shape(target: Message, shape: Dict[str, Any]) -> None:
    target.SetInParent()
    target.base = {name: number for number, name in DATA_SHAPE_TYPES.items()}[shape["base"]]
    target.is_nullable = bool(shape.get("isNullable", False))
    if "tensorShape" in shape:
        target.tensor_shape.SetInParent()
        for dim in shape["tensorShape"].get("dimensions", []):
            target.tensor_shape.dimensions.add(size=int(dim.get("size", 0)), name=dim.get("name", ""))
