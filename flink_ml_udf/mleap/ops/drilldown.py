"""``categorical_drilldown``: one sub-model per label; each row is scored by the sub-model its
``label`` column names.

The node's ports are ``label`` plus ``drilldown.<port>`` for each port of the sub-models, which live
in the node folder as ``model0 .. model{N-1}`` (a ``model.json`` each, no ``node.json``). Each
sub-model is built as an op whose ports are the drilldown's ports without the ``drilldown.`` prefix,
bound to the same columns, and runs on the rows of its label only. (The JVM loader casts these
sub-models to transformers and most likely fails on a serialized drilldown; MLeap only builds one
in code. This runtime loads it as the format describes.)
"""

from __future__ import annotations

import posixpath
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Column, Op, op_class, register
from flink_ml_udf.mleap.spec import NodeSpec, Socket
from flink_ml_udf.mleap.types import DataType

PREFIX = "drilldown."
_ROW_COUNT = re.compile(r" \(\d+ rows\)$")  # the sub-frame's own row count; the parent adds its own


@register("categorical_drilldown")
class CategoricalDrilldown(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        labels = attrs.string_list("labels")
        if not labels:
            raise attrs.error("labels", "is empty: a drilldown needs at least one sub-model")
        inputs = _strip(spec, spec.inputs, "inputs")
        outputs = _strip(spec, spec.outputs, "outputs")
        self.label_column = spec.input("label")
        self.models: Dict[str, Op] = {}
        for i, label in enumerate(labels):
            model = spec.bundle.read_model(posixpath.join(spec.folder, f"model{i}"))
            sub_spec = model.as_node(f"{spec.name}/model{i}", inputs, outputs)
            self.models[label] = op_class(model.op, model.context)(sub_spec)  # duplicate labels: last wins
        first = self.models[labels[0]]
        self.children = []  # sub-models run on row subsets, not as a pipeline over the whole frame
        self.sub_models = list(self.models.values())
        self.inputs.append(Column(self.label_column, DataType("string", nullable=False)))
        self.inputs.extend(first.inputs)
        self.outputs.extend(first.outputs)

    def transform(self, frame: Frame) -> None:
        labels = frame.get(self.label_column, self.who)
        nulls = frame.require_non_null(self.label_column, self.who)
        known = np.zeros(frame.n_rows, dtype=bool)
        results: Dict[str, Tuple[np.ndarray, Optional[np.ndarray]]] = {}
        for label, model in self.models.items():
            rows = np.flatnonzero((labels == label) & ~nulls)
            known[rows] = True
            if rows.size:
                self._run(frame, label, model, rows, results)
        frame.reject(
            ~known & ~nulls,
            f"{self.who}: label in column {self.label_column!r} has no sub-model (labels: {', '.join(self.models)})",
        )
        if not results:  # no row reached a sub-model: take the output layout from an empty run
            self._run(frame, None, self.sub_models[0], np.zeros(0, dtype=np.int64), results)
        for column in self.outputs:
            values, column_nulls = results[column.name]
            frame.add(column.name, values, column.dtype, column_nulls)

    def _run(
        self,
        frame: Frame,
        label: Optional[str],
        model: Op,
        rows: np.ndarray,
        results: Dict[str, Tuple[np.ndarray, Optional[np.ndarray]]],
    ) -> None:
        sub = Frame(len(rows), on_invalid="mark")
        for column in model.inputs:
            values = frame.get(column.name, self.who)
            column_nulls = frame.nulls(column.name)
            rows_nulls = None if column_nulls is None else column_nulls[rows]
            sub.add(column.name, values[rows], frame.type_of(column.name), rows_nulls)
        model.transform(sub)
        if sub.rejected.any():
            mask = np.zeros(frame.n_rows, dtype=bool)
            mask[rows[sub.rejected]] = True
            reasons = "; ".join(_ROW_COUNT.sub("", reason) for reason in sub.reasons)
            frame.reject(mask, f"{self.who}: sub-model for label {label!r}: {reasons}")
        if sub.skipped.any():
            mask = np.zeros(frame.n_rows, dtype=bool)
            mask[rows[sub.skipped]] = True
            frame.skip(mask)
        for column in self.outputs:
            values = sub.get(column.name, model.who)
            if column.name not in results:
                full = np.zeros((frame.n_rows,) + values.shape[1:], dtype=values.dtype)
                if values.dtype == object:
                    full[...] = None
                results[column.name] = (full, None)
            full, full_nulls = results[column.name]
            if full.shape[1:] != values.shape[1:]:
                raise frame_error(self, column.name, full.shape[1:], values.shape[1:])
            full[rows] = values
            sub_nulls = sub.nulls(column.name) if values.dtype != object else None
            if sub_nulls is not None:
                if full_nulls is None:
                    full_nulls = np.zeros(frame.n_rows, dtype=bool)
                full_nulls[rows] = sub_nulls
                results[column.name] = (full, full_nulls)


def frame_error(op: Op, column: str, expected: tuple, found: tuple) -> ScoringError:
    return ScoringError(
        f"{op.who}: sub-models disagree on the shape of output {column!r}: {list(expected)} and {list(found)}"
    )


def _strip(spec: NodeSpec, sockets: List[Socket], side: str) -> List[Socket]:
    stripped = [Socket(s.port[len(PREFIX) :], s.name) for s in sockets if s.port.startswith(PREFIX)]
    if not stripped:
        raise spec.error(f"has no '{PREFIX}<port>' {side}: the sub-models' ports must be prefixed with {PREFIX!r}")
    return stripped
