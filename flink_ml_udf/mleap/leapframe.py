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
from typing import Any, Callable, Dict, List

import numpy as np

from flink_ml_udf.errors import ScoringError, brief
from flink_ml_udf.mleap.budget import DEFAULT_MAX_BATCH_BYTES, format_bytes
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.json_document import whole_number
from flink_ml_udf.mleap.types import NUMERIC_BASES, SCALAR_BASES, DataType

_LIST_BASE_ALIASES = {"int": "integer"}
#: Whole-number bases and the range of the JVM type each stands for.
_INTEGER_RANGES = {
    "byte": (-(1 << 7), (1 << 7) - 1),
    "short": (-(1 << 15), (1 << 15) - 1),
    "integer": (-(1 << 31), (1 << 31) - 1),
    "long": (-(1 << 63), (1 << 63) - 1),
}


def parse_type(spec: Any, field: str) -> DataType:
    if isinstance(spec, str):
        if spec not in SCALAR_BASES:
            raise ScoringError(f"LeapFrame field {field!r}: unknown type {brief(spec)}")
        return DataType(spec)
    if not isinstance(spec, dict):
        raise ScoringError(f"LeapFrame field {field!r}: malformed type {brief(spec)}")
    kind, base = spec.get("type"), spec.get("base")
    base = _LIST_BASE_ALIASES.get(base, base) if isinstance(base, str) else None
    nullable = spec.get("isNullable", True)
    if not isinstance(nullable, bool):
        raise ScoringError(f"LeapFrame field {field!r}: isNullable must be true or false, found {brief(nullable)}")
    if kind == "basic" and base in SCALAR_BASES:
        return DataType(base, nullable=nullable)
    if kind == "tensor" and base in NUMERIC_BASES:
        dims = spec.get("dimensions")
        if dims is not None:
            if not isinstance(dims, list):
                raise ScoringError(f"LeapFrame field {field!r}: tensor dimensions must be a list, found {brief(dims)}")
            try:
                dims = tuple(whole_number(d) for d in dims)
            except ValueError as exc:
                raise ScoringError(f"LeapFrame field {field!r}: tensor dimensions: {exc}") from None
        return DataType("double", "tensor", dims, nullable)
    if kind == "list" and base in SCALAR_BASES:
        return DataType(base, "list", nullable=nullable)
    raise ScoringError(f"LeapFrame field {field!r}: unsupported type {brief(spec)}")


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


def frame_from_json(document: Any, on_invalid: str = "raise", max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> Frame:
    """Parse a LeapFrame JSON document into a :class:`Frame`.

    Every cell is checked against its field's type (a string in a double column, a null in a
    non-nullable column, a sparse index outside the tensor are errors naming the row and field),
    and numeric columns are sized against ``max_batch_bytes`` before they are allocated.
    """
    schema = document.get("schema") if isinstance(document, dict) else None
    fields = schema.get("fields") if isinstance(schema, dict) else None
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(fields, list) or not isinstance(rows, list):
        raise ScoringError("LeapFrame JSON must be an object with a 'schema.fields' list and a 'rows' list")
    budget = _Budget(max_batch_bytes, len(rows))
    frame = Frame(len(rows), on_invalid)
    for position, field in enumerate(fields):
        name = field.get("name") if isinstance(field, dict) else None
        if not isinstance(name, str):
            raise ScoringError(f"LeapFrame field {position}: needs a string 'name'")
        if name in frame:
            raise ScoringError(f"LeapFrame field {position}: name {name!r} appears twice (field names are unique)")
        dtype = parse_type(field.get("type"), name)
        cells = []
        for row_no, row in enumerate(rows):
            if not isinstance(row, list):
                raise ScoringError(f"LeapFrame row {row_no}: expected a JSON array, found {brief(row)}")
            if len(row) <= position:
                raise ScoringError(f"LeapFrame row {row_no}: has no value for field {name!r}")
            cells.append(row[position])
        values, nulls = _column(cells, dtype, name, budget)
        frame.add(name, values, dtype, nulls)
    return frame


class _Budget:
    """Bytes the numeric and tensor columns of one frame may take (``max_batch_bytes``)."""

    def __init__(self, limit: int, n_rows: int) -> None:
        self.limit, self.n_rows, self.used = limit, n_rows, 0

    def take(self, width: int, name: str) -> None:
        size = 8 * self.n_rows * max(width, 1)
        if self.used + size > self.limit:
            raise ScoringError(
                f"LeapFrame field {name!r}: {self.n_rows} rows of {width} values take {format_bytes(size)}, more than "
                f"the {format_bytes(self.limit - self.used)} left of the batch memory budget (max_batch_bytes)"
            )
        self.used += size


def _column(cells: List[Any], dtype: DataType, name: str, budget: _Budget):
    nulls = np.fromiter((cell is None for cell in cells), dtype=bool, count=len(cells))
    if nulls.any() and not dtype.nullable:
        row = int(np.flatnonzero(nulls)[0])
        raise ScoringError(
            f"LeapFrame row {row}, field {name!r}: null in a non-nullable {dtype} column (MLeap's JVM would read "
            "a double null as NaN; write the NaN as NaN, or declare the field nullable)"
        )
    if dtype.shape == "scalar":
        check = _SCALAR_CHECKS[dtype.base if dtype.base in _SCALAR_CHECKS else "string"]
        for row, cell in enumerate(cells):
            if cell is not None:
                check(cell, dtype.base, row, name)
        if dtype.base in NUMERIC_BASES:
            budget.take(1, name)
            values = np.array([math.nan if cell is None else cell for cell in cells], dtype=np.float64)
            return values, (nulls if dtype.nullable else None)
        return np.array(cells, dtype=object), None
    if dtype.shape == "list":
        for row, cell in enumerate(cells):
            if cell is not None:
                _check_list(cell, dtype.base, row, name)
        values = np.empty(len(cells), dtype=object)
        values[:] = cells
        return values, None
    return _tensor_column(cells, dtype, name, budget, nulls)


def _tensor_column(cells: List[Any], dtype: DataType, name: str, budget: _Budget, nulls: np.ndarray):
    """Dense ``(rows, size)`` values of a tensor column; each cell's size is checked before anything
    of that size is allocated."""
    shapes = [None if cell is None else _tensor_size(cell, row, name) for row, cell in enumerate(cells)]
    sizes = {size for size in shapes if size is not None}
    if len(sizes) > 1:
        raise ScoringError(f"LeapFrame field {name!r}: tensors differ in size ({', '.join(map(str, sorted(sizes)))})")
    width = sizes.pop() if sizes else (dtype.size or 0)
    budget.take(width, name)
    values = np.zeros((len(cells), width))
    for row, cell in enumerate(cells):
        if cell is None:
            values[row] = math.nan
        else:
            _fill_tensor(values[row], cell, row, name)
    return values, nulls


def _tensor_size(cell: Any, row: int, name: str) -> int:
    where = f"LeapFrame row {row}, field {name!r}"
    if not isinstance(cell, dict) or not isinstance(cell.get("values"), list):
        raise ScoringError(f"{where}: expected a tensor object with 'values' and 'dimensions', found {brief(cell)}")
    dims = cell.get("dimensions")
    if not isinstance(dims, list):
        raise ScoringError(f"{where}: a tensor needs a 'dimensions' list, found {brief(dims)}")
    try:
        dims = [whole_number(d) for d in dims]
    except ValueError as exc:
        raise ScoringError(f"{where}: tensor dimensions: {exc}") from None
    if any(d < 0 for d in dims):
        raise ScoringError(f"{where}: tensor dimensions {dims} include a negative one")
    size = math.prod(dims)
    if "indices" not in cell and len(cell["values"]) != size:
        raise ScoringError(f"{where}: dense tensor of dimensions {dims} has {len(cell['values'])} values, not {size}")
    return size


def _fill_tensor(out: np.ndarray, cell: Dict[str, Any], row: int, name: str) -> None:
    where = f"LeapFrame row {row}, field {name!r}"
    values = []
    for value in cell["values"]:
        if value is not None:
            _check_number(value, "double", row, name)
        values.append(math.nan if value is None else value)
    if "indices" not in cell:
        out[:] = values
        return
    dims = [int(d) for d in cell["dimensions"]]
    indices = cell["indices"]
    if not isinstance(indices, list) or len(indices) != len(values):
        raise ScoringError(f"{where}: a sparse tensor needs one index per value ({len(values)} values)")
    seen = set()
    for index, value in zip(indices, values):
        if not isinstance(index, list) or len(index) != len(dims):
            raise ScoringError(f"{where}: sparse index {brief(index)} does not have {len(dims)} coordinates")
        flat = 0
        for coordinate, size in zip(index, dims):
            if isinstance(coordinate, bool) or not isinstance(coordinate, int) or not 0 <= coordinate < size:
                raise ScoringError(f"{where}: sparse index {brief(index)} is outside the dimensions {dims}")
            flat = flat * size + coordinate
        if flat in seen:
            raise ScoringError(f"{where}: sparse index {brief(index)} appears twice")
        seen.add(flat)
        out[flat] = value


def _check_number(cell: Any, base: str, row: int, name: str) -> None:
    if isinstance(cell, bool) or not isinstance(cell, (int, float)):
        raise ScoringError(f"LeapFrame row {row}, field {name!r} ({base}): expected a number, found {brief(cell)}")
    if isinstance(cell, int) and not -(1 << 1023) < cell < (1 << 1024):
        raise ScoringError(f"LeapFrame row {row}, field {name!r} ({base}): number {brief(cell)} is out of range")


def _check_integer(cell: Any, base: str, row: int, name: str) -> None:
    _check_number(cell, base, row, name)
    low, high = _INTEGER_RANGES[base]
    if (isinstance(cell, float) and not cell.is_integer()) or not low <= cell <= high:
        raise ScoringError(
            f"LeapFrame row {row}, field {name!r} ({base}): expected a whole number from {low} to {high}, "
            f"found {brief(cell)}"
        )


def _check_type(expected: type, label: str) -> Callable[[Any, str, int, str], None]:
    def check(cell: Any, base: str, row: int, name: str) -> None:
        if not isinstance(cell, expected) or (expected is not bool and isinstance(cell, bool)):
            raise ScoringError(f"LeapFrame row {row}, field {name!r} ({base}): expected {label}, found {brief(cell)}")

    return check


_SCALAR_CHECKS: Dict[str, Callable[[Any, str, int, str], None]] = {
    "double": _check_number,
    "float": _check_number,
    **{base: _check_integer for base in _INTEGER_RANGES},
    "boolean": _check_type(bool, "true or false"),
    "string": _check_type(str, "a string"),
    "byte_string": _check_type(str, "a base64 string"),
}


def _check_list(cell: Any, base: str, row: int, name: str) -> None:
    if not isinstance(cell, list):
        raise ScoringError(
            f"LeapFrame row {row}, field {name!r} (list<{base}>): expected a JSON array, found {brief(cell)}"
        )
    check = _SCALAR_CHECKS.get(base, _SCALAR_CHECKS["string"])
    for item in cell:
        if item is None:
            if base not in ("double", "float"):
                raise ScoringError(f"LeapFrame row {row}, field {name!r} (list<{base}>): a list element is null")
            continue
        check(item, base, row, name)


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
