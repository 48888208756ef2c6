"""``aft_survival_regression``: Weibull accelerated failure time, with optional quantiles.

Transcendentals go through numpy's vectorized ``exp``/``log``; the JVM's HotSpot intrinsics differ
from them in the last bit now and then, so this op agrees with MLeap to a tolerance, not bit for bit
(the spec, models.md §6.6, measures the gap).
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Regressor
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import vector


@register("aft_survival_regression")
class AFTSurvivalRegression(ExactWidth, Regressor):
    """Weibull AFT: ``prediction = exp(x·β + b)``; ``quantiles_i = prediction * exp(log(-log(1-q_i)) / k)``.

    ``k = 1/scale``. MLeap uses ``log(1 - q)`` where Spark 3 uses ``log1p(-q)``; this follows MLeap.
    The per-quantile factor does not depend on the row, so it is computed once at load.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.coefficients = attrs.tensor("coefficients")
        self.intercept = attrs.double("intercept")
        probabilities = attrs.double_list("quantile_probabilities")
        scale = attrs.double("scale")
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.float64(1.0) / scale  # the JVM's double division: scale 0 gives infinity, not an error
            self.quantile_factors = np.exp(np.log(-np.log(1.0 - probabilities)) / k)
        super().__init__(spec, self.coefficients.size)
        self.quantiles_column = self.bind_optional_output(spec, "quantiles", vector(probabilities.size))

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(self.numerics.features_dot(x, self.coefficients) + self.intercept)

    def transform(self, frame: Frame) -> None:
        prediction = self.predict(self.features(frame))
        frame.add(self.outputs[0].name, prediction, self.outputs[0].dtype)
        if self.quantiles_column is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                quantiles = prediction[:, None] * self.quantile_factors[None, :]
            frame.add(self.quantiles_column, quantiles, self.outputs[1].dtype)
