"""A serving plan (a config entry, its SQL signature, the versions resolved on the client) → one
vectorized (pandas) PyFlink UDF.

The function object shipped to the workers holds only the plan: each worker loads its bundles
itself in ``open()`` (into model slots, :mod:`flink_ml_udf.flink.slots`) through the same loaders
as the client, so TaskManagers never depend on the client's memory, and a bundle in object storage
is fetched where it runs. Each batch goes through the plan's router (one variant for a plain entry).
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.types import DataType as FlinkType
from pyflink.table.udf import FunctionContext, ScalarFunction, UserDefinedFunctionWrapper, udf

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.metrics import ShadowMetrics, UdfMetrics, udf_group
from flink_ml_udf.flink.router import Router, ServingPlan
from flink_ml_udf.flink.scoring import Result
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.flink.sql_types import SqlType, flink_type, sql_type
from flink_ml_udf.flink.updates import UpdateSource, start_updates


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
    """Scores whole Arrow batches with the models its plan names (:class:`~flink_ml_udf.flink.router.ServingPlan`).

    Each variant (a plain entry is one) gets a model slot on the worker. An arm without ``reload``
    or ``control`` loads exactly the version resolved on the client at registration, on every
    worker (also one restarted after a failure, or added by rescaling), or fails naming the
    expected and the found version. Arms with ``reload`` or ``control`` start update threads in
    ``open()`` that swap models between batches. A shadow that cannot load is counted and logged,
    never fatal. Metrics: :mod:`flink_ml_udf.flink.metrics`.
    """

    def __init__(self, plan: ServingPlan) -> None:
        self.plan = plan
        self._router: Optional[Router] = None
        self._updates: List[UpdateSource] = []

    def open(self, function_context: FunctionContext) -> None:
        group = udf_group(function_context.get_metric_group(), self.plan.entry.udf_name)
        slots, self._arm_metrics = [], []
        for arm in self.plan.arms:
            slot = ModelSlot(arm.variant.entry, arm.signature)
            self._updates += start_updates(slot, arm.version)
            slots.append(slot)
            arm_group = group.add_group("variant", arm.variant.name) if self.plan.entry.variants else group
            self._arm_metrics.append(UdfMetrics(arm_group, slot))
        shadow = None
        if self.plan.shadow is not None:
            arm = self.plan.shadow
            shadow = ModelSlot(arm.variant.entry, arm.signature)
            try:
                self._updates += start_updates(shadow, arm.version)
            except Exception as exc:  # noqa: BLE001 - a shadow never fails the job
                shadow.reject(shadow.target_uri, arm.version, f"cannot load the shadow: {exc}", "open")
        self._router = Router(self.plan, slots, shadow)
        self._shadow_metrics = None
        if shadow is not None:
            self._shadow_metrics = ShadowMetrics(group, self._router)
            self._shadow_slot_metrics = UdfMetrics(group.add_group("variant", self.plan.shadow.variant.name), shadow)
        self._fault_file = os.environ.get(FAULT_FILE_ENV)
        self._result_types = [sql_type(t) for t in self.plan.signature.result_types]

    def eval(self, *arguments: pd.Series) -> Result:
        if self._fault_file:
            self._maybe_fail()
        result, batches = self._router.score(arguments)
        for batch in batches:
            self._arm_metrics[batch.index].scored(
                batch.served, batch.rows, batch.rejected, batch.skipped, batch.seconds
            )
        if self._shadow_metrics is not None:
            self._shadow_metrics.scored()
            shadowed = self._router.last_shadow
            if shadowed is not None:
                self._shadow_slot_metrics.scored(
                    shadowed.served, shadowed.rows, shadowed.rejected, shadowed.skipped, shadowed.seconds
                )
        return bridged(result, self._result_types)

    def _maybe_fail(self) -> None:
        try:
            os.remove(self._fault_file)  # atomic: exactly one worker takes the armed failure
        except FileNotFoundError:
            return
        raise InjectedFault(f"UDF '{self.plan.entry.udf_name}': failure injected through {self._fault_file} (drill)")

    def close(self) -> None:
        for source in self._updates:
            source.stop()
        self._updates = []
        self._router = None

    def __getstate__(self):
        # Never ship a loaded model, a thread or a metric: workers build their own in open().
        return {"plan": self.plan, "_router": None, "_updates": []}


def bridged(result: Result, types: Sequence[SqlType]) -> Result:
    """A scored batch as PyFlink's Arrow serializer takes it (:meth:`SqlType.bridged`), column by column."""
    if isinstance(result, pd.Series):
        return types[0].bridged(result)
    if not any(t.pandas_extension for t in types):
        return result
    return pd.concat([t.bridged(result[c]) for c, t in zip(result.columns, types)], axis=1, keys=list(result.columns))


def make_udf(plan: ServingPlan) -> UserDefinedFunctionWrapper:
    """The pandas UDF that serves ``plan`` (see :func:`flink_ml_udf.flink.registry.serving_plan`)."""
    signature = plan.signature
    return udf(
        BundleFunction(plan),
        input_types=[flink_type(t) for t in signature.argument_types],
        result_type=result_type(signature),
        func_type="pandas",
    )
