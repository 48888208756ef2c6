"""Ops between labels and numbers: ``string_map``, ``regex_indexer``, ``reverse_string_indexer``,
``multinomial_labeler``, ``map_entry_selector``."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.text import java_strings
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.ops.java_text import JavaRegexError, java_regex
from flink_ml_udf.mleap.ops.text import STRING_LIST, object_column, read_strings
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, STRING, DataType, vector

INTEGER_NOT_NULL = DataType("integer", nullable=False)
DOUBLE_LIST = DataType("double", "list")


def _labels_as_strings(op: Op, frame: Frame, column: str) -> np.ndarray:
    """A string column as an object array (``None`` for null); a numeric column cast as MLeap casts
    it (Java ``toString``)."""
    values = frame.get(column, op.who)
    if values.dtype == object:
        return values
    return java_strings(values, frame.type_of(column).base, frame.null_mask(column))


@register("string_map")
class StringMap(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        labels = attrs.string_list("labels")
        values = attrs.double_list("values")
        if len(labels) != len(values):
            raise attrs.error("values", f"has {len(values)} values for {len(labels)} labels")
        self.handle_invalid = attrs.string("handle_invalid", "error")
        if self.handle_invalid not in ("error", "keep"):
            raise attrs.error("handle_invalid", f"{self.handle_invalid!r} is not one of error, keep")
        self.default_value = attrs.double("default_value", 0.0)
        lookup = dict(zip(labels, values.tolist()))  # duplicate labels: the last value wins
        self.index = pd.Index(list(lookup), dtype=object)
        self.values = np.array(list(lookup.values()), dtype=np.float64)
        self.bind(spec, STRING, DOUBLE_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        source = self.inputs[0].name
        labels = _labels_as_strings(self, frame, source)
        positions = self.index.get_indexer(labels) if len(labels) else np.zeros(0, dtype=np.int64)
        missing = positions < 0
        found = self.values[np.maximum(positions, 0)] if len(self.values) else np.zeros(len(labels))
        result = np.where(missing, self.default_value, found)
        if self.handle_invalid == "error":
            nulls = frame.require_non_null(source, self.who)
            frame.reject(
                missing & ~nulls,
                f"{self.who}: unseen label in column {source!r} (handle_invalid is 'error'; "
                "'keep' maps it to default_value)",
            )
        frame.add(self.outputs[0].name, result, self.outputs[0].dtype)


@register("regex_indexer")
class RegexIndexer(Op):
    """The index of the first regex found anywhere in the value (Java ``find``), else the default."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        regexes = attrs.string_list("regexes")
        indices = attrs.long_list("indices")
        if len(regexes) != len(indices):
            raise attrs.error("indices", f"has {len(indices)} values for {len(regexes)} regexes")
        try:
            self.patterns = [java_regex(r) for r in regexes]
        except JavaRegexError as exc:
            raise attrs.error("regexes", str(exc)) from None
        self.indices = indices
        self.default: Optional[int] = attrs.long("default_value", None)
        self.bind(spec, STRING, INTEGER_NOT_NULL)

    def transform(self, frame: Frame) -> None:
        source = self.inputs[0].name
        texts = read_strings(self, frame, source)
        result = np.full(frame.n_rows, -1, dtype=np.int64)
        pending = np.ones(frame.n_rows, dtype=bool)
        for pattern, index in zip(self.patterns, self.indices):
            rows = np.flatnonzero(pending)
            if not rows.size:
                break
            # Regex search per row: no vectorized form.
            hits = rows[np.fromiter((pattern.search(texts[i]) is not None for i in rows), dtype=bool, count=rows.size)]
            result[hits] = index
            pending[hits] = False
        if self.default is not None:
            result[pending] = self.default
        else:
            frame.reject(
                pending,
                f"{self.who}: no regex matches the value in column {source!r} and there is no default_value",
            )
            result[pending] = 0
        frame.add(self.outputs[0].name, result, self.outputs[0].dtype)


@register("reverse_string_indexer")
class ReverseStringIndexer(Op):
    """Index → label, for a scalar, a list of indices or a tensor of indices (``input_shape``).

    A tensor input gives a 2-D object array of labels. A dense frame cannot tell a sparse tensor's
    implicit zeros from stored ones, so every element is mapped (MLeap maps stored entries only).
    """

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.labels = np.array(attrs.string_list("labels"), dtype=object)
        shape = attrs.data_shape("input_shape", DataType("double", nullable=False))
        if shape.nullable:
            raise attrs.error("input_shape", "must not be nullable (MLeap: 'cannot take null inputs')")
        self.shape = shape.shape
        self.bind(
            spec,
            DataType("double", shape.shape, shape.dims, nullable=False),
            DataType("string", shape.shape, shape.dims),
        )

    def _lookup(self, values: np.ndarray) -> np.ndarray:
        """Labels of ``values`` (Java ``(int)`` truncation, NaN → 0); ``None`` where out of range."""
        with np.errstate(invalid="ignore"):
            index = np.trunc(np.nan_to_num(values, nan=0.0, posinf=2.0**31 - 1, neginf=-(2.0**31)))
        valid = (index >= 0) & (index < len(self.labels))
        out = np.full(values.shape, None, dtype=object)
        out[valid] = self.labels[index[valid].astype(np.int64)]
        return out

    def transform(self, frame: Frame) -> None:
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        nulls = frame.require_non_null(source, self.who)
        reason = f"{self.who}: index out of range for {len(self.labels)} labels in column {source!r}"
        if self.shape == "list":
            lists = [[] if null else list(v) for v, null in zip(values, nulls)]
            lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
            flat = np.array([x for v in lists for x in v], dtype=np.float64)
            labels = self._lookup(flat)
            bad = np.zeros(frame.n_rows, dtype=bool)
            np.logical_or.at(bad, np.repeat(np.arange(frame.n_rows), lengths), labels == None)  # noqa: E711
            frame.reject(bad, reason)
            result = object_column([part.tolist() for part in np.split(labels, np.cumsum(lengths)[:-1])])
        else:
            numeric = np.asarray(values, dtype=np.float64)
            result = self._lookup(numeric)
            bad = result == None  # noqa: E711
            frame.reject(bad.reshape(len(bad), -1).any(axis=1) & ~nulls, reason)
        frame.add(self.outputs[0].name, result, self.outputs[0].dtype)


@register("multinomial_labeler")
class MultinomialLabeler(Op):
    """Every probability at or above ``threshold`` with its label, in index order."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.threshold = attrs.double("threshold")
        self.labels = np.array(attrs.string_list("labels"), dtype=object)
        self.inputs.append(Column(spec.input("features"), vector(None)))
        self.probabilities_column = self.bind_optional_output(spec, "probabilities", DOUBLE_LIST)
        self.labels_column = self.bind_optional_output(spec, "labels", STRING_LIST)
        if self.probabilities_column is None and self.labels_column is None:
            raise spec.error("needs an output port 'probabilities' or 'labels' (or both)")

    def transform(self, frame: Frame) -> None:
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        frame.require_non_null(source, self.who)
        if values.ndim != 2:
            raise ScoringError(f"{self.who}: input column {source!r} must be a vector")
        selected = values >= self.threshold
        if self.labels_column is not None and values.shape[1] > len(self.labels):
            frame.reject(
                selected[:, len(self.labels) :].any(axis=1),
                f"{self.who}: a value at or above the threshold has no label ({len(self.labels)} labels)",
            )
        rows, columns = np.nonzero(selected)  # row-major: each row's indices ascending
        splits = np.cumsum(selected.sum(axis=1))[:-1]
        if self.probabilities_column is not None:
            parts = np.split(values[rows, columns], splits)
            frame.add(self.probabilities_column, object_column([p.tolist() for p in parts]), DOUBLE_LIST)
        if self.labels_column is not None:
            names = np.where(columns < len(self.labels), columns, 0)
            parts = np.split(self.labels[names] if len(self.labels) else np.full(len(names), None), splits)
            frame.add(self.labels_column, object_column([p.tolist() for p in parts]), STRING_LIST)


_VALUE_TYPES = {
    # value_type → (frame type, JSON key of default_value, its zero when the writer omitted it)
    "double": (DataType("double", nullable=False), "double", 0.0),
    "float": (DataType("float", nullable=False), "float", 0.0),
    "long": (DataType("long", nullable=False), "long", 0),
    "int": (DataType("integer", nullable=False), "int", 0),
    "short": (DataType("short", nullable=False), "int", 0),
    "byte": (DataType("byte", nullable=False), "int", 0),
    "boolean": (DataType("boolean", nullable=False), "boolean", False),
    "string": (STRING, "string", ""),
}


@register("map_entry_selector")
class MapEntrySelector(Op):
    """``map.get(key, default_value)``. A map column holds one Python ``dict`` per row (string keys)."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        key_type = _basic_type(attrs, "key_type")
        value_type = _basic_type(attrs, "value_type")
        if key_type != "string" or value_type not in _VALUE_TYPES:
            raise spec.error(
                f"cannot load a map_entry_selector of types {key_type}, {value_type} (keys must be strings)"
            )
        dtype, key, zero = _VALUE_TYPES[value_type]
        default = attrs.raw("default_value")
        if not isinstance(default, dict) or "type" in default:
            raise attrs.error("default_value", f"expected a scalar {value_type} value")
        self.default: Any = default.get(key, zero)
        self.numeric = dtype.is_numeric_scalar
        self.value_type = value_type
        self.inputs.append(Column(spec.input("input"), DataType(value_type, "map")))
        self.inputs.append(Column(spec.input("key"), DataType("string", nullable=False)))
        self.outputs.append(Column(spec.output("output"), dtype))

    def transform(self, frame: Frame) -> None:
        maps_column, keys_column = self.inputs[0].name, self.inputs[1].name
        maps = frame.get(maps_column, self.who)
        keys = frame.get(keys_column, self.who)
        map_nulls = frame.require_non_null(maps_column, self.who)
        key_nulls = frame.require_non_null(keys_column, self.who)
        default = self.default
        # Dictionary lookups per row: a map column has no array form.
        found: List[Any] = [
            default if (mnull or knull) else _get(self.who, maps_column, m, k, default)
            for m, k, mnull, knull in zip(maps, keys, map_nulls, key_nulls)
        ]
        if self.numeric:
            missing = np.array([v is None for v in found], dtype=bool)
            frame.reject(missing, f"{self.who}: the selected entry of column {maps_column!r} is null")
            result = np.array([0.0 if v is None else float(v) for v in found], dtype=np.float64)
        else:
            result = object_column(found)
        frame.add(self.outputs[0].name, result, self.outputs[0].dtype)


def _get(who: str, column: str, mapping: Dict[str, Any], key: str, default: Any) -> Any:
    if not isinstance(mapping, dict):
        raise ScoringError(f"{who}: input column {column!r} must hold maps (dicts), found {type(mapping).__name__}")
    return mapping.get(key, default)


def _basic_type(attrs, name: str) -> str:
    value = attrs.raw(name)
    if not isinstance(value, dict) or not isinstance(value.get("basic_type"), str):
        raise attrs.error(name, 'expected a basic_type value such as {"basic_type": "string"}')
    return value["basic_type"]
