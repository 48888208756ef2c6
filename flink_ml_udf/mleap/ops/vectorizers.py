"""Ops that turn tokens or raw columns into vectors: ``count_vectorizer``, ``hashing_term_frequency``,
``feature_hasher``, ``idf``, ``word_to_vector``.

The only per-row Python work is flattening each batch's token lists into one array (a list column
holds Python lists); mapping tokens to indices, hashing the distinct tokens (:mod:`..murmur3`,
vectorized) and counting are numpy over the whole batch. MLeap's outputs here are sparse vectors;
in a frame they are dense rows with the same values (see :mod:`..frame`).
"""

from __future__ import annotations

import itertools
from typing import List, Tuple

import numpy as np
import pandas as pd

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap import murmur3
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.jvm.text import java_string_of
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.ops.text import STRING_LIST
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType, vector


def flatten(lists: List[list]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, row of each token, tokens per row)`` of a batch of token lists."""
    lengths = np.fromiter((len(tokens) for tokens in lists), dtype=np.int64, count=len(lists))
    tokens = np.empty(int(lengths.sum()), dtype=object)
    tokens[:] = list(itertools.chain.from_iterable(lists))
    return tokens, np.repeat(np.arange(len(lists)), lengths), lengths


def count_matrix(rows: np.ndarray, columns: np.ndarray, n_rows: int, width: int) -> np.ndarray:
    """Dense ``(n_rows, width)`` counts of the ``(row, column)`` pairs. Counted on the distinct pairs,
    so the only allocation of the output's size is the output itself (hashing widths reach 2^18+)."""
    out = np.zeros((n_rows, width))
    cells, counts = np.unique(rows.astype(np.int64) * width + columns, return_counts=True)
    out.reshape(-1)[cells] = counts
    return out


def token_positions(op: Op, frame: Frame, index: pd.Index):
    """Every token of the op's token-list input, flattened: its row, its position in ``index``
    (-1 when unknown) and each row's token count."""
    tokens, rows, lengths = flatten(frame.lists(op.inputs[0].name, op.who))
    positions = index.get_indexer(tokens) if len(tokens) else np.zeros(0, dtype=np.int64)
    return rows, positions, lengths


@register("count_vectorizer")
class CountVectorizer(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        vocabulary = attrs.string_list("vocabulary")
        self.binary = attrs.boolean("binary")
        self.min_tf = attrs.double("min_tf")
        if len(set(vocabulary)) != len(vocabulary):
            duplicate = next(term for term, count in pd.Series(vocabulary).value_counts().items() if count > 1)
            # MLeap sizes the vector by the distinct terms but indexes by position: any duplicate
            # puts an index past the end of the vector.
            raise attrs.error("vocabulary", f"term {duplicate!r} appears more than once")
        self.index = pd.Index(vocabulary, dtype=object)
        self.size = len(vocabulary)
        self.bind(spec, STRING_LIST, vector(self.size))

    def transform(self, frame: Frame) -> None:
        rows, positions, lengths = token_positions(self, frame, self.index)
        known = positions >= 0
        counts = count_matrix(rows[known], positions[known], frame.n_rows, self.size)
        # Threshold per document: an absolute count, or a fraction of its token count (OOV included).
        threshold = self.min_tf if self.min_tf >= 1.0 else self.min_tf * lengths.astype(np.float64)
        threshold = np.broadcast_to(threshold, (frame.n_rows,))[:, None]
        kept = (counts > 0.0) & (counts >= threshold)
        values = np.where(kept, 1.0 if self.binary else counts, 0.0)
        frame.add(self.outputs[0].name, values, self.outputs[0].dtype)


@register("hashing_term_frequency")
class HashingTermFrequency(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.size = attrs.long("num_features")
        if self.size <= 0:
            raise attrs.error("num_features", f"must be positive, found {self.size}")
        self.binary = attrs.boolean("binary", False)
        # Absent: a Spark-2 era bundle, hashed with v1. MLeap takes any value other than 1 as v2.
        self.version = 1 if attrs.long("hashUnsafeBytesVersion", 1) == 1 else 2
        self.bind(spec, STRING_LIST, vector(self.size))

    def transform(self, frame: Frame) -> None:
        tokens, rows, _ = flatten(frame.lists(self.inputs[0].name, self.who))
        codes, distinct = pd.factorize(tokens, use_na_sentinel=True) if len(tokens) else (np.zeros(0, int), [])
        hashes = murmur3.hash_strings([str(t) for t in distinct], self.version).astype(np.int64)
        # A null term hashes to the seed itself (Spark's murmur3Hash(null)).
        token_hashes = np.where(codes >= 0, hashes[np.maximum(codes, 0)] if len(hashes) else 0, murmur3.SEED)
        counts = count_matrix(rows, murmur3.non_negative_mod(token_hashes, self.size), frame.n_rows, self.size)
        values = np.where(counts > 0.0, 1.0, 0.0) if self.binary else counts
        frame.add(self.outputs[0].name, values, self.outputs[0].dtype)


_REAL_TYPES = frozenset({"short", "int", "integer", "long", "float", "double"})
_INTEGER_TYPES = frozenset({"byte", "short", "int", "integer", "long"})
_BASIC_TYPES = frozenset({"boolean", "byte", "short", "int", "long", "float", "double", "string"})


@register("feature_hasher")
class FeatureHasher(Op):
    """Spark's ``FeatureHasher``: a real column adds its value at the hash of its *original* name; any
    other column (string, boolean, byte, or numeric listed in ``categorical_cols``) adds 1.0 at the
    hash of ``"name=value"``. Always murmur3 v2."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        self.size = attrs.long("num_features")
        if self.size <= 0:
            raise attrs.error("num_features", f"must be positive, found {self.size}")
        categorical = set(attrs.string_list("categorical_cols"))
        shapes = attrs.data_shape_list("input_shapes")
        types = attrs.basic_type_list("basic_types")
        names = attrs.string_list("input_names")
        columns = spec.numbered("inputs", "input")
        if not (len(shapes) == len(types) == len(names) == len(columns)):
            raise spec.error(
                f"has {len(columns)} input ports, {len(names)} input_names, {len(types)} basic_types "
                f"and {len(shapes)} input_shapes; they must agree"
            )
        for i, (shape, base) in enumerate(zip(shapes, types)):
            if shape.shape != "scalar":
                raise attrs.error(
                    "input_shapes", f"element {i}: feature_hasher takes scalars only, found {shape.shape}"
                )
            if base not in _BASIC_TYPES:
                raise attrs.error("basic_types", f"element {i}: unsupported type {base!r}")
        self.names = names
        self.bases = ["integer" if base == "int" else base for base in types]
        self.real = [base in _REAL_TYPES and name not in categorical for base, name in zip(types, names)]
        self.real_index = [int(murmur3.non_negative_mod(murmur3.hash_string(name, 2), self.size)) for name in names]
        for column, base, shape in zip(columns, self.bases, shapes):
            self.inputs.append(Column(column, DataType(base, nullable=shape.nullable)))
        self.outputs.append(Column(spec.output("output"), vector(self.size)))

    def transform(self, frame: Frame) -> None:
        out = np.zeros((frame.n_rows, self.size))
        every_row = np.arange(frame.n_rows)
        # Columns in input order, so colliding values are summed in MLeap's order.
        for column, name, base, real, index in zip(self.inputs, self.names, self.bases, self.real, self.real_index):
            values = frame.get(column.name, self.who)
            present = ~frame.null_mask(column.name)  # a null value contributes nothing
            if real:
                if values.dtype == object:
                    raise ScoringError(f"{self.who}: input column {column.name!r} must be numeric, found strings")
                out[present, index] += values[present].astype(np.float64)
                continue
            if base in _INTEGER_TYPES and values.dtype != object:
                with np.errstate(invalid="ignore"):
                    whole = np.isfinite(values) & (values == np.trunc(values))
                frame.reject(
                    present & ~whole, f"{self.who}: input column {column.name!r} ({base}) holds a non-integral value"
                )
                present &= whole
            rows = every_row[present]
            # Building "name=value" strings is per row: Java's toString of each value.
            keys = [f"{name}={java_string_of(v, base)}" for v in values[present]]
            codes, distinct = pd.factorize(np.array(keys, dtype=object)) if keys else (np.zeros(0, int), [])
            hashes = murmur3.hash_strings(list(distinct), 2)
            indices = murmur3.non_negative_mod(hashes[codes], self.size) if keys else np.zeros(0, np.int64)
            np.add.at(out, (rows, indices), 1.0)
        frame.add(self.outputs[0].name, out, self.outputs[0].dtype)


@register("idf")
class IDF(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        self.idf = spec.attributes.tensor("idf")
        # MLeap declares both sides without a size.
        self.bind(spec, vector(None), vector(None))

    def transform(self, frame: Frame) -> None:
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        frame.require_non_null(source, self.who)
        if values.ndim != 2 or values.shape[1] > self.idf.size:
            found = values.shape[1] if values.ndim == 2 else "a scalar"
            raise ScoringError(
                f"{self.who}: input column {source!r} has size {found}, the idf vector has {self.idf.size} values"
            )
        frame.add(self.outputs[0].name, values * self.idf[: values.shape[1]], self.outputs[0].dtype)


@register("word_to_vector")
class WordToVector(Op):
    """Average (``default`` kernel) or L2-normalized sum (``sqrt``) of the word vectors of a sentence."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        words = attrs.string_list("words")
        if not words:
            raise attrs.error("words", "is empty")
        indices = attrs.long_list("indices", list(range(len(words))))
        if len(indices) != len(words):
            raise attrs.error("indices", f"has {len(indices)} values for {len(words)} words")
        raw = attrs.raw("word_vectors")
        is_tensor = isinstance(raw, dict) and raw.get("type") == "tensor"
        flat = attrs.tensor("word_vectors") if is_tensor else attrs.double_list("word_vectors")
        self.size = flat.size // len(words)
        if self.size == 0:
            raise attrs.error("word_vectors", f"has {flat.size} values, fewer than one per word ({len(words)} words)")
        rows = flat.size // self.size
        bad = [i for i in indices if not 0 <= i < rows]
        if bad:
            raise attrs.error("indices", f"index {bad[0]} has no vector ({rows} vectors of size {self.size})")
        self.kernel = attrs.string("kernel", "default")
        if self.kernel not in ("default", "sqrt"):
            raise attrs.error("kernel", f"{self.kernel!r} is not one of default, sqrt")
        self.vectors = flat[: rows * self.size].reshape(rows, self.size)
        lookup = dict(zip(words, indices))  # duplicate words: the last one wins, as in MLeap's map
        self.index = pd.Index(list(lookup), dtype=object)
        self.rows_of_words = np.array(list(lookup.values()), dtype=np.int64)
        self.bind(spec, STRING_LIST, vector(self.size))

    def transform(self, frame: Frame) -> None:
        rows, positions, lengths = token_positions(self, frame, self.index)
        known = positions >= 0
        sums = np.zeros((frame.n_rows, self.size))
        # Unbuffered and in token order: each row's sum is accumulated exactly as MLeap's axpy loop.
        np.add.at(sums, rows[known], self.vectors[self.rows_of_words[positions[known]]])
        empty = lengths == 0
        if self.kernel == "default":
            with np.errstate(divide="ignore", invalid="ignore"):
                reciprocal = 1.0 / lengths.astype(np.float64)
            with np.errstate(invalid="ignore"):
                values = sums * reciprocal[:, None]  # multiply by the reciprocal, as MLeap's scal
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = sums / np.sqrt(blas.ddot_j11(sums, sums))[:, None]  # all-OOV: 0/0 = NaN, as MLeap
        values[empty] = 0.0  # an empty sentence is an empty sparse vector
        frame.add(self.outputs[0].name, values, self.outputs[0].dtype)
