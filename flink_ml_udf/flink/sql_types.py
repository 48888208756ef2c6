"""The SQL types a UDF takes and returns: one table, one row per type.

Each row says everything the project knows about its type: its name in signatures and config
(``result_type``, ``split_key_type``), its PyFlink table type (the UDF's input and result types) and
DataStream type (the map function's output type), which bundle columns get it, the pandas dtype of
a result Series handed to the Arrow bridge, and the Python value of a DataStream element. Adding a
SQL type (``ARRAY<FLOAT>``, ``SMALLINT``) is one more row here; :mod:`signature`, :mod:`scoring`,
:mod:`udf`, :mod:`router` and :mod:`datastream` all read this table, as MLflow's ``DataType`` enum
owns each type's Spark and pandas mapping.

PyFlink is imported only when a PyFlink type is asked for (as MLflow's ``DataType.to_spark`` imports
pyspark), so that :mod:`signature` and :mod:`scoring`, which read the rest of the table, stay free
of it: the CLI's ``inspect`` explains signatures on machines without a JVM (``tests/test_layout.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pandas as pd

from flink_ml_udf.mleap.types import DataType


@dataclass(frozen=True)
class SqlType:
    """One SQL type (see the module docstring); an ``ARRAY<...>`` row names its ``element`` row."""

    name: str
    #: the factory of its ``pyflink.table.DataTypes`` type (``ARRAY`` takes the element's type)
    table_type: str
    #: the factory of its ``pyflink.common.Types`` type, a DataStream's (arrays take the element's)
    stream_type: str
    #: the pandas dtype of a result Series of this type (what the Arrow bridge reads back)
    pandas_dtype: str
    #: the Python type of a DataStream element's value (an array's: of each element)
    python: Callable[[Any], Any]
    #: MLeap base types whose bundle columns have this SQL type: scalars for a scalar row, lists and
    #: tensors for an array row. The first one is how a SQL argument of this type enters a frame.
    frame_bases: Tuple[str, ...] = ()
    #: whether a ``result_type`` override may name it (a single-column scalar result)
    overrides: bool = False
    element: Optional[str] = None

    @property
    def is_array(self) -> bool:
        return self.element is not None

    @property
    def pandas_extension(self) -> bool:
        """Whether its results have one of pandas' nullable extension dtypes (see :meth:`bridged`)."""
        return self.pandas_dtype not in ("float64", "object")

    @property
    def element_type(self) -> "SqlType":
        return sql_type(self.element)

    @property
    def frame_type(self) -> Optional[DataType]:
        """The MLeap type of a frame column holding SQL values of this type (None: only a result type)."""
        if not self.frame_bases:
            return None
        return DataType(self.frame_bases[0], "list" if self.is_array else "scalar")

    def flink_type(self):
        """Its ``pyflink.table.types.DataType``: the UDF's input and result types."""
        from pyflink.table import DataTypes

        factory = getattr(DataTypes, self.table_type)
        return factory(self.element_type.flink_type()) if self.is_array else factory()

    def type_information(self):
        """Its ``pyflink.common.typeinfo.TypeInformation``: a DataStream's element type."""
        from pyflink.common import Types

        factory = getattr(Types, self.stream_type)
        return factory(self.element_type.type_information()) if self.is_array else factory()

    def result(self, values: np.ndarray, nulled: np.ndarray) -> pd.Series:
        """An output column of a scored frame as the pandas Series Flink expects: ``pandas_dtype``,
        NULL where ``nulled``."""
        if self.is_array:
            # A vector column is a 2-D array (one row per element); a list column already holds lists.
            rows = list(values) if values.dtype == object else list(np.asarray(values, dtype=np.float64))
            out = pd.Series(rows, dtype=object)
            out[nulled] = None
            return out
        if self.pandas_dtype == "float64":
            out = np.asarray(values, dtype=np.float64)
            if nulled.any():
                out = out.copy()
                out[nulled] = np.nan  # the Arrow bridge turns NaN into NULL
            return pd.Series(out, copy=False)
        if self.pandas_dtype == "object":
            out = pd.Series(_strings(values), dtype=object)
            out[nulled] = None
            return out
        if self.pandas_dtype == "boolean":
            out = pd.Series(np.asarray(values).astype(bool), dtype="boolean")
        else:  # a nullable integer: a long output as it is (exact past 2**53), anything else rounded
            numbers = np.asarray(values)
            if numbers.dtype.kind not in "iu":
                numbers = np.asarray(values, dtype=np.float64).round()
            out = pd.Series(numbers).astype(self.pandas_dtype)
        out[nulled] = pd.NA
        return out

    def bridged(self, series: pd.Series) -> pd.Series:
        """A result Series as PyFlink's Arrow serializer takes it. It passes a null mask to
        ``pa.Array.from_pandas``, which pyarrow refuses beside pandas' nullable dtypes (``Int32``,
        ``Int64``, ``boolean``: "Cannot specify a mask ... __arrow_array__ protocol"), so those go as
        plain numpy values, or as Python objects with None where a row is NULL."""
        if not self.pandas_extension:
            return series
        if series.isna().any():
            return pd.Series(series.to_numpy(dtype=object, na_value=None), index=series.index, name=series.name)
        return pd.Series(series.to_numpy(dtype=series.dtype.numpy_dtype), index=series.index, name=series.name)

    def typed(self, series: pd.Series) -> pd.Series:
        """A result Series gathered as Python objects (rows from several models) back to ``pandas_dtype``."""
        if self.pandas_dtype == "float64":
            return pd.to_numeric(series, errors="coerce").astype(np.float64)
        if self.pandas_dtype == "object":
            return series
        return series.astype(self.pandas_dtype)

    def python_value(self, value: Any) -> Any:
        """A non-NULL result cell as the plain Python value Flink's DataStream coders take."""
        if self.is_array:
            return [self.element_type.python(v) for v in value]
        return self.python(value)


#: Every SQL type, in the order ``result_type`` errors list them.
SQL_TYPES: Tuple[SqlType, ...] = (
    SqlType("DOUBLE", "DOUBLE", "DOUBLE", "float64", float, ("double", "float"), overrides=True),
    SqlType("FLOAT", "FLOAT", "FLOAT", "float64", float, overrides=True),
    SqlType("INT", "INT", "INT", "Int32", int, ("integer", "int", "short", "byte"), overrides=True),
    SqlType("BIGINT", "BIGINT", "LONG", "Int64", int, ("long",), overrides=True),
    SqlType("STRING", "STRING", "STRING", "object", str, ("string",), overrides=True),
    SqlType("BOOLEAN", "BOOLEAN", "BOOLEAN", "boolean", bool, ("boolean",), overrides=True),
    SqlType("ARRAY<DOUBLE>", "ARRAY", "PRIMITIVE_ARRAY", "object", list, ("double",), element="DOUBLE"),
    SqlType("ARRAY<STRING>", "ARRAY", "BASIC_ARRAY", "object", list, ("string",), element="STRING"),
)

_BY_NAME: Dict[str, SqlType] = {row.name: row for row in SQL_TYPES}
#: A bundle column of a base no row lists (a ``byte_string``, a ``map``) keeps the type it always had.
_SCALAR_FALLBACK, _ARRAY_FALLBACK = _BY_NAME["DOUBLE"], _BY_NAME["ARRAY<DOUBLE>"]
_SCALARS = {base: row for row in SQL_TYPES if not row.is_array for base in row.frame_bases}
_ARRAYS = {base: row for row in SQL_TYPES if row.is_array for base in row.frame_bases}

#: SQL type names a ``result_type`` override may use, for a single-column result.
RESULT_TYPES: Tuple[str, ...] = tuple(row.name for row in SQL_TYPES if row.overrides)


def sql_type(name: str) -> SqlType:
    """The row of a SQL type name (as signatures and config spell it)."""
    return _BY_NAME[name]


def column_sql_type(dtype: DataType) -> SqlType:
    """The SQL type of a bundle column: numeric scalars DOUBLE (INT for integer outputs such as
    cluster ids, BIGINT for longs), strings STRING, lists and tensors ARRAY<DOUBLE> (of strings:
    ARRAY<STRING>)."""
    if dtype.shape == "scalar":
        return _SCALARS.get(dtype.base, _SCALAR_FALLBACK)
    return _ARRAYS.get(dtype.base, _ARRAY_FALLBACK)


def flink_type(name: str):
    """The PyFlink table type of a SQL type name."""
    return sql_type(name).flink_type()


def _strings(values: np.ndarray) -> np.ndarray:
    """A STRING result: whole numbers without a trailing ``.0`` (a label index read as a string)."""
    if values.dtype == object:
        return values
    if np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values)):
        return values.astype(np.int64).astype(str).astype(object)
    return values.astype(str).astype(object)
