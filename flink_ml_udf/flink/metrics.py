"""Per-UDF metrics in Flink's metric system: the REST API, the web UI and every metrics reporter
(Prometheus included) see them.

Group ``flink_ml_udf`` → ``udf`` = <name> (a key/value group: a ``udf`` label in Prometheus):

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

    def add(self, value_us: float) -> None:
        self._samples[self._count % len(self._samples)] = value_us
        self._count += 1

    def percentile(self, q: float) -> int:
        if self._count == 0:
            return 0
        return int(round(float(np.percentile(self._samples[: min(self._count, len(self._samples))], q))))


class UdfMetrics:
    """The metrics of one UDF on one subtask (see the module docstring)."""

    def __init__(self, metric_group, slot: ModelSlot) -> None:
        self.slot = slot
        self.group = metric_group.add_group("flink_ml_udf").add_group("udf", slot.entry.udf_name)
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
        self.group.gauge("model_loaded_at", lambda: slot.current.loaded_at_ms)
        self._versions: Dict[str, object] = {}

    def scored(self, served: Served, rows: int, rejected: int, skipped: int, seconds: float) -> None:
        """Record one batch (called by ``eval`` after scoring)."""
        if served.version not in self._versions:
            self._versions[served.version] = self.group.add_group("version", served.version).gauge(
                "model_info", lambda v=served.version: int(self.slot.current.version == v)
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
