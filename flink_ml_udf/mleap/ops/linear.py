"""``linear_regression`` and ``logistic_regression`` (binary and multinomial)."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.kernels import seq_sum
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier, Regressor
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec


@register("linear_regression")
class LinearRegression(ExactWidth, Regressor):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.coefficients = attrs.tensor("coefficients")
        self.intercept = attrs.double("intercept")
        super().__init__(spec, self.coefficients.size)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.numerics.features_dot(x, self.coefficients) + self.intercept


@register("logistic_regression")
def logistic_regression(spec: NodeSpec):
    """``num_classes > 2`` selects the multinomial model; anything else (2 included) is binary."""
    if spec.attributes.long("num_classes") > 2:
        return MultinomialLogisticRegression(spec)
    return BinaryLogisticRegression(spec)


class BinaryLogisticRegression(ExactWidth, Classifier):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.coefficients = attrs.tensor("coefficients")
        self.intercept = attrs.double("intercept")
        self.threshold = attrs.double("threshold", 0.5)
        super().__init__(spec, self.coefficients.size, 2)
        self.thresholds = None  # binary LR ignores a thresholds list; it has its own threshold

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.numerics.features_dot(x, self.coefficients) + self.intercept

    def raw(self, x: np.ndarray) -> np.ndarray:
        m = self.margin(x)
        return np.column_stack((-m, m))

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        # Each class is the sigmoid of its own raw score (MLeap does not compute 1 - p).
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-raw))

    def probability_to_prediction(self, probability: np.ndarray) -> np.ndarray:
        return (probability[:, 1] > self.threshold).astype(np.float64)

    def raw_to_prediction(self, raw: np.ndarray) -> np.ndarray:
        t = self.threshold
        cut = -np.inf if t == 0.0 else np.inf if t == 1.0 else np.log(t / (1.0 - t))
        return (raw[:, 1] > cut).astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (1.0 / (1.0 + np.exp(-self.margin(x))) > self.threshold).astype(np.float64)


class MultinomialLogisticRegression(ExactWidth, Classifier):
    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        intercepts = attrs.tensor("intercept_vector")
        flat = attrs.tensor("coefficient_matrix")
        k = intercepts.size
        if k == 0 or flat.size % k:
            raise attrs.error("coefficient_matrix", f"{flat.size} values do not split into {k} class rows")
        # MLeap stores matrices column-major, whatever writer produced them.
        self.coefficients = flat.reshape((k, flat.size // k), order="F")
        self.intercepts = intercepts
        super().__init__(spec, self.coefficients.shape[1], k)

    def raw(self, x: np.ndarray) -> np.ndarray:
        # With the JVM order on, the intercepts are gemv's starting value, not a final add.
        return self.numerics.features_gemv(x, self.coefficients, self.intercepts)

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        # MLeap subtracts the row maximum only when it is positive; an infinite maximum is one-hot.
        top = raw.max(axis=1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.where(top > 0, raw - top, raw))
            probability = e * (1.0 / seq_sum(e, axis=1, keepdims=True))
        infinite = np.isposinf(top[:, 0])
        if infinite.any():
            probability[infinite] = np.eye(raw.shape[1])[np.argmax(raw[infinite], axis=1)]
        return probability
