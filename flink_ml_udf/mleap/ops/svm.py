"""Linear SVMs: ``support_vector_machine``, ``linear_svc`` and the scikit-learn-only ``svm``, all a
margin ``x·coefficients + intercept`` through :class:`Classifier`.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec


class _LinearMargin(ExactWidth, Classifier):
    """``m = x·coefficients + intercept`` with ``raw = [-m, m]``."""

    coefficients: np.ndarray
    intercept: float

    def load_margin(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.coefficients = attrs.tensor("coefficients")
        self.intercept = attrs.double("intercept")
        num_classes = attrs.long("num_classes")
        if num_classes != 2:
            raise attrs.error("num_classes", f"a linear SVM is binary, found {num_classes} classes")
        super().__init__(spec, self.coefficients.size, 2)

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.numerics.features_dot(x, self.coefficients) + self.intercept

    def raw(self, x: np.ndarray) -> np.ndarray:
        m = self.margin(x)
        return np.column_stack((-m, m))


@register("support_vector_machine")
class SupportVectorMachine(_LinearMargin):
    """The mleap-spark-extension SVM. Its ``probability`` is the raw margins, unchanged (MLeap's
    identity ``rawToProbability``), and without ``thresholds`` there is no 0.5/0.5 default."""

    def __init__(self, spec: NodeSpec) -> None:
        self.load_margin(spec)

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        return raw.copy()


@register("linear_svc")
class LinearSVC(_LinearMargin):
    """Spark's ``LinearSVCModel``: ``prediction = 1.0 if m > threshold``. Not probabilistic: it has
    no ``probability`` port (one given in the node is ignored, as the JVM does) and ``one_vs_rest``
    uses its hard prediction."""

    probabilistic = False

    def __init__(self, spec: NodeSpec) -> None:
        self.threshold = spec.attributes.double("threshold")
        self.load_margin(spec)
        self.thresholds = None
        if self.probability_column is not None:
            self.outputs = [c for c in self.outputs if c.name != self.probability_column]
            self.probability_column = None

    def raw_to_prediction(self, raw: np.ndarray) -> np.ndarray:
        return (raw[:, 1] > self.threshold).astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.margin(x) > self.threshold).astype(np.float64)


@register("svm")
class SklearnSVM(_LinearMargin):
    """The op the Python ``mleap`` package writes for scikit-learn ``SVC``/``LinearSVC``.

    The JVM registers no ``svm`` op, so MLeap itself cannot load these bundles; here they score as
    the linear SVM the writer describes: ``decision = x·coefficients + intercept`` and
    ``prediction = 1.0 if decision > 0 else 0.0`` (the index of sklearn's ``classes_``). The writer
    keeps only the first row of ``coef_``, so only binary models (``num_classes`` 2) are accepted;
    raw and probability, if a node asks for them, are the margins ``[-m, m]``.
    """

    def __init__(self, spec: NodeSpec) -> None:
        self.load_margin(spec)

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        return raw.copy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.margin(x) > 0.0).astype(np.float64)
