"""What every model op shares: a ``features`` vector in, a ``prediction`` out, and for
classifiers the optional ``raw_prediction`` / ``probability`` ports.

The set of classifier ports present chooses MLeap's computation path (the paths agree except at
rounding ties, and the ties are real), so :class:`Classifier` replicates the choice:

=============== ============ =====================================================
raw_prediction  probability  prediction from
=============== ============ =====================================================
yes             yes/no       probability if present, else raw (``raw_to_prediction``)
no              yes          probability
no              no           the op's own ``predict`` (binary LR overrides it)
=============== ============ =====================================================
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import argmax_first
from flink_ml_udf.mleap.ops.base import Op
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DOUBLE_NOT_NULL, vector


class ModelOp(Op):
    """A model over one ``features`` vector of ``num_features`` values."""

    def __init__(self, spec: NodeSpec, num_features: Optional[int]) -> None:
        super().__init__(spec)
        self.num_features = num_features
        self.bind(spec, vector(num_features), DOUBLE_NOT_NULL, input_port="features", output_port="prediction")

    def features(self, frame: Frame) -> np.ndarray:
        source = self.inputs[0].name
        values = frame.get(source, self.who)
        frame.require_non_null(source, self.who)
        if values.ndim != 2:
            raise ScoringError(f"{self.who}: input column {source!r} must be a vector, found scalars")
        if self.num_features is not None and values.shape[1] < self.num_features:
            raise ScoringError(
                f"{self.who}: input column {source!r} has {values.shape[1]} features, expected {self.num_features}"
            )
        return values


class Regressor(ModelOp):
    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def transform(self, frame: Frame) -> None:
        frame.add(self.outputs[0].name, self.predict(self.features(frame)), self.outputs[0].dtype)


class Classifier(ModelOp):
    """A probabilistic classifier: ``raw`` scores, ``probability`` from raw, thresholds optional."""

    def __init__(self, spec: NodeSpec, num_features: Optional[int], num_classes: int) -> None:
        super().__init__(spec, num_features)
        self.num_classes = num_classes
        self.thresholds: Optional[np.ndarray] = spec.attributes.double_list("thresholds", None)
        self.raw_column = self.bind_optional_output(spec, "raw_prediction", vector(num_classes))
        self.probability_column = self.bind_optional_output(spec, "probability", vector(num_classes))

    def check_thresholds_length(self, spec: NodeSpec) -> None:
        """Tree and naive Bayes classifiers refuse thresholds of the wrong length at load."""
        if self.thresholds is not None and len(self.thresholds) != self.num_classes:
            raise spec.attributes.error(
                "thresholds", f"has {len(self.thresholds)} values, expected num_classes = {self.num_classes}"
            )

    # The three parts each classifier defines.
    def raw(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.probability_to_prediction(self.raw_to_probability(self.raw(x)))

    def probability_to_prediction(self, probability: np.ndarray) -> np.ndarray:
        if self.thresholds is None:
            return argmax_first(probability).astype(np.float64)
        k = min(probability.shape[1], len(self.thresholds))
        t = self.thresholds[:k]
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.where(t == 0.0, np.inf, probability[:, :k] / np.where(t == 0.0, 1.0, t))
        return argmax_first(scaled).astype(np.float64)

    def raw_to_prediction(self, raw: np.ndarray) -> np.ndarray:
        if self.thresholds is not None:
            return self.probability_to_prediction(self.raw_to_probability(raw))
        return argmax_first(raw).astype(np.float64)

    def transform(self, frame: Frame) -> None:
        x = self.features(frame)
        raw = probability = None
        if self.raw_column is not None:
            raw = self.raw(x)
            if self.probability_column is not None:
                probability = self.raw_to_probability(raw)
                prediction = self.probability_to_prediction(probability)
            else:
                prediction = self.raw_to_prediction(raw)
        elif self.probability_column is not None:
            probability = self.raw_to_probability(self.raw(x))
            prediction = self.probability_to_prediction(probability)
        else:
            prediction = self.predict(x)
        for column in self.outputs:
            if column.name == self.outputs[0].name:
                frame.add(column.name, prediction, column.dtype)
            elif column.name == self.raw_column:
                frame.add(column.name, raw, vector(raw.shape[1]))
            else:
                frame.add(column.name, probability, vector(probability.shape[1]))
