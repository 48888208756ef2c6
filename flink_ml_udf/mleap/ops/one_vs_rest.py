"""``one_vs_rest``: one binary classifier sub-model per class, the most probable positive wins."""

from __future__ import annotations

import posixpath
from typing import Tuple

import numpy as np

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.kernels import argmax_total_order
from flink_ml_udf.mleap.ops.base import Column, op_class, register
from flink_ml_udf.mleap.ops.model_base import Classifier
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec, Socket
from flink_ml_udf.mleap.types import DOUBLE, vector


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
        self.probability_column = self.bind_optional_output(spec, "probability", DOUBLE)
        self.raw_column = self.bind_optional_output(spec, "raw_prediction", vector(num_classes))

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
