"""LeapFrame JSON (MLeap format ``ml.combust.mleap.json``) to and from a :class:`Frame`.

    {"schema": {"fields": [{"name": "age", "type": "double"}, ...]}, "rows": [[34.0, ...], ...]}

A bare type string is a nullable scalar; ``{"type": "basic", "base": ..., "isNullable": ...}`` a
scalar with explicit nullability; ``{"type": "tensor", "base": "double", "dimensions": [n]}`` a
tensor whose row values are ``{"values": [...], "dimensions": [...]}`` (dense) or with
``"indices"`` (sparse). Written frames keep the input columns and append every output column, as
MLeap serving's transform does; NaN and infinities are written as ``null``, as the JVM writes them.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.types import NUMERIC_BASES, SCALAR_BASES, DataType

_LIST_BASE_ALIASES = {"int": "integer"}


def parse_type(spec: Any, field: str) -> DataType:
    if isinstance(spec, str):
        if spec not in SCALAR_BASES:
            raise ScoringError(f"LeapFrame field {field!r}: unknown type {spec!r}")
        return DataType(spec)
    if not isinstance(spec, dict):
        raise ScoringError(f"LeapFrame field {field!r}: malformed type {spec!r}")
    kind = spec.get("type")
    base = _LIST_BASE_ALIASES.get(spec.get("base"), spec.get("base"))
    nullable = bool(spec.get("isNullable", True))
    if kind == "basic" and base in SCALAR_BASES:
        return DataType(base, nullable=nullable)
    if kind == "tensor" and base in NUMERIC_BASES:
        dims = spec.get("dimensions")
        return DataType("double", "tensor", None if dims is None else tuple(int(d) for d in dims), nullable)
    if kind == "list" and base in SCALAR_BASES:
        return DataType(base, "list", nullable=nullable)
    raise ScoringError(f"LeapFrame field {field!r}: unsupported type {spec!r}")


def format_type(dtype: DataType) -> Any:
    base = "integer" if dtype.base == "int" else dtype.base
    if dtype.shape == "scalar":
        return base if dtype.nullable else {"type": "basic", "base": base, "isNullable": False}
    inner = "int" if base == "integer" else base
    out: Dict[str, Any] = {"type": dtype.shape, "base": inner}
    if not dtype.nullable:
        out["isNullable"] = False
    if dtype.shape == "tensor" and dtype.dims is not None:
        out["dimensions"] = list(dtype.dims)
    return out


def frame_from_json(document: Any, on_invalid: str = "raise") -> Frame:
    """Parse a LeapFrame JSON document into a :class:`Frame`."""
    try:
        fields = document["schema"]["fields"]
        rows = document["rows"]
    except (KeyError, TypeError):
        raise ScoringError("LeapFrame JSON must have 'schema.fields' and 'rows'") from None
    frame = Frame(len(rows), on_invalid)
    for position, field in enumerate(fields):
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str):
            raise ScoringError(f"LeapFrame field {position}: needs a string 'name'")
        dtype = parse_type(field.get("type"), name)
        cells = []
        for row_no, row in enumerate(rows):
            if not isinstance(row, list) or len(row) <= position:
                raise ScoringError(f"LeapFrame row {row_no}: has no value for field {name!r}")
            cells.append(row[position])
        values, nulls = _column(cells, dtype, name)
        frame.add(name, values, dtype, nulls)
    return frame


def _column(cells: List[Any], dtype: DataType, name: str):
    nulls = np.array([cell is None for cell in cells], dtype=bool)
    if nulls.any() and not dtype.nullable and not (dtype.shape == "scalar" and dtype.base in ("double", "float")):
        raise ScoringError(f"LeapFrame field {name!r}: null in a non-nullable column")
    if dtype.shape == "scalar" and dtype.base in NUMERIC_BASES:
        values = np.array([math.nan if cell is None else cell for cell in cells], dtype=np.float64)
        return values, (nulls if dtype.nullable else None)
    if dtype.shape == "tensor":
        width = dtype.size
        dense = [None if cell is None else _dense_tensor(cell, name) for cell in cells]
        widths = {len(v) for v in dense if v is not None}
        if width is None:
            width = widths.pop() if len(widths) == 1 else 0
        if any(len(v) != width for v in dense if v is not None):
            raise ScoringError(f"LeapFrame field {name!r}: tensors differ in size (expected {width})")
        values = np.zeros((len(cells), width))
        for i, v in enumerate(dense):
            values[i] = math.nan if v is None else v
        return values, nulls
    return np.array(cells, dtype=object), None


def _dense_tensor(cell: Any, name: str) -> np.ndarray:
    try:
        dims = cell["dimensions"]
        size = int(np.prod(dims)) if dims else 1
        values = [math.nan if v is None else v for v in cell["values"]]
        if "indices" in cell:
            dense = np.zeros(size)
            for index, value in zip(cell["indices"], values):
                dense[index[0]] = value
            return dense
        return np.array(values, dtype=np.float64)
    except (KeyError, TypeError, IndexError, ValueError):
        raise ScoringError(f"LeapFrame field {name!r}: malformed tensor value {cell!r}") from None


def frame_to_json(frame: Frame) -> Dict[str, Any]:
    """Serialize a frame; rows skipped by an op (``handle_invalid: skip``) are left out."""
    fields = []
    columns = []
    for name, values, dtype in frame.items():
        fields.append({"name": name, "type": format_type(dtype)})
        nulls = frame.nulls(name)
        columns.append(
            [None if nulls is not None and nulls[i] else _cell(values[i], dtype) for i in range(frame.n_rows)]
        )
    keep = ~frame.skipped
    rows = [[column[i] for column in columns] for i in range(frame.n_rows) if keep[i]]
    return {"schema": {"fields": fields}, "rows": rows}


def _cell(value: Any, dtype: DataType) -> Any:
    if dtype.shape == "tensor":
        return {"values": [_number(v) for v in value], "dimensions": [len(value)]}
    if dtype.shape == "scalar" and dtype.base in NUMERIC_BASES:
        if dtype.base in ("double", "float"):
            return _number(value)
        return int(value)
    return value


def _number(value: float) -> Any:
    value = float(value)
    return value if math.isfinite(value) else None
