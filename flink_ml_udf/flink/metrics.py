"""Per-UDF metrics in Flink's metric system: the REST API, the web UI and every metrics reporter
(Prometheus included) see them.

Group ``flink_ml_udf`` → ``udf`` = <name> (a key/value group: a ``udf`` label in Prometheus), and
for an experiment's variants and shadow → ``variant`` = <variant name>:

- counters ``rows``, ``rows_failed`` (answered NULL, ``on_error: null``), ``rows_skipped`` (filtered
  by an op), ``batches``;
- gauges ``batch_time_us_p50/p95/p99/max`` and ``row_time_ns_p50/p95/p99`` (nanoseconds: a row takes
  about a microsecond) over the last
  :data:`WINDOW` batches (PyFlink has no histogram type; Beam distributions reach Flink as
  non-numeric gauges that reporters drop, so the percentiles are computed here);
- gauges ``reloads``, ``reload_failures``, ``model_loaded_at`` (epoch ms);
- ``version`` = <version> → gauge ``model_info``: 1 for the version this subtask serves now, 0 for
  versions it served before (an info-style series per version, so a dashboard shows which version
  each subtask serves and when it switched).

An experiment also reports, under ``udf`` = <name>, the shadow comparison: counters
``shadow_rows`` (rows the shadow scored) and ``shadow_failures``, gauges ``shadow_compared`` (rows
where both predictions exist), ``shadow_disagreements`` (classification: a different label),
``shadow_abs_diff_sum_e6`` (regression: the sum of |shadow - served| in millionths, so a mean is
``sum / compared``) and ``shadow_abs_diff_p50_e6/p99_e6/max_e6`` over the last :data:`WINDOW`
compared rows (gauges are integers in PyFlink, hence the millionths).

PyFlink evaluates gauges and ships counter updates from the scoring thread at the end of each
bundle, and its metric objects are not thread-safe, so everything here is touched only from the
UDF's ``eval``/``open`` (update threads only write the slot's plain ints).
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from flink_ml_udf.flink.slots import ModelSlot, Served

#: How many recent batches the scoring-time percentiles cover.
WINDOW = 1024
PERCENTILES = (50, 95, 99)


class LatencyWindow:
    """The last ``size`` samples in a ring buffer; percentiles on demand."""

    def __init__(self, size: int = WINDOW) -> None:
        self._samples = np.zeros(size)
        self._count = 0

    def add(self, value: float) -> None:
        self._samples[self._count % len(self._samples)] = value
        self._count += 1

    def add_many(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)[-len(self._samples) :]
        self._samples[(self._count + np.arange(len(values))) % len(self._samples)] = values
        self._count += len(values)

    def percentile(self, q: float) -> int:
        return int(round(self.percentile_value(q)))

    def percentile_value(self, q: float) -> float:
        if self._count == 0:
            return 0.0
        return float(np.percentile(self._samples[: min(self._count, len(self._samples))], q))


def udf_group(metric_group, udf_name: str):
    return metric_group.add_group("flink_ml_udf").add_group("udf", udf_name)


class UdfMetrics:
    """The metrics of one slot (a UDF, or one of its variants) on one subtask (see the module docstring)."""

    def __init__(self, group, slot: ModelSlot) -> None:
        self.slot = slot
        self.group = group
        self.rows = self.group.counter("rows")
        self.rows_failed = self.group.counter("rows_failed")
        self.rows_skipped = self.group.counter("rows_skipped")
        self.batches = self.group.counter("batches")
        self.batch_time = LatencyWindow()
        self.row_time = LatencyWindow()
        for q in PERCENTILES:
            self.group.gauge(f"batch_time_us_p{q}", lambda q=q: self.batch_time.percentile(q))
            self.group.gauge(f"row_time_ns_p{q}", lambda q=q: self.row_time.percentile(q))
        self.group.gauge("batch_time_us_max", lambda: self.batch_time.percentile(100))
        self.group.gauge("reloads", lambda: slot.stats.reloads)
        self.group.gauge("reload_failures", lambda: slot.stats.reload_failures)
        self.group.gauge("model_loaded_at", lambda: slot.current.loaded_at_ms if slot.loaded else 0)
        self._versions: Dict[str, object] = {}

    def scored(self, served: Served, rows: int, rejected: int, skipped: int, seconds: float) -> None:
        """Record one batch (called by ``eval`` after scoring)."""
        if served.version not in self._versions:
            self._versions[served.version] = self.group.add_group("version", served.version).gauge(
                "model_info", lambda v=served.version: int(self.slot.loaded and self.slot.current.version == v)
            )
        self.batches.inc()
        self.rows.inc(rows)
        if rejected:
            self.rows_failed.inc(rejected)
        if skipped:
            self.rows_skipped.inc(skipped)
        self.batch_time.add(seconds * 1e6)
        if rows:
            self.row_time.add(seconds * 1e9 / rows)


class ShadowMetrics:
    """The shadow comparison of an experiment on one subtask (see the module docstring)."""

    def __init__(self, group, router) -> None:
        self.router = router
        stats = router.shadow_stats
        self.rows = group.counter("shadow_rows")
        self.failures = group.counter("shadow_failures")
        self._reported = (0, 0)
        self.diffs = LatencyWindow()
        group.gauge("shadow_compared", lambda: stats.compared)
        group.gauge("shadow_disagreements", lambda: stats.disagreements)
        group.gauge("shadow_abs_diff_sum_e6", lambda: int(round(stats.abs_diff_sum * 1e6)))
        for q in (50, 99):
            group.gauge(f"shadow_abs_diff_p{q}_e6", lambda q=q: int(round(self.diffs.percentile_value(q) * 1e6)))
        group.gauge("shadow_abs_diff_max_e6", lambda: int(round(self.diffs.percentile_value(100) * 1e6)))

    def scored(self) -> None:
        """After a batch: report what the shadow did."""
        stats = self.router.shadow_stats
        rows, failures = self._reported
        if stats.rows > rows:
            self.rows.inc(stats.rows - rows)
        if stats.failures > failures:
            self.failures.inc(stats.failures - failures)
        self._reported = (stats.rows, stats.failures)
        self.diffs.add_many(self.router.last_diffs)
