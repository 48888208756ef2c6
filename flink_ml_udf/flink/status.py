"""``flink-ml-udf status``: what every UDF of a running job serves, from the cluster's REST API.

One line per UDF (an experiment: per variant and shadow, as ``Fraud/champion``) when all its
subtasks serve the same version (counts summed, times the worst subtask's), else one line per
subtask, so a rollout in progress shows which subtask is where. An experiment with a shadow adds a
line comparing the shadow with what was returned.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from flink_ml_udf.flink.cluster import _rest, subtask_metrics

PREFIX = "flink_ml_udf.udf."
#: The REST API writes metric scopes with ':' replaced by '_'; versions this project makes start so.
_VERSION_PREFIXES = ("sha256", "etag")


@dataclass(frozen=True)
class SubtaskStatus:
    udf: str
    subtask: str  # "0", or "0-3" for several subtasks that agree
    version: str
    loaded_at_ms: float
    rows: float
    rows_failed: float
    batch_time_us_p50: float
    batch_time_us_p99: float
    reloads: float
    reload_failures: float


@dataclass(frozen=True)
class ShadowComparison:
    udf: str
    rows: float
    failures: float
    compared: float
    disagreements: float
    abs_diff_sum: float  # in model units
    abs_diff_p99: float  # the worst subtask's

    def describe(self) -> str:
        mean = self.abs_diff_sum / self.compared if self.compared else 0.0
        return (
            f"{self.udf} shadow: {self.rows:.0f} rows, {self.failures:.0f} failed, {self.compared:.0f} compared, "
            f"mean |diff| {mean:.6g}, p99 |diff| {self.abs_diff_p99:.6g}, {self.disagreements:.0f} disagreements"
        )


Metrics = Sequence[Tuple[int, str, float]]  # (subtask, key, value) as subtask_metrics() reads them


def job_report(jobmanager: str, job_id: str) -> Tuple[List[SubtaskStatus], List[ShadowComparison]]:
    """The table and the shadow comparisons of one job, from one reading of its metrics, so the
    two never disagree about whether the REST API has reported anything yet."""
    metrics = subtask_metrics(jobmanager, job_id)
    return job_status(metrics), shadow_comparisons(metrics)


def shadow_comparisons(metrics: Metrics) -> List[ShadowComparison]:
    sums: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _, key, value in metrics:
        udf, _, metric = key[len(PREFIX) :].partition(".")
        if key.startswith(PREFIX) and metric.startswith("shadow_"):
            if metric == "shadow_abs_diff_p99_e6":
                sums[udf][metric] = max(sums[udf][metric], value)
            else:
                sums[udf][metric] += value
    return [
        ShadowComparison(udf, m["shadow_rows"], m["shadow_failures"], m["shadow_compared"], m["shadow_disagreements"],
                         m["shadow_abs_diff_sum_e6"] / 1e6, m["shadow_abs_diff_p99_e6"] / 1e6)
        for udf, m in sorted(sums.items())
    ]  # fmt: skip


def job_status(metrics: Metrics) -> List[SubtaskStatus]:
    values: Dict[tuple, Dict[str, float]] = defaultdict(dict)
    versions: Dict[tuple, str] = {}
    for subtask, key, value in metrics:
        if not key.startswith(PREFIX):
            continue
        udf, _, metric = key[len(PREFIX) :].partition(".")
        if metric.startswith("shadow_"):
            continue  # the comparison: shadow_comparisons()
        if metric.startswith("variant."):
            variant, _, metric = metric[len("variant.") :].partition(".")
            udf = f"{udf}/{variant}"
        if metric.startswith("version.") and metric.endswith(".model_info"):
            if value == 1:
                versions[(udf, subtask)] = _rest_version(metric[len("version.") : -len(".model_info")])
            continue
        values[(udf, subtask)][metric] = value
    rows = [_status(udf, str(subtask), versions.get((udf, subtask), "?"), metrics)
            for (udf, subtask), metrics in sorted(values.items())]  # fmt: skip
    return _merge_agreeing(rows)


def _rest_version(text: str) -> str:
    head, _, tail = text.partition("_")
    return f"{head}:{tail}" if head in _VERSION_PREFIXES and tail else text


def _status(udf: str, subtask: str, version: str, metrics: Dict[str, float]) -> SubtaskStatus:
    return SubtaskStatus(
        udf, subtask, version, metrics.get("model_loaded_at", 0.0), metrics.get("rows", 0.0),
        metrics.get("rows_failed", 0.0), metrics.get("batch_time_us_p50", 0.0), metrics.get("batch_time_us_p99", 0.0),
        metrics.get("reloads", 0.0), metrics.get("reload_failures", 0.0),
    )  # fmt: skip


def _merge_agreeing(rows: Sequence[SubtaskStatus]) -> List[SubtaskStatus]:
    by_udf: Dict[str, List[SubtaskStatus]] = defaultdict(list)
    for row in rows:
        by_udf[row.udf].append(row)
    merged: List[SubtaskStatus] = []
    for udf, group in by_udf.items():
        if len(group) == 1 or len({row.version for row in group}) > 1:
            merged += group
            continue
        subtasks = sorted(int(row.subtask) for row in group)
        merged.append(
            SubtaskStatus(
                udf,
                f"{subtasks[0]}-{subtasks[-1]}",
                group[0].version,
                max(r.loaded_at_ms for r in group),
                sum(r.rows for r in group),
                sum(r.rows_failed for r in group),
                max(r.batch_time_us_p50 for r in group),
                max(r.batch_time_us_p99 for r in group),
                sum(r.reloads for r in group),
                sum(r.reload_failures for r in group),
            )  # fmt: skip
        )
    return merged


def running_jobs(jobmanager: str) -> List[str]:
    return [job["jid"] for job in _rest(jobmanager, "/jobs/overview")["jobs"] if job["state"] == "RUNNING"]


def format_status(
    job_id: str, rows: Sequence[SubtaskStatus], shadows: Sequence[ShadowComparison] = (), now_ms: Optional[float] = None
) -> str:
    header = ("udf", "subtask", "version", "loaded", "rows", "failed", "p50 µs", "p99 µs", "reloads", "reload failures")
    table = [header]
    for row in rows:
        loaded = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.loaded_at_ms / 1000)) if row.loaded_at_ms else "?"
        table.append(
            (row.udf, row.subtask, row.version, loaded, f"{row.rows:.0f}", f"{row.rows_failed:.0f}",
             f"{row.batch_time_us_p50:.0f}", f"{row.batch_time_us_p99:.0f}", f"{row.reloads:.0f}",
             f"{row.reload_failures:.0f}")
        )  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"job {job_id}" + ("" if rows else ": no flink-ml-udf metrics reported yet")]
    if rows:
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    lines += [shadow.describe() for shadow in shadows]
    return "\n".join(lines) + "\n"
