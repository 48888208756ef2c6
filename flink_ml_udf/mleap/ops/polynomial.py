"""``polynomial_expansion`` (Spark) and ``sklearn_polynomial_expansion``: monomials of a vector's
features, built in each library's order; monomial tables are built once at load."""

from __future__ import annotations

import math
import re
from typing import List, Tuple

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Op, VectorOp, register
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


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
        self.bind(spec, vector(len(indices)), vector(len(self.terms)))

    def transform(self, frame: Frame) -> None:
        column = self.inputs[0].name
        x = frame.vectors(column, self.who)
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
