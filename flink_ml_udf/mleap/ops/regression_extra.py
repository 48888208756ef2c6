"""``isotonic_regression``, ``aft_survival_regression`` and ``generalized_linear_regression``.

Transcendentals go through numpy's vectorized ``exp``/``log``; the JVM's HotSpot intrinsics differ
from them in the last bit now and then, so these ops agree with MLeap to a tolerance, not bit for bit
(the spec, models.md §6.6, measures the gap).
"""

from __future__ import annotations

import math
import sys
from typing import Callable, Dict, Optional

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import java_binary_search
from flink_ml_udf.mleap.ops.base import Column, register
from flink_ml_udf.mleap.ops.model_base import Regressor
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, vector

DOUBLE_MAX = sys.float_info.max


# -- isotonic --------------------------------------------------------------------------------------


@register("isotonic_regression")
class IsotonicRegression(Regressor):
    """Piecewise-linear interpolation between ``boundaries``; constant outside them.

    With ``feature_index`` the input is a vector and one of its entries is used; without it the
    input is a non-nullable double scalar, as Spark wrote it for a scalar training column.
    The lookup is Java's ``Arrays.binarySearch``, ported literally (:func:`java_binary_search`):
    with duplicate boundaries it may land on any of the equal entries, and their predictions differ.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.boundaries = attrs.double_list("boundaries")
        self.predictions = attrs.double_list("predictions")
        attrs.boolean("isotonic")  # required by MLeap, unused when scoring
        self.feature_index: Optional[int] = attrs.long("feature_index", None)
        if self.boundaries.size == 0:
            raise attrs.error("boundaries", "is empty; the model needs at least one boundary")
        if self.predictions.size != self.boundaries.size:
            raise attrs.error(
                "predictions", f"has {self.predictions.size} values for {self.boundaries.size} boundaries"
            )
        if self.feature_index is not None and self.feature_index < 0:
            raise attrs.error("feature_index", f"must be >= 0, found {self.feature_index}")
        super().__init__(spec, None)
        if self.feature_index is None:
            self.inputs[0] = Column(self.inputs[0].name, DOUBLE_NOT_NULL)

    def features(self, frame: Frame) -> np.ndarray:
        """The one feature this model reads, as a 1-D array."""
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        if self.feature_index is None:
            nulls = frame.nulls(source)
            if nulls is not None:
                frame.reject(nulls, f"{self.who}: input column {source!r} is null (it is a non-nullable double)")
            if values.ndim != 1:
                raise ScoringError(f"{self.who}: input column {source!r} must be a double scalar, found a vector")
            return np.asarray(values, dtype=np.float64)
        frame.require_non_null(source, self.who)
        if values.ndim != 2:
            raise ScoringError(f"{self.who}: input column {source!r} must be a vector, found scalars")
        if values.shape[1] <= self.feature_index:
            raise ScoringError(
                f"{self.who}: feature_index {self.feature_index} is out of range for input column {source!r} "
                f"of {values.shape[1]} features"
            )
        return values[:, self.feature_index]

    def predict(self, x: np.ndarray) -> np.ndarray:
        b, p = self.boundaries, self.predictions
        n = b.size
        found = java_binary_search(b, x)
        insert = -found - 1
        # Interpolate between neighbours i-1 and i; clipped so rows taking another branch index safely.
        i = np.clip(insert, 1, max(n - 1, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            between = p[i - 1] + (p[i] - p[i - 1]) * (x - b[i - 1]) / (b[i] - b[i - 1]) if n > 1 else p[0]
        return np.select(
            [insert == 0, insert == n, found < 0],
            [p[0], p[n - 1], between],
            default=p[np.clip(found, 0, n - 1)],
        ).astype(np.float64)


# -- AFT survival ----------------------------------------------------------------------------------


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
        self.quantiles_column = spec.output("quantiles", required=False)
        if self.quantiles_column is not None:
            self.outputs.append(Column(self.quantiles_column, vector(probabilities.size)))

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


# -- generalized linear regression -----------------------------------------------------------------


def _probit(eta: np.ndarray) -> np.ndarray:
    # numpy has no erf and scipy is not a runtime dependency, so this one link calls math.erf per
    # element. MLeap uses commons-math3 Erf, so the result matches to a tolerance only.
    return 0.5 * (1.0 + np.frompyfunc(math.erf, 1, 1)(eta / (math.sqrt(2.0) * 1.0)).astype(np.float64))


#: link name -> inverse link (``unlink``), written in MLeap's evaluation order.
UNLINKS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda eta: eta,
    "logit": lambda eta: 1.0 / (1.0 + np.exp(-1.0 * eta)),
    "log": np.exp,
    "inverse": lambda eta: 1.0 / eta,
    "sqrt": lambda eta: eta * eta,
    "cloglog": lambda eta: 1.0 - np.exp(-1.0 * np.exp(eta)),
    "probit": _probit,
}

_EPSILON = 1e-16


def _project_gaussian(mu: np.ndarray) -> np.ndarray:
    return np.where(mu == -np.inf, -DOUBLE_MAX, np.where(mu == np.inf, DOUBLE_MAX, mu))


def _project_binomial(mu: np.ndarray) -> np.ndarray:
    return np.where(mu < _EPSILON, _EPSILON, np.where(mu > 1.0 - _EPSILON, 1.0 - _EPSILON, mu))


def _project_positive(mu: np.ndarray) -> np.ndarray:
    # -inf is caught by the first test, so only +inf reaches the second (as in Spark's code).
    return np.where(mu < _EPSILON, _EPSILON, np.where(np.isinf(mu), DOUBLE_MAX, mu))


#: family name -> (default link, projection of the fitted mean into the family's range).
FAMILIES: Dict[str, tuple] = {
    "gaussian": ("identity", _project_gaussian),
    "binomial": ("logit", _project_binomial),
    "poisson": ("log", _project_positive),
    "gamma": ("inverse", _project_positive),
}


@register("generalized_linear_regression")
class GeneralizedLinearRegression(ExactWidth, Regressor):
    """``link_prediction = η = x·β + b``; ``prediction = project_family(unlink(η))``.

    Every family/link pair is accepted, as MLeap does (it does not check Spark's supported pairs);
    Spark's ``tweedie`` family has no MLeap form and is refused at load.
    NaN passes through the projection because every comparison with it is false.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        self.coefficients = attrs.tensor("coefficients")
        self.intercept = attrs.double("intercept")
        family = attrs.string("family")
        if family not in FAMILIES:
            raise attrs.error("family", f"{family!r} is not one of {', '.join(FAMILIES)}")
        default_link, self.project = FAMILIES[family]
        link = attrs.string("link", default_link)
        if link not in UNLINKS:
            raise attrs.error("link", f"{link!r} is not one of {', '.join(UNLINKS)}")
        self.family, self.link = family, link
        self.unlink = UNLINKS[link]
        super().__init__(spec, self.coefficients.size)
        self.link_column = spec.output("link_prediction", required=False)
        if self.link_column is not None:
            self.outputs.append(Column(self.link_column, DOUBLE_NOT_NULL))

    def eta(self, x: np.ndarray) -> np.ndarray:
        return self.numerics.features_dot(x, self.coefficients) + self.intercept

    def fitted(self, eta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return self.project(self.unlink(eta)).astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.fitted(self.eta(x))

    def transform(self, frame: Frame) -> None:
        eta = self.eta(self.features(frame))
        frame.add(self.outputs[0].name, self.fitted(eta), self.outputs[0].dtype)
        if self.link_column is not None:
            frame.add(self.link_column, eta, DOUBLE_NOT_NULL)
