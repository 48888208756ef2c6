"""Fast steps of the execution plan (:mod:`flink_ml_udf.mleap.plan`), one builder per op.

Each step takes the plain case (inputs of the expected dtype, no nulls, every label seen, every
category in range) straight to its result and gives any other batch to the op's own ``transform``
before touching the frame, so results, errors and rejected rows stay the reference path's.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pandas as pd

from flink_ml_udf.mleap.compiled import jit, warm
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.one_hot_encoder import OneHotEncoder
from flink_ml_udf.mleap.ops.string_indexer import StringIndexer
from flink_ml_udf.mleap.ops.vector_assembler import VectorAssembler
from flink_ml_udf.mleap.plan import Step, fast_step

#: From this many rows on, labels are looked up with pandas' hash table (~2x a dict per value at
#: 100k rows) rather than one ``dict.get`` per value (which wins below: no per-call setup).
HASH_TABLE_ROWS = 256


@fast_step("string_indexer")
def string_indexer(op: StringIndexer) -> Optional[Step]:
    lookups = []
    for index in op.indexes:  # label -> position, duplicates already resolved as MLeap does
        lookups.append((index.get, pd.Index(list(index), dtype=object), np.fromiter(index.values(), np.float64)))
    inputs = [column.name for column in op.inputs]
    outputs = list(op.outputs)

    def step(frame: Frame) -> None:
        results: List[np.ndarray] = []
        for name, (get, labels, positions) in zip(inputs, lookups):
            values = frame.get(name, op.who)
            if values.dtype != object:
                return op.transform(frame)
            if len(values) < HASH_TABLE_ROWS:
                found = [get(value, -1.0) for value in values.tolist()]
                if found and min(found) < 0.0:
                    return op.transform(frame)  # a null or unseen label: handle_invalid decides
                results.append(np.array(found, dtype=np.float64))
            else:
                codes = labels.get_indexer(values)
                if (codes < 0).any():
                    return op.transform(frame)
                results.append(positions[codes])
        for column, positions_of_rows in zip(outputs, results):
            frame.add(column.name, positions_of_rows, column.dtype)

    return step


@jit
def _one_hot(values, size, keep_invalid, out):
    """``out[r, values[r]] = 1`` while every value is an integral category: below ``size``, or any
    other integral value when ``keep_invalid`` (it takes slot ``size``); slots at or past ``out``'s
    width stay zero (the dropped last one). False at the first value that is not (NaN, 0.5, inf)."""
    width = out.shape[1]
    for row in range(values.shape[0]):
        value = values[row]
        if not (np.isfinite(value) and value == np.trunc(value)):
            return False
        if value >= 0.0 and value < size:
            category = int(value)
        elif keep_invalid:
            category = size
        else:
            return False
        if category < width:
            out[row, category] = 1.0
    return True


@fast_step("one_hot_encoder")
def one_hot_encoder(op: OneHotEncoder) -> Optional[Step]:
    warm(op.who, _one_hot, np.zeros(1), 1, True, np.zeros((1, 1)))
    columns = list(zip(op.inputs, op.outputs, op.categories, op.widths))
    keep_invalid = op.handle_invalid == "keep"

    def step(frame: Frame) -> None:
        results: List[np.ndarray] = []
        for source, _, size, width in columns:
            values = frame.get(source.name, op.who)
            if values.dtype != np.float64 or values.ndim != 1 or frame.nulls(source.name) is not None:
                return op.transform(frame)
            out = np.zeros((frame.n_rows, width))
            if not _one_hot(values, size, keep_invalid, out):
                return op.transform(frame)  # NaN, non-integral, or unseen under 'error': rejected rows
            results.append(out)
        for (_, target, _, _), out in zip(columns, results):
            frame.add(target.name, out, target.dtype)

    return step


@fast_step("vector_assembler")
def vector_assembler(op: VectorAssembler) -> Optional[Step]:
    inputs = [column.name for column in op.inputs]
    output = op.outputs[0]

    def step(frame: Frame) -> None:
        parts: List[np.ndarray] = []
        width = 0
        for name in inputs:
            values = frame.get(name, op.who)
            if values.dtype != np.float64 or values.ndim > 2 or frame.nulls(name) is not None:
                return op.transform(frame)
            parts.append(values)
            width += 1 if values.ndim == 1 else values.shape[1]
        out = np.empty((frame.n_rows, width))
        at = 0
        for values in parts:
            if values.ndim == 1:
                out[:, at] = values
                at += 1
            else:
                out[:, at : at + values.shape[1]] = values
                at += values.shape[1]
        frame.add(output.name, out, output.dtype)

    return step
