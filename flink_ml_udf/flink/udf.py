"""A config entry + its signature → one vectorized (pandas) PyFlink UDF.

The function object shipped to the workers holds only the config entry and the signature: each
worker loads the bundle itself in ``open()`` through the same loader as the client, so TaskManagers
never depend on the client's memory, and a bundle in object storage is fetched where it runs.
"""

from __future__ import annotations

import os
from typing import Optional

import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.types import DataType as FlinkType
from pyflink.table.udf import FunctionContext, ScalarFunction, UserDefinedFunctionWrapper, udf

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.scoring import BatchScorer, Result
from flink_ml_udf.flink.signature import Signature

_FLINK_TYPES = {
    "DOUBLE": DataTypes.DOUBLE,
    "FLOAT": DataTypes.FLOAT,
    "INT": DataTypes.INT,
    "BIGINT": DataTypes.BIGINT,
    "STRING": DataTypes.STRING,
    "BOOLEAN": DataTypes.BOOLEAN,
}


def flink_type(name: str) -> FlinkType:
    """A PyFlink type from a :mod:`flink_ml_udf.flink.signature` type name."""
    if name.startswith("ARRAY<") and name.endswith(">"):
        return DataTypes.ARRAY(flink_type(name[len("ARRAY<") : -1]))
    return _FLINK_TYPES[name]()


def result_type(signature: Signature) -> FlinkType:
    types = [flink_type(t) for t in signature.result_types]
    if not signature.is_row:
        return types[0]
    return DataTypes.ROW([DataTypes.FIELD(c.name, t) for c, t in zip(signature.results, types)])


#: Failure drills: while this variable names a file, a worker that finds the file deletes it and
#: fails its current batch, once. Arm it (create the file) against a running job to check that the
#: job recovers from its checkpoint without losing or duplicating predictions.
FAULT_FILE_ENV = "FLINK_ML_UDF_FAULT_FILE"


class InjectedFault(FlinkMlUdfError):
    """The one-shot failure armed through :data:`FAULT_FILE_ENV`."""


class BundleFunction(ScalarFunction):
    """Scores whole Arrow batches with an MLeap bundle loaded on the worker.

    Metrics (group ``flink_ml_udf`` → ``udf`` = name): ``rows`` scored, ``rows_failed`` answered
    NULL because they could not be scored (``on_error: null``), ``rows_skipped`` filtered by an op.
    """

    def __init__(self, entry: UdfEntry, signature: Signature) -> None:
        self.entry = entry
        self.signature = signature
        self._scorer: Optional[BatchScorer] = None

    def open(self, function_context: FunctionContext) -> None:
        loaded = load_entry_model(self.entry)
        self._scorer = BatchScorer(self.entry.udf_name, loaded.model, self.signature, self.entry.on_error)
        group = function_context.get_metric_group().add_group("flink_ml_udf").add_group("udf", self.entry.udf_name)
        self._rows = group.counter("rows")
        self._failed = group.counter("rows_failed")
        self._skipped = group.counter("rows_skipped")
        self._fault_file = os.environ.get(FAULT_FILE_ENV)

    def eval(self, *arguments: pd.Series) -> Result:
        if self._fault_file:
            self._maybe_fail()
        outcome = self._scorer(arguments)
        self._rows.inc(len(arguments[0]) if arguments else 0)
        if outcome.rejected:
            self._failed.inc(outcome.rejected)
        if outcome.skipped:
            self._skipped.inc(outcome.skipped)
        return outcome.result

    def _maybe_fail(self) -> None:
        try:
            os.remove(self._fault_file)  # atomic: exactly one worker takes the armed failure
        except FileNotFoundError:
            return
        raise InjectedFault(f"UDF '{self.entry.udf_name}': failure injected through {self._fault_file} (drill)")

    def close(self) -> None:
        self._scorer = None

    def __getstate__(self):
        # Never ship a loaded model: workers load their own in open().
        state = dict(self.__dict__)
        state["_scorer"] = None
        return state


def make_udf(entry: UdfEntry, signature: Signature) -> UserDefinedFunctionWrapper:
    return udf(
        BundleFunction(entry, signature),
        input_types=[flink_type(t) for t in signature.argument_types],
        result_type=result_type(signature),
        func_type="pandas",
    )
