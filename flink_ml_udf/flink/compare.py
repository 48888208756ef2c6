"""``flink-ml-udf compare``: score one LeapFrame with every variant and the shadow of an experiment,
offline, and summarize how each differs from the first variant (the champion).

Every model scores every row (no routing), so the figures say how the variants would differ on the
same traffic: rows scored, mean and max |prediction − champion's| and, for classifiers, the share
of rows with a different label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List

import numpy as np

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import AppConfig
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.slots import is_classifier
from flink_ml_udf.mleap.leapframe import frame_from_json


@dataclass(frozen=True)
class Comparison:
    name: str
    role: str  # "variant" or "shadow"
    version: str
    rows: int
    mean_abs_diff: float
    max_abs_diff: float
    disagreement_rate: float


def compare(config: AppConfig, udf_name: str, document: Any) -> List[Comparison]:
    entry = config.entry(udf_name)
    arms = [(variant, "variant") for variant in entry.served]
    if entry.shadow is not None:
        arms.append((entry.shadow, "shadow"))
    predictions, rows = [], []
    for variant, role in arms:
        loaded = load_entry_model(variant.entry)
        model = loaded.model
        try:
            frame = model.transform(frame_from_json(document))
        except FlinkMlUdfError as exc:
            raise exc.within(f"{variant.entry.label} → bundle {loaded.uri}") from exc
        values = np.asarray(frame.get(model.prediction_column.name, variant.entry.label), dtype=np.float64)
        predictions.append((variant, role, loaded.version, values, is_classifier(model)))
    champion = predictions[0][3]
    for variant, role, version, values, classifier in predictions:
        diff = np.abs(values - champion)
        rows.append(
            Comparison(
                variant.name, role, version, len(values),
                float(np.nanmean(diff)) if len(diff) else 0.0, float(np.nanmax(diff)) if len(diff) else 0.0,
                float(np.mean(values != champion)) if classifier and len(values) else 0.0,
            )
        )  # fmt: skip
    return rows


def format_comparison(udf_name: str, rows: List[Comparison]) -> str:
    header = ("variant", "role", "version", "rows", "mean |diff|", "max |diff|", "disagreement")
    table = [header] + [
        (r.name, r.role, r.version, str(r.rows), f"{r.mean_abs_diff:.6g}", f"{r.max_abs_diff:.6g}",
         f"{100 * r.disagreement_rate:.2f}%")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"{udf_name}: every model on the same rows, differences from {rows[0].name}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    return "\n".join(lines) + "\n"
