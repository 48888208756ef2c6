"""A config entry + its signature → one vectorized (pandas) PyFlink UDF.

The function object shipped to the workers holds only the config entry, the signature and the
version resolved on the client: each worker loads the bundle itself in ``open()`` (into a model
slot, :mod:`flink_ml_udf.flink.slots`) through the same loader as the client, so TaskManagers never
depend on the client's memory, and a bundle in object storage is fetched where it runs.
"""

from __future__ import annotations

import os
import time
from typing import List, Optional

import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.types import DataType as FlinkType
from pyflink.table.udf import FunctionContext, ScalarFunction, UserDefinedFunctionWrapper, udf

from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.metrics import UdfMetrics
from flink_ml_udf.flink.scoring import Result
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.flink.updates import UpdateSource, start_updates

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
    """Scores whole Arrow batches with the model its slot serves on this worker.

    ``version`` is the bundle version resolved on the client at registration: an entry without
    ``reload`` or ``control`` loads exactly that version on every worker (also one restarted after
    a failure, or added by rescaling), or fails naming the expected and the found version. Entries
    with ``reload`` or ``control`` start update threads in ``open()`` that swap models between
    batches. Metrics: :mod:`flink_ml_udf.flink.metrics`.
    """

    def __init__(self, entry: UdfEntry, signature: Signature, version: Optional[str] = None) -> None:
        self.entry = entry
        self.signature = signature
        self.version = version
        self._slot: Optional[ModelSlot] = None
        self._updates: List[UpdateSource] = []

    def open(self, function_context: FunctionContext) -> None:
        self._slot = ModelSlot(self.entry, self.signature)
        self._updates = start_updates(self._slot, self.version)
        self._metrics = UdfMetrics(function_context.get_metric_group(), self._slot)
        self._fault_file = os.environ.get(FAULT_FILE_ENV)

    def eval(self, *arguments: pd.Series) -> Result:
        if self._fault_file:
            self._maybe_fail()
        served = self._slot.current  # once per batch: the whole batch is scored by this model
        started = time.perf_counter()
        outcome = served.scorer(arguments)
        rows = len(arguments[0]) if arguments else 0
        self._metrics.scored(served, rows, outcome.rejected, outcome.skipped, time.perf_counter() - started)
        return outcome.result

    def _maybe_fail(self) -> None:
        try:
            os.remove(self._fault_file)  # atomic: exactly one worker takes the armed failure
        except FileNotFoundError:
            return
        raise InjectedFault(f"UDF '{self.entry.udf_name}': failure injected through {self._fault_file} (drill)")

    def close(self) -> None:
        for source in self._updates:
            source.stop()
        self._updates = []
        self._slot = None

    def __getstate__(self):
        # Never ship a loaded model or a thread: workers load their own in open().
        state = dict(self.__dict__)
        state["_slot"] = None
        state["_updates"] = []
        state.pop("_metrics", None)
        return state


def make_udf(entry: UdfEntry, signature: Signature, version: Optional[str] = None) -> UserDefinedFunctionWrapper:
    """The pandas UDF of ``entry``; ``version`` (resolved on the client) is what every worker loads
    unless the entry follows updates (``reload``/``control``)."""
    return udf(
        BundleFunction(entry, signature, version),
        input_types=[flink_type(t) for t in signature.argument_types],
        result_type=result_type(signature),
        func_type="pandas",
    )
