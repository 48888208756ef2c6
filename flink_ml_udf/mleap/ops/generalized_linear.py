"""``generalized_linear_regression``: a linear predictor through a family's inverse link.

Transcendentals go through numpy's vectorized ``exp``/``log``; the JVM's HotSpot intrinsics differ
from them in the last bit now and then, so this op agrees with MLeap to a tolerance, not bit for bit
(the spec, models.md §6.6, measures the gap).
"""

from __future__ import annotations

import math
import sys
from typing import Callable, Dict

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Regressor
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL

DOUBLE_MAX = sys.float_info.max


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
        self.link_column = self.bind_optional_output(spec, "link_prediction", DOUBLE_NOT_NULL)

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
