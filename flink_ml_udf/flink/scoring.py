"""One batch of SQL arguments (pandas Series) in, one batch of results out.

This is the per-batch path of every UDF, kept free of PyFlink so it can be tested and benchmarked
without a JVM. Nulls: the pandas bridge hands a NULL DOUBLE or INT over as NaN and a NULL STRING as
None, so NaN in a numeric argument counts as NULL here. Whether a NULL can be scored is the op's
call (a ``string_indexer`` with ``handle_invalid: keep`` can); rows that cannot be scored fail the
batch (``on_error: fail``) or come out NULL and are counted (``on_error: null``). Rows an op
filters (``handle_invalid: skip``) come out NULL too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from flink_ml_udf.errors import FlinkMlUdfError, ScoringError
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.flink.sql_types import sql_type
from flink_ml_udf.mleap import Frame, Model
from flink_ml_udf.mleap.ops import Column

Result = Union[pd.Series, pd.DataFrame]


@dataclass
class BatchOutcome:
    """A scored batch: the values to hand back to Flink, and how many rows were nulled."""

    result: Result
    rejected: int
    skipped: int
    frame: Optional[Frame] = None  # the scored frame: every column the bundle computed (shadow comparison reads it)


class BatchScorer:
    """Scores batches for one UDF: built once per worker in ``open()``, called per batch."""

    def __init__(
        self,
        udf_name: str,
        model: Model,
        signature: Signature,
        on_error: str,
        constants: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.label = f"UDF '{udf_name}'"
        self.model = model
        self.signature = signature
        self.on_invalid = "mark" if on_error == "null" else "raise"
        self.constants = dict(constants or {})  # pseudo-output values: the same on every row (model_version, ...)
        missing = sorted(signature.pseudo - set(self.constants))
        if missing:
            raise ValueError(f"{self.label}: no value for pseudo-outputs {missing}")
        self._casts = [sql_type(t).result for t in signature.result_types]
        self._keep = [column.name for column in signature.results]  # a batch over budget is scored in slices

    def __call__(self, arguments: Sequence[pd.Series]) -> BatchOutcome:
        if len(arguments) != len(self.signature.arguments):
            raise ScoringError(
                f"{self.label}: called with {len(arguments)} arguments, expected {len(self.signature.arguments)} "
                f"({', '.join(c.name for c in self.signature.arguments)})"
            )
        n_rows = len(arguments[0]) if arguments else 0
        frame = Frame(n_rows, self.on_invalid)
        try:
            if self.signature.packed is not None:
                values, nulls = pack_scalars(arguments)
                frame.add(self.signature.packed.name, values, self.signature.packed.dtype, nulls)
            else:
                for column, series in zip(self.signature.arguments, arguments):
                    values, nulls = _to_column(series, column)
                    frame.add(column.name, values, column.dtype, nulls)
            self.model.transform(frame, keep=self._keep)
        except FlinkMlUdfError as exc:
            raise exc.within(self.label) from exc
        return BatchOutcome(self._result(frame), int(frame.rejected.sum()), int(frame.skipped.sum()), frame)

    def _result(self, frame: Frame) -> Result:
        nulled = ~frame.kept
        columns = []
        for column, cast in zip(self.signature.results, self._casts):
            if column.name in self.signature.pseudo:
                # which model answered: also on rows it could not score, which say so in the other fields
                values = np.full(frame.n_rows, self.constants[column.name], dtype=object)
                columns.append(cast(values, np.zeros(frame.n_rows, dtype=bool)))
                continue
            values = frame.get(column.name, self.label)
            columns.append(cast(values, nulled))
        if not self.signature.is_row:
            return columns[0]
        return pd.concat(columns, axis=1, keys=[c.name for c in self.signature.results])


def pack_scalars(arguments: Sequence[pd.Series]) -> Tuple[np.ndarray, np.ndarray]:
    """``inputs_mode: scalars``: N DOUBLE arguments → one ``(rows, N)`` tensor column, in argument order.
    A row with a NULL argument is a NULL tensor (a dense tensor has no NULL elements), which the op
    then treats as it treats a NULL ARRAY: fails the row or nulls it, never scores a made-up value."""
    values = np.empty((len(arguments[0]), len(arguments)), dtype=np.float64)
    nulls = np.zeros(len(arguments[0]), dtype=bool)
    for i, series in enumerate(arguments):
        values[:, i] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        nulls |= series.isna().to_numpy()
    return values, nulls


def _to_column(series: pd.Series, column: Column) -> Tuple[np.ndarray, np.ndarray]:
    """A frame column (and its null mask) from an argument, without copying what needs no change:
    the frame never writes to its inputs."""
    shape, base = column.dtype.shape, column.dtype.base
    if shape == "scalar" and series.dtype == np.float64:
        values = series.to_numpy()
        return values, np.isnan(values)
    nulls = series.isna().to_numpy()
    if shape == "scalar" and base == "string":
        values = series.to_numpy(dtype=object)
        if nulls.any():
            values = values.copy()
            values[nulls] = None  # NaN and None alike
        return values, nulls
    if shape == "scalar":
        return series.to_numpy(dtype=np.float64, na_value=np.nan), nulls
    if shape == "list":
        # ARRAY<STRING> / ARRAY<DOUBLE> into a list column (tokens, n-grams): one Python list per row.
        values = np.empty(len(series), dtype=object)
        values[:] = [None if null else list(v) for v, null in zip(series.to_numpy(dtype=object), nulls)]
        return values, nulls
    # ARRAY<DOUBLE> arrives as a Series of numpy arrays (None for a NULL array).
    present = series[~nulls].to_numpy()
    widths = {len(v) for v in present}
    if len(widths) > 1:
        raise ScoringError(f"argument {column.name!r}: arrays of different lengths {sorted(widths)} in one batch")
    values = np.full((len(series), widths.pop() if widths else 0), np.nan)
    if len(present):
        values[~nulls] = np.stack(present)
    return values, nulls
