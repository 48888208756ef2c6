"""How a config entry's SQL function maps onto its bundle: which bundle input each SQL argument
feeds, which outputs form the result, and the SQL types of both.

Kept free of PyFlink so that it can be checked (and explained in errors) on any machine; the UDF
turns the type names into PyFlink ``DataTypes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.mleap import Model
from flink_ml_udf.mleap.ops import Column
from flink_ml_udf.mleap.types import DataType

#: SQL type names a ``result_type`` override may use, for a single-column result.
RESULT_TYPES = ("DOUBLE", "FLOAT", "INT", "BIGINT", "STRING", "BOOLEAN")


def sql_type_name(dtype: DataType) -> str:
    """The SQL type of a bundle column: numeric scalars are DOUBLE (INT for integer outputs such
    as cluster ids), strings STRING, vectors ARRAY<DOUBLE>."""
    if dtype.shape == "scalar":
        if dtype.base == "string":
            return "STRING"
        if dtype.base == "boolean":
            return "BOOLEAN"
        if dtype.base in ("integer", "int", "short", "byte"):
            return "INT"
        if dtype.base == "long":
            return "BIGINT"
        return "DOUBLE"
    if dtype.base == "string":
        return "ARRAY<STRING>"
    return "ARRAY<DOUBLE>"


@dataclass(frozen=True)
class Signature:
    """Arguments (bundle input columns, in SQL argument order) and results (bundle output columns)."""

    arguments: Tuple[Column, ...]
    results: Tuple[Column, ...]
    result_type_override: Optional[str] = None

    @property
    def argument_types(self) -> Tuple[str, ...]:
        return tuple(sql_type_name(c.dtype) for c in self.arguments)

    @property
    def is_row(self) -> bool:
        return len(self.results) > 1

    @property
    def result_types(self) -> Tuple[str, ...]:
        if self.result_type_override is not None:
            return (self.result_type_override,)
        return tuple(sql_type_name(c.dtype) for c in self.results)

    def describe(self, name: str) -> str:
        """``Predict(feature1 DOUBLE, ...) -> DOUBLE``: the SQL-facing shape of the function."""
        arguments = ", ".join(f"{c.name} {t}" for c, t in zip(self.arguments, self.argument_types))
        if self.is_row:
            fields = ", ".join(f"{c.name} {t}" for c, t in zip(self.results, self.result_types))
            return f"{name}({arguments}) -> ROW<{fields}>"
        return f"{name}({arguments}) -> {self.result_types[0]}"


def derive_signature(entry: UdfEntry, model: Model) -> Signature:
    """Match the entry's ``inputs``/``outputs`` (or the bundle's defaults) against the bundle."""
    where = f"{entry.label} → bundle {entry.bundle_path}"
    if entry.inputs is None:
        arguments = tuple(model.input_schema)
    else:
        arguments = _pick(entry.inputs, model.input_schema, f"{where} → key 'inputs'", "input")
        missing = [c.name for c in model.input_schema if c.name not in entry.inputs]
        if missing:
            raise ConfigError(
                f"{where} → key 'inputs': the bundle also needs {', '.join(map(repr, missing))}; "
                f"list every input column in SQL argument order"
            )
        if len(set(entry.inputs)) != len(entry.inputs):
            raise ConfigError(f"{where} → key 'inputs': a column is listed twice")
    if entry.outputs is None:
        results = (model.prediction_column,)
    else:
        results = _pick(entry.outputs, model.output_schema, f"{where} → key 'outputs'", "output")

    override = None
    if entry.result_type is not None:
        override = entry.result_type.strip().upper()
        if len(results) > 1:
            raise ConfigError(f"{where} → key 'result_type': only a single-column result can be overridden")
        if override not in RESULT_TYPES:
            raise ConfigError(
                f"{where} → key 'result_type': {entry.result_type!r} is not one of {', '.join(RESULT_TYPES)}"
            )
    return Signature(arguments, results, override)


def _pick(names: Tuple[str, ...], columns: List[Column], where: str, side: str) -> Tuple[Column, ...]:
    """The bundle columns called ``names``, in that order; unknown names are an error listing the choices."""
    available = {c.name: c for c in columns}
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(map(repr, unknown))} not among the bundle's {side} columns ({', '.join(available)})"
        )
    return tuple(available[name] for name in names)
