"""Classifiers beyond logistic regression and trees: ``naive_bayes``,
``multi_layer_perceptron_classifier``, ``support_vector_machine``, ``linear_svc``, ``one_vs_rest``
and the scikit-learn-only ``svm``.

All but ``one_vs_rest`` share :class:`Classifier`, so the raw/probability/prediction path chosen by
the ports present and the thresholds rule work the same as in every other MLeap classifier.
Matrices arrive column-major (Spark's ``Matrix.toArray``) and are reshaped once at load.
"""

from __future__ import annotations

import posixpath
import sys
from typing import List, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.kernels import argmax_total_order, normalize_rows
from flink_ml_udf.mleap.ops.base import Column, op_class, register
from flink_ml_udf.mleap.ops.model_base import Classifier
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec, Socket
from flink_ml_udf.mleap.types import DOUBLE, vector

DOUBLE_MAX = sys.float_info.max


# -- naive Bayes -----------------------------------------------------------------------------------


@register("naive_bayes")
class NaiveBayes(ExactWidth, Classifier):
    """Multinomial or Bernoulli naive Bayes over log priors ``pi`` and log likelihoods ``theta``.

    Spark 3's ``gaussian`` and ``complement`` model types have no MLeap form (the JVM fails to load
    them), and ``sigma`` is ignored. MLeap does not check that multinomial features are
    non-negative; Bernoulli features must be exactly 0.0 or 1.0 (NaN included in the refusal).
    """

    MODEL_TYPES = ("multinomial", "bernoulli")

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        num_features = attrs.long("num_features")
        num_classes = attrs.long("num_classes")
        self.pi = attrs.tensor("pi")
        theta = attrs.tensor("theta")
        self.model_type = attrs.string("model_type")
        if self.model_type not in self.MODEL_TYPES:
            raise attrs.error("model_type", f"{self.model_type!r} is not one of {', '.join(self.MODEL_TYPES)}")
        k = self.pi.size
        if k != num_classes:  # checked before the matrices are built from these sizes
            raise attrs.error("pi", f"has {k} class priors, expected num_classes = {num_classes}")
        if k < 1:
            raise attrs.error("pi", "is empty: a classifier needs at least one class")
        if theta.size != k * num_features:
            raise attrs.error("theta", f"has {theta.size} values, expected {k} classes x {num_features} features")
        theta = theta.reshape((k, num_features), order="F")
        self.negative_sum = None
        if self.model_type == "multinomial":
            self.weights = theta
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                negative = np.log(1.0 - np.exp(theta))
            self.weights = theta - negative
            # MLeap adds pi, then this row sum of log(1 - p) (a gemv with a ones vector, taken in the
            # JVM's order here since it costs nothing at load), as two separate vector adds.
            self.negative_sum = blas.gemv_j11(np.ones((1, num_features)), negative, np.zeros(k))[0]
        super().__init__(spec, num_features, num_classes)
        self.check_thresholds_length(spec)

    def features(self, frame: Frame) -> np.ndarray:
        x = super().features(frame)
        if self.model_type == "bernoulli":
            bad = ~((x == 0.0) | (x == 1.0)).all(axis=1)
            frame.reject(bad, f"{self.who}: bernoulli naive Bayes needs features that are 0.0 or 1.0")
        return x

    def raw(self, x: np.ndarray) -> np.ndarray:
        raw = self.numerics.features_gemv(x, self.weights, np.zeros(len(self.weights))) + self.pi
        return raw if self.negative_sum is None else raw + self.negative_sum

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        # The max uses Java's total order, so one NaN makes it NaN and every probability NaN.
        top = raw.max(axis=1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            return normalize_rows(np.exp(raw - top))


# -- multi-layer perceptron ------------------------------------------------------------------------


@register("multi_layer_perceptron_classifier")
class MultiLayerPerceptronClassifier(ExactWidth, Classifier):
    """Spark's feed-forward net: affine + sigmoid per hidden layer, affine + softmax on top.

    ``weights`` holds, per layer pair ``(nin, nout)``, a column-major ``nout x nin`` matrix followed
    by ``nout`` biases. ``raw`` is the last affine output (before the softmax).
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        layers = attrs.long_list("layers")
        weights = attrs.tensor("weights")
        if len(layers) < 2 or min(layers) <= 0:
            raise attrs.error("layers", f"needs at least two positive layer sizes, found {layers}")
        expected = sum(nin * nout + nout for nin, nout in zip(layers, layers[1:]))
        if weights.size != expected:
            raise attrs.error("weights", f"has {weights.size} values, layers {layers} need {expected}")
        self.layers: List[Tuple[np.ndarray, np.ndarray]] = []
        offset = 0
        for nin, nout in zip(layers, layers[1:]):
            matrix = weights[offset : offset + nin * nout].reshape((nout, nin), order="F")
            offset += nin * nout
            self.layers.append((matrix, weights[offset : offset + nout].copy()))
            offset += nout
        super().__init__(spec, layers[0], layers[-1])

    def raw(self, x: np.ndarray) -> np.ndarray:
        a = x
        last = len(self.layers) - 1
        for i, (matrix, bias) in enumerate(self.layers):
            z = self.numerics.layer_affine(a, matrix, bias)
            if i == last:
                return z
            with np.errstate(over="ignore"):
                a = 1.0 / (1.0 + np.exp(-z))
        raise AssertionError("unreachable: an MLP has at least one layer")

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        # Spark's softmax starts its max at -Double.MaxValue and skips NaN (``if v > max``).
        top = np.fmax.reduce(raw, axis=1, initial=-DOUBLE_MAX, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(raw - top)
            return e / e.sum(axis=1, keepdims=True)


# -- linear SVMs -----------------------------------------------------------------------------------


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


# -- one vs rest -----------------------------------------------------------------------------------


@register("one_vs_rest")
class OneVsRest(ExactWidth):
    """One binary classifier per class (``model0 .. model{K-1}``); the class whose model gives the
    highest positive-class probability wins (Scala ``maxBy``: first maximum, a NaN beats numbers).

    Probabilistic sub-models contribute ``raw[1]`` and ``probability[1]``; ``linear_svc`` its hard
    0.0/1.0 prediction for both. ``probability`` is a scalar: the winner's probability.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        num_classes = attrs.long("num_classes")
        num_features = attrs.long("num_features")
        if num_classes < 1:
            raise attrs.error("num_classes", f"must be >= 1, found {num_classes}")
        super().__init__(spec, num_features)
        self.outputs[0] = Column(self.outputs[0].name, DOUBLE)  # MLeap declares a nullable double
        self.models = [self._load_model(spec, i) for i in range(num_classes)]
        self.probability_column = spec.output("probability", required=False)
        self.raw_column = spec.output("raw_prediction", required=False)
        if self.probability_column is not None:
            self.outputs.append(Column(self.probability_column, DOUBLE))
        if self.raw_column is not None:
            self.outputs.append(Column(self.raw_column, vector(num_classes)))

    def _load_model(self, spec: NodeSpec, i: int) -> Classifier:
        model = spec.bundle.read_model(posixpath.join(spec.folder, f"model{i}"))
        # A sub-model has no node.json: bind it to the parent's features so any classifier op loads.
        node = model.as_node(
            f"{spec.name}/model{i}", [Socket("features", self.inputs[0].name)], [Socket("prediction", "prediction")]
        )
        op = op_class(model.op, model.context)(node)
        if not isinstance(op, Classifier):
            raise BundleError(f"{model.context}: one_vs_rest needs classifier sub-models, found op {model.op!r}")
        if op.num_features is not None and op.num_features != self.num_features:
            raise BundleError(
                f"{model.context}: sub-model has {op.num_features} features, one_vs_rest has {self.num_features}"
            )
        return op

    def scores(self, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Per-class ``(raw, probability)`` columns, each ``(rows, K)``."""
        raw = np.empty((len(x), len(self.models)))
        probability = np.empty_like(raw)
        for i, model in enumerate(self.models):  # one vectorized call per class, not per row
            if getattr(model, "probabilistic", True):
                r = model.raw(x)
                raw[:, i] = r[:, 1]
                probability[:, i] = model.raw_to_probability(r)[:, 1]
            else:
                raw[:, i] = probability[:, i] = model.predict(x)
        return raw, probability

    def transform(self, frame: Frame) -> None:
        raw, probability = self.scores(self.features(frame))
        winner = argmax_total_order(probability)
        frame.add(self.outputs[0].name, winner.astype(np.float64), self.outputs[0].dtype)
        if self.probability_column is not None:
            frame.add(self.probability_column, probability[np.arange(len(winner)), winner], DOUBLE)
        if self.raw_column is not None:
            frame.add(self.raw_column, raw, vector(raw.shape[1]))
