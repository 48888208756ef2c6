"""Vector feature ops: binarizer, elementwise_product, normalizer, vector_slicer, chi_sq_selector,
vector_indexer, dct, pca, interaction and both polynomial expansions.

Frames hold vectors dense (see :mod:`flink_ml_udf.mleap.frame`), so where MLeap keeps a sparse input
sparse, these ops produce the dense values of MLeap's result. Index maps, matrices and monomial
tables are built once at load; ``transform`` is whole-batch array work, with loops only over
features or monomials, never over rows.
"""

from __future__ import annotations

import math
import re
from typing import List, Optional, Tuple

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.attributes import Attributes
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import Affine, rows_times
from flink_ml_udf.mleap.ops.base import Column, Op, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, DataType, vector

HANDLE_INVALID = ("error", "skip", "keep")


def vector_input(op: Op, frame: Frame, column: str, size: Optional[int]) -> np.ndarray:
    """The rows of vector column ``column``, non-null, ``size`` wide when ``size`` is known."""
    values = frame.get(column, op.who)
    frame.require_non_null(column, op.who)
    if values.ndim != 2 or (size is not None and values.shape[1] != size):
        found = values.shape[1] if values.ndim == 2 else f"a {values.ndim}-D array"
        raise ScoringError(f"{op.who}: input column {column!r} has size {found}, expected {size}")
    return np.asarray(values, dtype=np.float64)


class VectorOp(Op):
    """One vector column in, one column out; subclasses compute the output rows."""

    def __init__(self, spec: NodeSpec, size: Optional[int], output: DataType) -> None:
        super().__init__(spec)
        self.size = size
        self.inputs.append(Column(spec.input("input"), vector(size)))
        self.outputs.append(Column(spec.output("output"), output))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def transform(self, frame: Frame) -> None:
        x = vector_input(self, frame, self.inputs[0].name, self.size)
        out = self.outputs[0]
        frame.add(out.name, self.compute(x, frame), out.dtype)


def _index_list(attrs: Attributes, name: str, values: List[int], bound: Optional[int]) -> np.ndarray:
    """Feature indices read from ``name``; each must address an element of a ``bound``-wide vector."""
    array = np.asarray(values, dtype=np.int64).reshape(-1)
    if bound is not None and ((array < 0) | (array >= bound)).any():
        bad = int(array[(array < 0) | (array >= bound)][0])
        raise attrs.error(name, f"index {bad} is outside a vector of size {bound}")
    return array


# -- binarizer ------------------------------------------------------------------------------------


def _binarizer_shape(spec: NodeSpec) -> DataType:
    """``input_shapes`` is one data shape in Spark bundles and a one-element list in sklearn ones;
    both forms are read for both ops. MLeap 0.8 wrote the single shape as ``input_shape``."""
    attrs = spec.attributes
    name = "input_shape" if "input_shape" in attrs and "input_shapes" not in attrs else "input_shapes"
    raw = attrs.raw(name)
    if isinstance(raw, dict) and raw.get("type") == "list":
        shapes = attrs.data_shape_list(name)
        if not shapes:
            raise attrs.error(name, "the list of data shapes is empty")
        shape = shapes[0]
    else:
        shape = attrs.data_shape(name)
    if shape.shape not in ("scalar", "tensor"):
        raise attrs.error(name, f"a binarizer takes a scalar or a tensor, not a {shape.shape}")
    return shape


@register("binarizer", "sklearn_binarizer")
class Binarizer(Op):
    """``1.0 if x > threshold else 0.0`` (NaN gives 0.0), on a scalar or element-wise on a tensor."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        if spec.op == "binarizer" and "thresholds" in attrs:
            if "threshold" in attrs:
                raise attrs.error("thresholds", "both 'threshold' and 'thresholds' are present")
            raise attrs.error("thresholds", "multi-column Binarizer is not supported by MLeap")
        self.threshold = attrs.double("threshold")
        shape = _binarizer_shape(spec)
        self.scalar = shape.shape == "scalar"
        if self.scalar:  # MLeap: a scalar binarizer is non-null in and out, a tensor one nullable
            dtype = DataType("double", nullable=False)
        else:
            dtype = DataType("double", "tensor", shape.dims, nullable=True)
        self.inputs.append(Column(spec.input("input"), dtype))
        self.outputs.append(Column(spec.output("output"), dtype if not self.scalar else DOUBLE_NOT_NULL))

    def transform(self, frame: Frame) -> None:
        column = self.inputs[0].name
        x = np.asarray(frame.get(column, self.who), dtype=np.float64)
        frame.require_non_null(column, self.who)
        if self.scalar and x.ndim != 1:
            raise ScoringError(f"{self.who}: input column {column!r} must hold scalars, found a {x.ndim}-D array")
        if not self.scalar and x.ndim < 2:
            raise ScoringError(f"{self.who}: input column {column!r} must hold tensors, found scalars")
        with np.errstate(invalid="ignore"):
            out = (x > self.threshold).astype(np.float64)
        frame.add(self.outputs[0].name, out, self.outputs[0].dtype)


# -- element-wise ops -----------------------------------------------------------------------------


@register("elementwise_product")
class ElementwiseProduct(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        weights = spec.attributes.tensor("scaling_vec")
        super().__init__(spec, weights.size, vector(weights.size))
        self.kernel = Affine(scale=weights)

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return self.kernel(x)


@register("normalizer")
class Normalizer(VectorOp):
    """Spark's ``Vectors.norm`` with sequential sums, then division; a zero norm leaves the row as is."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.p = attrs.double("p_norm")
        if math.isnan(self.p) or self.p < 1.0:
            raise attrs.error(
                "p_norm",
                f"must be >= 1, found {self.p} (JSON bundles store an infinite p as null, which reads as NaN)",
            )
        size = attrs.long("input_size")
        super().__init__(spec, size, vector(size))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        if x.shape[1] == 0:
            return x.copy()
        magnitude = np.abs(x)
        if self.p == 1.0:
            norm = np.add.accumulate(magnitude, axis=1)[:, -1]
        elif self.p == 2.0:
            norm = np.sqrt(np.add.accumulate(x * x, axis=1)[:, -1])
        elif math.isinf(self.p):  # Spark starts the max at 0.0 and never picks a NaN
            norm = np.where(np.isnan(magnitude), 0.0, magnitude).max(axis=1, initial=0.0)
        else:
            with np.errstate(over="ignore"):
                total = np.add.accumulate(np.power(magnitude, self.p), axis=1)[:, -1]
                norm = np.power(total, 1.0 / self.p)
        norm = norm[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(norm != 0.0, x / norm, x)


# -- selections -----------------------------------------------------------------------------------


@register("vector_slicer")
class VectorSlicer(VectorOp):
    """``indices`` then ``named_indices`` (names were resolved to positions at export)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("input_size")
        names = attrs.string_list("names")
        named = attrs.long_list("named_indices")
        if len(names) != len(named):
            raise attrs.error("named_indices", f"has {len(named)} entries for {len(names)} names")
        self.selected = np.concatenate(
            [
                _index_list(attrs, "indices", attrs.long_list("indices"), size),
                _index_list(attrs, "named_indices", named, size),
            ]
        )
        super().__init__(spec, size, vector(len(self.selected)))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return x[:, self.selected]


@register("chi_sq_selector")
class ChiSqSelector(VectorOp):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("input_size")
        self.selected = _index_list(attrs, "filter_indices", attrs.long_list("filter_indices"), size)
        super().__init__(spec, size, vector(len(self.selected)))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return x[:, self.selected]


@register("vector_indexer")
class VectorIndexer(VectorOp):
    """Replace each categorical feature by its category index (exact double lookup: -0.0 finds 0.0,
    NaN finds nothing). ``skip`` is an error in MLeap's transformer, not a row skip."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        size = attrs.long("num_features")
        self.handle_invalid = attrs.string("handle_invalid", "error")
        if self.handle_invalid not in HANDLE_INVALID:
            raise attrs.error("handle_invalid", f"{self.handle_invalid!r} is not one of {', '.join(HANDLE_INVALID)}")
        self.maps: List[Tuple[int, np.ndarray, np.ndarray, int]] = []
        for key in _index_list(attrs, "keys", attrs.long_list("keys"), size).tolist():
            categories = attrs.double_list(f"key_{key}_keys")
            indices = attrs.long_list(f"key_{key}_values")
            if len(indices) != categories.size:
                raise attrs.error(f"key_{key}_values", f"has {len(indices)} entries for {categories.size} keys")
            # A Scala Map from the pairs: duplicates keep the last index; -0.0 and 0.0 are one key.
            mapping = {value + 0.0: float(index) for value, index in zip(categories.tolist(), indices)}
            matchable = sorted(k for k in mapping if not math.isnan(k))
            self.maps.append(
                (key, np.array(matchable, dtype=np.float64), np.array([mapping[k] for k in matchable]), len(mapping))
            )
        super().__init__(spec, size, vector(size))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        out = x.copy()
        column = self.inputs[0].name
        for key, categories, indices, count in self.maps:
            values = x[:, key]
            if categories.size:
                position = np.minimum(np.searchsorted(categories, values), categories.size - 1)
                found = categories[position] == values
                mapped = indices[position]
            else:
                found = np.zeros(len(values), dtype=bool)
                mapped = np.zeros(len(values))
            if self.handle_invalid == "keep":
                out[:, key] = np.where(found, mapped, float(count))
                continue
            why = (
                "handle_invalid is 'error'"
                if self.handle_invalid == "error"
                else "handle_invalid 'skip' makes MLeap's vector_indexer fail, not skip the row"
            )
            frame.reject(~found, f"{self.who}: column {column!r} holds an unseen category at feature {key} ({why})")
            out[:, key] = np.where(found, mapped, 0.0)
        return out


# -- linear maps ----------------------------------------------------------------------------------


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` (forward ``D @ x``; its transpose is the inverse, DCT-III)."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    phase = ((2 * i + 1) * k) % (4 * n)  # reduce the angle exactly before scaling by pi
    matrix = np.cos(np.pi * phase / (2.0 * n)) * np.sqrt(2.0 / n)
    matrix[0, :] = np.sqrt(1.0 / n)
    return matrix


@register("dct")
class DCT(VectorOp):
    """Orthonormal DCT-II (forward) or DCT-III (inverse), as JTransforms with ``scale=true``. Agrees with
    the JVM to a few ulps, not bit for bit: JTransforms computes through an FFT."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.inverse = attrs.boolean("inverse")
        size = attrs.long("input_size")
        if size < 1:
            raise attrs.error("input_size", f"must be at least 1, found {size}")
        super().__init__(spec, size, vector(size))
        spec.reserve(3 * 8 * size * size, f"a {size}x{size} DCT matrix", "input_size")
        matrix = _dct_matrix(size)
        self.matrix = matrix if self.inverse else matrix.T

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        return rows_times(x, self.matrix)


@register("pca")
class PCA(VectorOp):
    """``x @ PC`` with PC the ``[n, k]`` column-major ``principal_components``; no centering.

    The sklearn writer stores ``components_`` (k×n) row-major under dims ``[k, n]``; read column-major,
    that is ``components_.T`` only when k == n, so such a bundle scores ``components_ @ x``, not
    sklearn's ``(x - mean_) @ components_.T`` (MLeap's behaviour, kept)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        values = attrs.tensor("principal_components")
        dims = attrs.tensor_dims("principal_components")
        if dims is None or len(dims) != 2:
            raise attrs.error("principal_components", f"expected a 2-D tensor, found dimensions {dims}")
        self.components = values.reshape(dims, order="F")
        super().__init__(spec, dims[0], vector(None))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        # The JVM runs netlib's dgemv('T'), whose summation order is not pinned down here: numpy's
        # product agrees to the last few bits.
        return rows_times(x, self.components)


# -- interaction ----------------------------------------------------------------------------------


@register("interaction")
class Interaction(Op):
    """Spark's Interaction: each input expands to numeric values and one-hot categories, and the
    output is the row-wise Kronecker product of those expansions (first input most significant).

    MLeap emits every numeric element, zeros included, and only the hot slot of a categorical one,
    multiplying from the last input to the first; the dense result here keeps both rules, so a
    non-emitted slot is 0.0 even when a NaN or Inf sits in another input.
    """

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        columns = spec.numbered("inputs", "input")
        count = attrs.long("num_inputs")
        if count != len(columns):
            raise attrs.error("num_inputs", f"is {count} but the node has {len(columns)} numbered input ports")
        shapes = attrs.data_shape_list("input_shapes")
        if len(shapes) != count:
            raise attrs.error("input_shapes", f"has {len(shapes)} shapes for {count} inputs")
        self.features: List[np.ndarray] = []
        total = 1
        for i, (column, shape) in enumerate(zip(columns, shapes)):
            counts = np.asarray(attrs.long_list(f"num_features{i}"), dtype=np.int64)
            if counts.size == 0 or (counts <= 0).any():
                raise attrs.error(f"num_features{i}", f"feature counts must all be positive, found {counts.tolist()}")
            if shape.shape == "scalar":
                if counts.size != 1:
                    raise attrs.error(f"num_features{i}", f"a scalar input has one feature, found {counts.size}")
                self.inputs.append(Column(column, DataType("double", nullable=shape.nullable)))
            elif shape.shape == "tensor":
                self.inputs.append(Column(column, vector(counts.size)))
            else:
                raise attrs.error(
                    "input_shapes", f"input {column!r}: expected a scalar or a tensor, not a {shape.shape}"
                )
            self.features.append(counts)
            total *= int(counts.sum())
        self.outputs.append(Column(spec.output("output"), vector(total)))

    def _expand(self, frame: Frame, column: Column, counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(values, emitted) of one input, ``sum(counts)`` wide."""
        x = np.asarray(frame.get(column.name, self.who), dtype=np.float64)
        nulls = frame.nulls(column.name)
        if nulls is not None:
            frame.reject(nulls, f"{self.who}: input column {column.name!r} is null (values to interact cannot be null)")
        x = x.reshape(len(x), -1)
        if x.shape[1] != counts.size:
            raise ScoringError(
                f"{self.who}: input column {column.name!r} has size {x.shape[1]}, expected {counts.size}"
            )
        rows = np.arange(len(x))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        values = np.zeros((len(x), int(counts.sum())))
        emitted = np.zeros(values.shape, dtype=bool)
        for j, (n, offset) in enumerate(zip(counts.tolist(), offsets.tolist())):
            v = x[:, j]
            if n == 1:
                values[:, offset] = v
                emitted[:, offset] = True
                continue
            with np.errstate(invalid="ignore"):
                valid = (v >= 0.0) & (v == np.trunc(v)) & (v < n)
            frame.reject(
                ~valid,
                f"{self.who}: input column {column.name!r} element {j} must hold a category index in [0, {n}), "
                "found another value",
            )
            hot = rows[valid]
            slot = offset + v[valid].astype(np.int64)
            values[hot, slot] = 1.0
            emitted[hot, slot] = True
        return values, emitted

    def transform(self, frame: Frame) -> None:
        product = np.ones((frame.n_rows, 1))
        emitted = np.ones((frame.n_rows, 1), dtype=bool)
        for column, counts in reversed(list(zip(self.inputs, self.features))):
            values, mask = self._expand(frame, column, counts)
            with np.errstate(invalid="ignore", over="ignore"):  # the previous product times this value
                product = (product[:, None, :] * values[:, :, None]).reshape(frame.n_rows, -1)
            emitted = (emitted[:, None, :] & mask[:, :, None]).reshape(frame.n_rows, -1)
        out = self.outputs[0]
        frame.add(out.name, np.where(emitted, product, 0.0), out.dtype)


# -- polynomial expansions ------------------------------------------------------------------------


def _spark_monomials(n: int, degree: int) -> np.ndarray:
    """Exponent rows in Spark's PolynomialExpansion order (grouped by the power of the last feature,
    recursively), constant term dropped. Walked with an explicit stack (features can number in the
    thousands); the ``(count, n)`` table is the caller's to budget first (:func:`monomial_count`)."""
    table = np.zeros((monomial_count(n, degree), n), dtype=np.int64)
    row = 0
    # (feature, degree left, powers chosen so far from the last feature down), next to expand on top
    stack: List[Tuple[int, int, Tuple[int, ...]]] = [(n - 1, degree, ())]
    while stack:
        last, deg, prefix = stack.pop()
        if deg == 0 or last < 0:
            for step, power in enumerate(prefix):
                table[row, n - 1 - step] = power
            row += 1
            continue
        stack.extend((last - 1, deg - power, prefix + (power,)) for power in range(deg, -1, -1))
    return table[1:]


def monomial_count(n: int, degree: int) -> int:
    """Monomials of ``n`` features up to ``degree``, the constant included: C(n + degree, degree)."""
    return math.comb(n + degree, degree)


@register("polynomial_expansion")
class PolynomialExpansion(VectorOp):
    """Every monomial up to ``degree``, built as Spark builds it: repeated multiplication from the
    last feature to the first, a zero partial product ending the monomial at 0.0 (so ``0 * Inf``
    terms stay 0.0 instead of NaN)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        degree = attrs.long("degree")
        size = attrs.long("input_size")
        if degree < 1 or size < 0:
            raise attrs.error("degree", f"expected degree >= 1 and input_size >= 0, found {degree} and {size}")
        count = monomial_count(size, degree) - 1
        spec.reserve(8 * (count + 1) * max(size, 1), f"a table of {count} monomials of {size} features", "degree")
        self.exponents = _spark_monomials(size, degree)
        super().__init__(spec, size, vector(count))

    def compute(self, x: np.ndarray, frame: Frame) -> np.ndarray:
        product = np.ones((len(x), len(self.exponents)))
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):
            for feature in range(x.shape[1] - 1, -1, -1):
                value = x[:, feature : feature + 1]
                for power in range(1, int(self.exponents[:, feature].max(initial=0)) + 1):
                    columns = self.exponents[:, feature] >= power
                    part = product[:, columns]
                    product[:, columns] = np.where(part == 0.0, 0.0, part * value)
        return product


_TERM = re.compile(r"x(\d+)(?:\^(\d+))?", re.ASCII)


def _java_split_commas(text: str) -> List[str]:
    """Java ``String.split(",")``: trailing empty pieces dropped, but ``""`` stays one piece."""
    if text == "":
        return [""]
    pieces = text.split(",")
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


@register("sklearn_polynomial_expansion")
class SklearnPolynomialExpansion(Op):
    """Monomials from sklearn's feature names (``"[x0,x1,x0^2,x0 x1,x1^2]"``), each the product of
    ``Math.pow(x_i, p)`` in the order written; a piece naming no feature (the bias ``1``) is 1.0."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        text = attrs.string("combinations")
        self.terms: List[List[Tuple[int, int]]] = [
            [(int(m.group(1)), int(m.group(2) or 1)) for m in _TERM.finditer(piece)]
            for piece in _java_split_commas(text)
        ]
        indices = {index for terms in self.terms for index, _ in terms}
        self.width = max(indices) + 1 if indices else 0
        self.inputs.append(Column(spec.input("input"), vector(len(indices))))
        self.outputs.append(Column(spec.output("output"), vector(len(self.terms))))

    def transform(self, frame: Frame) -> None:
        column = self.inputs[0].name
        x = vector_input(self, frame, column, None)
        if x.shape[1] < self.width:
            raise ScoringError(
                f"{self.who}: input column {column!r} has size {x.shape[1]}, but the combinations use feature "
                f"x{self.width - 1}"
            )
        out = np.ones((len(x), len(self.terms)))
        with np.errstate(all="ignore"):
            for position, terms in enumerate(self.terms):
                for index, power in terms:
                    out[:, position] *= np.power(x[:, index], float(power))
        frame.add(self.outputs[0].name, out, self.outputs[0].dtype)
