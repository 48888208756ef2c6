"""Scoring a PyFlink ``DataStream``: the map function flink-mleap users know, and the vectorized path.

Both serve a config entry exactly as the SQL UDF does: the serving plan is resolved on the client
(bundles loaded and checked, versions pinned, :func:`~flink_ml_udf.flink.router.serving_plan`), and
each worker loads its models in ``open()`` into model slots with their update sources (``reload``,
``control``), router (variants, shadow) and metrics (``flink_ml_udf`` → ``udf=<name>``): the map
function runs the SQL UDF's own :class:`~flink_ml_udf.flink.udf.BundleFunction` inside it.

**Which one.** :class:`BundleMapFunction` makes one Python call per element: simple, and the result
stays next to whatever else the job does with the element, but every element pays PyFlink's
per-element bridge and a one-row pass through pandas and the scorer (0.16–0.34 ms here; measured with
``bench/datastream_bench.py``: 3,000–6,000 elements/s per worker, where a Python identity map does
50,000–120,000). Use it for low rates or when the map sits among other per-element Python functions.
:func:`score_stream` goes through the Table API (``from_data_stream`` → the registered pandas UDF →
``to_data_stream``): rows cross the bridge as Arrow batches and the model scores whole batches, over
a hundred times more rows per second (``bench/RESULTS.md``), at the price of a batch of latency
(``python.fn-execution.bundle.time``, 1 s by default here) and of Row-typed streams. Prefer it for
throughput.

Elements of the map function (the SQL arguments, in order: the split key first for an A/B entry):

- a number, for a function of one argument (flink-mleap's ``Double => Double``);
- a tuple, list or ``Row`` of the arguments (a Row with fields named as the arguments is read by
  name, any other by position); for a bundle whose only input is a tensor of
  size N (``inputs_mode: scalars``) that is N numbers, or one sequence of N numbers;
- a dict keyed by argument name; the tensor of a packed bundle by its bundle name
  (``{"x": [0.5]}``), the split key by its name. Other keys are ignored.

The result is the prediction (a Python scalar), or a named ``Row`` of the configured ``outputs``; with
``on_error: null`` always a Row, whose fields may be NULL (None) for a row that could not be scored:
Flink's basic types (``Types.DOUBLE()``, ...) cannot carry a NULL.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import pandas as pd
from pyflink.common import Row, Types
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream, MapFunction, RuntimeContext
from pyflink.table import StreamTableEnvironment
from pyflink.table.expressions import call, col

from flink_ml_udf.config import AppConfig, UdfEntry, load_config
from flink_ml_udf.errors import ConfigError, ScoringError
from flink_ml_udf.flink.registry import RegisteredUdf
from flink_ml_udf.flink.router import ServingPlan, serving_plan
from flink_ml_udf.flink.scoring import Result
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.flink.sql_types import SqlType, sql_type
from flink_ml_udf.flink.udf import BundleFunction

_element_repr = reprlib.Repr()
_element_repr.maxstring = _element_repr.maxother = 60


class _FunctionContext:
    """What :meth:`BundleFunction.open` reads of a table ``FunctionContext``, from a DataStream
    ``RuntimeContext``: the metric group."""

    def __init__(self, runtime_context: RuntimeContext) -> None:
        self._runtime_context = runtime_context

    def get_metric_group(self):
        return self._runtime_context.get_metrics_group()


class BundleMapFunction(MapFunction):
    """Maps each element to its prediction (see the module docstring for elements and results)::

        predict = BundleMapFunction("Predictv2", "conf/application.yaml")
        env.from_collection([0.2, 0.7], Types.DOUBLE()).map(predict, output_type=predict.output_type).print()

    Built on the client: the entry's bundles are loaded and checked and their versions resolved
    there, as at SQL registration, so a bad entry fails before the job is submitted. Workers load
    the models in ``open()``; pinned versions hold on every worker, ``reload``/``control`` entries
    follow updates between elements.
    """

    def __init__(self, udf_name: str, config: Union[str, AppConfig]) -> None:
        config = load_config(config) if isinstance(config, str) else config
        self._serve(serving_plan(config.entry(udf_name)))

    @classmethod
    def from_entry(cls, entry: UdfEntry) -> "BundleMapFunction":
        """For a config entry at hand (``load_config(path).entry(name)``, or one built in code)."""
        function = cls.__new__(cls)
        function._serve(serving_plan(entry))
        return function

    def _serve(self, plan: ServingPlan) -> None:
        self.plan = plan
        self._function = BundleFunction(plan)  # the SQL UDF's serving: slots, updates, router, metrics

    @property
    def signature(self) -> Signature:
        return self.plan.signature

    @property
    def rows(self) -> bool:
        """Whether elements are Rows: several outputs, or ``on_error: null`` (Flink's basic types
        cannot hold a NULL; a Row field can)."""
        return self.signature.is_row or self.plan.entry.on_error == "null"

    @property
    def output_type(self) -> TypeInformation:
        """The type of the mapped stream: the prediction's, or a named Row of the outputs."""
        types = [sql_type(t).type_information() for t in self.signature.result_types]
        if not self.rows:
            return types[0]
        return Types.ROW_NAMED([c.name for c in self.signature.results], types)

    def open(self, runtime_context: RuntimeContext) -> None:
        self._function.open(_FunctionContext(runtime_context))

    def map(self, value: Any) -> Any:
        udf_name = self.plan.entry.udf_name
        element = result_element(
            self._function.eval(*element_arguments(value, self.signature, udf_name)), self.signature, self.rows
        )
        if element is None:  # a row an op filtered (handle_invalid: skip) under on_error: fail
            raise ScoringError(
                f"UDF '{udf_name}' → element {_element_repr.repr(value)}: the bundle gave no value for it (an op with "
                f"handle_invalid: skip), and a {self.signature.result_types[0]} element cannot be NULL; "
                "set on_error: null to map elements to Rows, whose fields can be NULL"
            )
        return element

    def close(self) -> None:
        self._function.close()


def element_arguments(value: Any, signature: Signature, udf_name: str) -> List[pd.Series]:
    """One element as the UDF's arguments: one-row Series, typed as the pandas bridge types them."""
    where = f"UDF '{udf_name}' → element {_element_repr.repr(value)}"
    values = _values(value, signature, where)
    types = [sql_type(t) for t in signature.argument_types]
    return [_series(v, c.name, t, where) for v, c, t in zip(values, signature.arguments, types)]


def _values(value: Any, signature: Signature, where: str) -> List[Any]:
    if isinstance(value, Row) and set(_names(signature)) <= set(getattr(value, "_fields", None) or ()):
        value = value.as_dict()  # a Row with the argument names: by name (else by position: Types.ROW's f0, f1, ...)
    if isinstance(value, dict):
        return _from_mapping(value, signature, where)
    if isinstance(value, Row):
        value = list(value)
    if isinstance(value, (numbers.Number, str)) or value is None:
        value = [value]
    if not _is_sequence(value):
        raise ScoringError(f"{where}: expected a number, a tuple, a Row or a dict, found {type(value).__name__}")
    value = list(value)
    packed_at = 1 if signature.split_key is not None else 0
    if signature.packed is not None and len(value) == packed_at + 1 and _is_sequence(value[packed_at]):
        value = value[:packed_at] + list(value[packed_at])  # the tensor as one sequence
    if len(value) != len(signature.arguments):
        raise ScoringError(f"{where}: {len(value)} values, but it {signature.explain_arguments()}")
    return value


def _names(signature: Signature) -> List[str]:
    """The keys a dict element gives the arguments by: their names, a packed tensor's by its bundle name."""
    if signature.packed is None:
        return [c.name for c in signature.arguments]
    return ([signature.split_key] if signature.split_key is not None else []) + [signature.packed.name]


def _from_mapping(value: dict, signature: Signature, where: str) -> List[Any]:
    names = _names(signature)
    missing = [name for name in names if name not in value]
    if missing:
        raise ScoringError(
            f"{where}: no {', '.join(map(repr, missing))} among its keys ({', '.join(map(str, value))}); "
            f"it {signature.explain_arguments()}"
        )
    values = [value[name] for name in names]
    if signature.packed is None:
        return values
    elements = values.pop()
    elements = list(elements) if _is_sequence(elements) else [elements]
    size = len(signature.bundle_arguments)
    if len(elements) != size:
        raise ScoringError(
            f"{where}: {signature.packed.name!r} has {len(elements)} values, but the bundle's tensor input "
            f"{signature.packed.name!r} has size {size}"
        )
    return values + elements


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _series(value: Any, name: str, row: SqlType, where: str) -> pd.Series:
    if row.python in (float, int):
        if value is None:
            return pd.Series([np.nan])
        integral = row.python is int
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not number or (integral and not float(value).is_integer()):
            kind = "a whole number" if integral else "a number"
            raise ScoringError(f"{where} → argument {name!r}: expected {kind}, found {_element_repr.repr(value)}")
        return pd.Series([value], dtype=np.int64 if integral else np.float64)
    if row.python is bool:
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise ScoringError(
                f"{where} → argument {name!r}: expected true or false, found {_element_repr.repr(value)}"
            )
        return pd.Series([value], dtype=object)
    if row.is_array:
        dtype = np.float64 if row.element_type.python is float else object
        return pd.Series([None if value is None else np.asarray(value, dtype=dtype)], dtype=object)
    if value is not None and not isinstance(value, str):
        raise ScoringError(f"{where} → argument {name!r}: expected a string, found {_element_repr.repr(value)}")
    return pd.Series([value], dtype=object)


def result_element(result: Result, signature: Signature, as_row: bool = False) -> Any:
    """The first (only) row of a UDF result as a DataStream element: a value, or a named Row of the
    results (always for several, on request for one)."""
    if not (signature.is_row or as_row):
        return _python(result.iloc[0], signature.result_types[0])
    cells = [result.iloc[0]] if not signature.is_row else [result.iloc[0, i] for i in range(len(signature.results))]
    row = Row(*[_python(cell, name) for cell, name in zip(cells, signature.result_types)])
    row.set_field_names([c.name for c in signature.results])
    return row


def _python(value: Any, sql_type_name: str) -> Any:
    """A pandas cell as the plain Python value Flink's coders take; NULL as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return sql_type(sql_type_name).python_value(value)


def score_stream(
    t_env: StreamTableEnvironment,
    stream: DataStream,
    udf: RegisteredUdf,
    arguments: Optional[Sequence[str]] = None,
    result: Optional[str] = None,
) -> DataStream:
    """The vectorized path: ``stream``'s rows with the UDF's result appended as column ``result``
    (default: the result column's name for one output, ``scored`` for a Row of several), scored in
    Arrow batches by the UDF ``register_from_config(config, t_env)`` registered (``udf`` is its entry
    in the returned dict)::

        registered = register_from_config("conf/application.yaml", t_env)
        scored = score_stream(t_env, features, registered["Predict"])

    ``arguments`` names the stream's columns that feed the UDF, in order; by default the UDF's own
    argument names if the stream has them all, else every column of the stream if their number fits.
    Within a partition the rows keep their order. See the module docstring for when to prefer
    :class:`BundleMapFunction`.
    """
    table = t_env.from_data_stream(stream)
    columns = list(table.get_resolved_schema().get_column_names())
    name = udf.entry.udf_name
    chosen = _argument_columns(udf.signature, columns, arguments, name)
    if result is None:
        result = "scored" if udf.signature.is_row else udf.signature.results[0].name
    if result in columns:
        raise ConfigError(f"UDF '{name}': the stream already has a column {result!r}; name the result apart")
    scored = table.add_columns(call(name, *[col(c) for c in chosen]).alias(result))
    return t_env.to_data_stream(scored)


def _argument_columns(
    signature: Signature, columns: Sequence[str], arguments: Optional[Sequence[str]], name: str
) -> List[str]:
    if arguments is not None:
        unknown = [a for a in arguments if a not in columns]
        if unknown:
            raise ConfigError(
                f"UDF '{name}': no column {', '.join(map(repr, unknown))} in the stream ({', '.join(columns)})"
            )
        chosen = list(arguments)
    elif all(c.name in columns for c in signature.arguments):
        chosen = [c.name for c in signature.arguments]
    elif len(columns) == len(signature.arguments):
        chosen = list(columns)
    else:
        raise ConfigError(
            f"UDF '{name}' {signature.explain_arguments()}; name the stream's columns that feed it with "
            f"arguments=[...] (the stream has {', '.join(columns)})"
        )
    if len(chosen) != len(signature.arguments):
        raise ConfigError(
            f"UDF '{name}' {signature.explain_arguments()}; arguments names {len(chosen)} columns ({', '.join(chosen)})"
        )
    return chosen
