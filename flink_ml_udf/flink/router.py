"""Routing a batch to the models of one UDF: the A/B split by key and the shadow.

Every UDF serves through a :class:`Router`. A plain entry has one arm (its own slot) and no key:
the whole batch goes to it, with no hashing. An experiment (``split_key`` + ``variants``, and/or a
``shadow``) routes each row by its key:

- **Bucket.** ``h`` = MurmurHash3 x86_32 with seed 42 of the key's UTF-8 string form (a BIGINT key
  as its decimal digits), the variant Spark SQL's ``hash()`` uses for strings, read as a signed
  int; the row's bucket is ``pmod(h, 10000)``. Spark SQL computes the same bucket with
  ``pmod(hash(CAST(key AS STRING)), 10000)``, so an experiment's assignment can be joined offline.
- **Variant.** The variants hold consecutive bucket ranges in config order, sized by weight:
  ``[0, 9000)`` champion and ``[9000, 10000)`` challenger for 90/10. The same key lands on the same
  variant on every worker, after every restart and in every run. Changing weights moves only the
  buckets at a boundary that shifts (90/10 → 80/20 moves exactly ``[8000, 9000)``); scaling all
  weights alike moves nothing; a new variant appended at the end takes from its neighbour only.
- **Shadow sample.** A key is shadowed when ``pmod(floor(h / 10000), 10000) < sample × 10000``: the
  hash's higher digits, so the sample is independent of the variant. A NULL key goes to the first
  variant and is not shadowed.

A batch is split into one sub-batch per variant, each scored whole by that variant's current model;
the rows go back in their original order. The shadow scores its sampled rows after the variants;
its failures are counted and logged, never raised, and never change the returned values.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry, Variant
from flink_ml_udf.flink.scoring import Result
from flink_ml_udf.flink.signature import (
    SHADOW_PREFIX,
    VARIANT_OUTPUT,
    Signature,
    derive_signature,
    experiment_signature,
)
from flink_ml_udf.flink.slots import ModelSlot, Served
from flink_ml_udf.flink.sql_types import SqlType, sql_type
from flink_ml_udf.mleap.compiled.murmur3 import hash_offsets, warm_hash

log = logging.getLogger("flink_ml_udf.shadow")

BUCKETS = 10_000
ROUTING_SEED = 42


@dataclass(frozen=True)
class Arm:
    """One variant (or the shadow) as registered: its entry, the signature it must keep, and the
    version resolved on the client (what a pinned arm loads on every worker)."""

    variant: Variant
    signature: Signature
    version: Optional[str]


@dataclass(frozen=True)
class ServingPlan:
    """What a UDF's workers serve: the SQL signature, the variants (one for a plain entry), the shadow."""

    entry: UdfEntry
    signature: Signature
    arms: Tuple[Arm, ...]
    shadow: Optional[Arm] = None

    @property
    def routed(self) -> bool:
        return self.entry.split_key is not None

    @property
    def version(self) -> str:
        """The first variant's version: what ``${MODEL_VERSION_<UDF>}`` names."""
        return self.arms[0].version

    def describe(self) -> str:
        entry = self.entry
        lines = [self.signature.describe(entry.udf_name)]
        for arm in self.arms + ((self.shadow,) if self.shadow is not None else ()):
            how = "follows updates, now" if arm.variant.entry.follows_updates else "pinned"
            share = ""
            if entry.variants and arm is not self.shadow:
                share = f"variant {arm.variant.name} (weight {arm.variant.weight}): "
            elif arm is self.shadow:
                share = f"shadow {arm.variant.name} (sample {arm.variant.sample:g}): "
            lines.append(f"{share}bundle {arm.variant.entry.bundle_path} {how} @ {arm.version}")
        return lines[0] + "  [" + "; ".join(lines[1:]) + "]"


def serving_plan(entry: UdfEntry) -> ServingPlan:
    """Load every bundle of ``entry`` (each variant's, the shadow's) on the client, resolve the
    versions workers will load, and derive the SQL signature (variants and shadow must agree)."""
    arms = []
    for variant in entry.served:
        loaded = load_entry_model(variant.entry)
        arms.append(Arm(variant, derive_signature(variant.entry, loaded.model), loaded.version))
    shadow = None
    if entry.shadow is not None:
        loaded = load_entry_model(entry.shadow.entry)
        shadow = Arm(entry.shadow, derive_signature(entry.shadow.entry, loaded.model), loaded.version)
    if not entry.is_experiment:
        return ServingPlan(entry, arms[0].signature, tuple(arms))
    pairs = [(arm.variant, arm.signature) for arm in arms]
    signature = experiment_signature(entry, pairs, (shadow.variant, shadow.signature) if shadow is not None else None)
    return ServingPlan(entry, signature, tuple(arms), shadow)


def key_hashes(keys: pd.Series) -> Tuple[np.ndarray, np.ndarray]:
    """(signed MurmurHash3 of each key's UTF-8 string form, null mask): Arrow turns the keys into
    one UTF-8 buffer (and BIGINTs into their decimal digits) in C, and a compiled loop hashes each
    key where it lies in that buffer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if keys.dtype.kind in "fiu":  # BIGINT (a float64 Series when it holds NULLs)
        nulls = keys.isna().to_numpy()
        numbers = pa.array(keys.to_numpy(dtype=np.float64, na_value=0.0).astype(np.int64), mask=nulls)
        strings = pc.cast(numbers, pa.string())
    else:
        strings = pa.array(keys.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        nulls = strings.is_null().to_numpy(zero_copy_only=False)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    hashes = hash_offsets(data, offsets, 1, ROUTING_SEED).astype(np.int64)
    hashes[nulls] = 0
    return hashes, nulls


def variant_buckets(weights: Sequence[int]) -> np.ndarray:
    """The exclusive upper bucket of each variant's range (consecutive ranges, sized by weight)."""
    shares = np.cumsum(np.asarray(weights, dtype=np.float64)) / float(sum(weights))
    bounds = np.round(shares * BUCKETS).astype(np.int64)
    bounds[-1] = BUCKETS
    return bounds


def assign(hashes: np.ndarray, nulls: np.ndarray, weights: Sequence[int]) -> np.ndarray:
    """The variant index of each row (NULL keys: the first variant)."""
    buckets = np.mod(hashes, BUCKETS)
    chosen = np.searchsorted(variant_buckets(weights), buckets, side="right")
    chosen[nulls] = 0
    return chosen


def sampled(hashes: np.ndarray, nulls: np.ndarray, sample: float) -> np.ndarray:
    """Which rows the shadow scores: the hash's higher digits below ``sample`` of the buckets."""
    if sample >= 1.0:
        return ~nulls if nulls.any() else np.ones(len(hashes), dtype=bool)
    return (np.mod(np.floor_divide(hashes, BUCKETS), BUCKETS) < sample * BUCKETS) & ~nulls


@dataclass(frozen=True)
class ArmBatch:
    """What one variant scored of a batch."""

    index: int
    served: Served
    rows: int
    rejected: int
    skipped: int
    seconds: float


@dataclass
class ShadowStats:
    """Shadow comparison counts since the worker opened (read by the metrics)."""

    rows: int = 0
    failures: int = 0
    compared: int = 0
    disagreements: int = 0
    abs_diff_sum: float = 0.0


class Router:
    """Scores batches for one UDF across its slots (see the module docstring)."""

    def __init__(self, plan: ServingPlan, slots: Sequence[ModelSlot], shadow: Optional[ModelSlot]) -> None:
        self.plan = plan
        self.slots = list(slots)
        self.shadow = shadow
        self.shadow_stats = ShadowStats()
        self.weights = [arm.variant.weight or 1 for arm in plan.arms]
        self.names = [arm.variant.name for arm in plan.arms]
        self.results = plan.signature.results
        self._result_types = [sql_type(t) for t in plan.signature.result_types]  # a result_type override too
        self._shadow_columns = [c.name for c in self.results if c.name.startswith(SHADOW_PREFIX)]
        self.last_diffs = np.zeros(0)
        self.last_shadow: Optional[ArmBatch] = None  # what the shadow scored of the last batch
        self._logged: set = set()  # shadow failures already logged: once per cause, not once per batch
        if plan.routed:
            warm_hash(plan.entry.label)  # the key hash is compiled now, not on the first batch

    def score(self, arguments: Sequence[pd.Series]) -> Tuple[Result, List["ArmBatch"]]:
        """The batch's result, and what each variant scored of it."""
        n = len(arguments[0]) if arguments else 0
        if not self.plan.routed and self.shadow is None:
            served = self.slots[0].current  # once per batch: the whole batch is scored by this model
            started = time.perf_counter()
            outcome = served.scorer(arguments)
            return outcome.result, [
                ArmBatch(0, served, n, outcome.rejected, outcome.skipped, time.perf_counter() - started)
            ]
        if self.plan.routed:
            hashes, nulls = key_hashes(arguments[0])
            features = list(arguments[1:])
        else:
            hashes, nulls = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
            features = list(arguments)
        chosen = assign(hashes, nulls, self.weights) if len(self.slots) > 1 else np.zeros(n, dtype=np.int64)
        columns: Dict[str, np.ndarray] = {}
        report = []
        main_prediction = None
        for index, slot in enumerate(self.slots):
            rows = np.flatnonzero(chosen == index)
            if rows.size == 0:
                continue
            served = slot.current  # once per batch and variant
            started = time.perf_counter()
            outcome = served.scorer(_take(features, rows))
            part = _as_frame(outcome.result, self.results)
            for name in part.columns:
                _scatter(columns, name, part[name], rows, n)
            if VARIANT_OUTPUT in (c.name for c in self.results):
                columns.setdefault(VARIANT_OUTPUT, np.empty(n, dtype=object))[rows] = self.names[index]
            if self.shadow is not None:
                prediction = _prediction(outcome, served)
                if main_prediction is None:
                    main_prediction = np.full(n, np.nan)
                main_prediction[rows] = prediction
            report.append(
                ArmBatch(
                    index, served, int(rows.size), outcome.rejected, outcome.skipped, time.perf_counter() - started
                )
            )
        if self.shadow is not None:
            self._shadow(features, sampled(hashes, nulls, self.plan.shadow.variant.sample), main_prediction, columns, n)
        return _assemble(self.results, self._result_types, columns, n), report

    def _shadow(self, features, rows_mask, main_prediction, columns, n) -> None:
        """Score the sampled rows with the shadow; its columns stay NULL where a row was not sampled
        or the shadow failed (columns missing from ``columns`` are NULL when the batch is assembled)."""
        rows = np.flatnonzero(rows_mask)
        self.last_diffs = np.zeros(0)
        self.last_shadow = None
        if rows.size == 0:
            return
        self.shadow_stats.rows += int(rows.size)
        try:
            served = self.shadow.current
            started = time.perf_counter()
            outcome = served.scorer(_take(features, rows))
            part = _as_frame(outcome.result, self.results)
            shadow_prediction = _prediction(outcome, served)
            seconds = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 - a shadow never fails the job or changes what is returned
            self.shadow_stats.failures += int(rows.size)
            cause = str(exc)
            if cause not in self._logged:
                self._logged.add(cause)
                log.warning("%s → shadow '%s': scoring failed (counted in shadow_failures, logged once): %s",
                            self.plan.entry.label, self.plan.shadow.variant.name, cause)  # fmt: skip
            return
        for name in self._shadow_columns:
            _scatter(columns, name, part[name[len(SHADOW_PREFIX) :]], rows, n)
        self.last_shadow = ArmBatch(-1, served, int(rows.size), outcome.rejected, outcome.skipped, seconds)
        main = main_prediction[rows]
        both = ~(np.isnan(main) | np.isnan(shadow_prediction))
        self.shadow_stats.compared += int(both.sum())
        if served.classification:
            self.shadow_stats.disagreements += int((main[both] != shadow_prediction[both]).sum())
        diffs = np.abs(main[both] - shadow_prediction[both])
        self.shadow_stats.abs_diff_sum += float(diffs.sum())
        self.last_diffs = diffs


def _scatter(columns: Dict[str, np.ndarray], name: str, part: pd.Series, rows: np.ndarray, n: int) -> None:
    """Write a variant's values of column ``name`` at ``rows`` of the batch's column (typed as the first
    part that arrives: float64 stays float64, anything else is kept as Python objects)."""
    values = part.to_numpy()
    if name not in columns:
        columns[name] = np.empty(n, dtype=values.dtype if values.dtype.kind in "fb" else object)
        if values.dtype.kind == "f":
            columns[name][:] = np.nan
    target = columns[name]
    target[rows] = values if target.dtype != object else part.to_numpy(dtype=object)


def _take(features: Sequence[pd.Series], rows: np.ndarray) -> List[pd.Series]:
    if len(features) and rows.size == len(features[0]):
        return list(features)
    return [pd.Series(series.array.take(rows), name=series.name) for series in features]  # one copy, index 0..n-1


def _as_frame(result: Result, results) -> pd.DataFrame:
    """A scorer's result as a frame of named columns (a scalar result is one column)."""
    if isinstance(result, pd.DataFrame):
        return result
    bundle = [c.name for c in results if c.name != VARIANT_OUTPUT and not c.name.startswith(SHADOW_PREFIX)]
    return pd.DataFrame({bundle[0]: result})


def _prediction(outcome, served: Served) -> np.ndarray:
    """The model's prediction for the scored rows (NaN where a row was nulled), for shadow comparison."""
    values = np.asarray(outcome.frame.get(served.prediction_column, "shadow comparison"), dtype=np.float64).copy()
    values[~outcome.frame.kept] = np.nan
    return values


def _assemble(results, types: Sequence[SqlType], columns: Dict[str, np.ndarray], n: int) -> Result:
    series = []
    for column, sql in zip(results, types):
        values = columns.get(column.name)
        if values is None:
            values = np.full(n, None, dtype=object)
        series.append(sql.typed(pd.Series(values)))  # object columns back to their result type's dtype
    if len(series) == 1:
        return series[0]
    return pd.concat(series, axis=1, keys=[c.name for c in results])
