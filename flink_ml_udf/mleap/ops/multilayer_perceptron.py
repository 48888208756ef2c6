"""``multi_layer_perceptron_classifier``: Spark's feed-forward net, a :class:`Classifier`. Weight
matrices arrive column-major (Spark's ``Matrix.toArray``) and are reshaped once at load.
"""

from __future__ import annotations

import sys
from typing import List, Tuple

import numpy as np

from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec

DOUBLE_MAX = sys.float_info.max


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
