"""Gradient-boosted trees: ``gbt_regression`` and ``gbt_classifier``.

Both are a weighted sum of regression trees (leaf ``[value]``) over the shared :class:`TreeEnsemble`;
unlike random forests the ``tree_weights`` do count (Spark writes 1.0 for the first tree and the
step size for the rest). The classifier turns the margin into Spark's LogLoss probability. The
weighted sum is always the JVM's (``Java11BLAS.ddot``: four fma lanes), fused into the compiled
traversal, so it ignores the ``numerics`` choice and costs less than numpy's ``@`` over a
(rows, trees) matrix would.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.compiled.forest import BoostedSum
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier, Regressor
from flink_ml_udf.mleap.ops.trees import build_ensemble, forest_trees, tree_sizes
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.trees import TreeEnsemble


class _Boosted:
    """The weighted tree sum shared by both GBT ops."""

    ensemble: TreeEnsemble
    forest: BoostedSum
    weights: np.ndarray

    def load_trees(self, spec: NodeSpec) -> int:
        """Load the trees; returns ``num_features``."""
        num_features, _ = tree_sizes(spec, classifier=False)
        self.ensemble = build_ensemble(spec, forest_trees(spec, "decision_tree_regression", num_features))
        self.weights = spec.attributes.double_list("tree_weights")
        if len(self.weights) != self.ensemble.n_trees:
            # The JVM fails only when it scores (a dot of unequal lengths); failing at load says why sooner.
            raise spec.attributes.error(
                "tree_weights", f"has {len(self.weights)} weights for {self.ensemble.n_trees} trees"
            )
        self.forest = BoostedSum(self.ensemble, self.weights, spec.context)
        return num_features

    def margin(self, x: np.ndarray) -> np.ndarray:
        return self.forest(x)


@register("gbt_regression")
class GBTRegression(_Boosted, Regressor):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec, self.load_trees(spec))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.margin(x)


@register("gbt_classifier")
class GBTClassifier(_Boosted, Classifier):
    """Binary only: ``raw = [-m, m]``, ``p0 = 1 / (1 + exp(-2 raw0))`` and ``p1 = 1 - p0``.

    Without thresholds the no-output-port path predicts ``m > 0`` while the probability path takes
    the argmax of ``[p0, p1]``; a tiny margin rounds ``p0`` to exactly 0.5 and the two disagree, so
    both are kept as MLeap has them.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        num_features = self.load_trees(spec)
        num_classes = attrs.long("num_classes")
        if num_classes != 2:
            raise attrs.error("num_classes", f"GBT classification is binary, found {num_classes} classes")
        loss = attrs.string("lossType", None)
        if loss is not None and loss != "logistic":
            raise attrs.error("lossType", f"only 'logistic' is supported, found {loss!r}")
        super().__init__(spec, num_features, 2)
        self.check_thresholds_length(spec)

    def raw(self, x: np.ndarray) -> np.ndarray:
        m = self.margin(x)
        return np.column_stack((-m, m))

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            p0 = 1.0 / (1.0 + np.exp(-2.0 * raw[:, 0]))
        return np.column_stack((p0, 1.0 - p0))

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.thresholds is not None:
            return super().predict(x)
        return (self.margin(x) > 0.0).astype(np.float64)
