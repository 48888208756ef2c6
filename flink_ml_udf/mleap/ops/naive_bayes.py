"""``naive_bayes``: multinomial or Bernoulli naive Bayes, a :class:`Classifier` like every MLeap
classifier (raw/probability/prediction path and thresholds rule). Matrices arrive column-major
(Spark's ``Matrix.toArray``) and are reshaped once at load.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.kernels import normalize_rows
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec


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
