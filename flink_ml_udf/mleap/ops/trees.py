"""Tree models: ``decision_tree_*`` and ``random_forest_*``, all on one :class:`TreeEnsemble`.

A single decision tree is a forest of one. Leaves hold class counts (Spark, sklearn < 1.4) or
fractions (sklearn >= 1.4); MLeap normalizes them at scoring time, and so does this module (once
per leaf, at load: the same arithmetic on each leaf as on each gathered copy of it). Batches are
scored by the compiled traversal (:class:`ForestSum`), which sums over trees in MLeap's order;
``TreeEnsemble.leaf_values`` is the numpy reference it is tested against.
"""

from __future__ import annotations

import posixpath
from typing import List, Optional, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap.compiled.forest import ForestSum
from flink_ml_udf.mleap.kernels import normalize_rows, seq_sum
from flink_ml_udf.mleap.ops.base import register
from flink_ml_udf.mleap.ops.model_base import Classifier, Regressor
from flink_ml_udf.mleap.spec import ModelSpec, NodeSpec
from flink_ml_udf.mleap.trees import TreeEnsemble, parse_tree_json, parse_tree_pb, table_bytes


def read_tree(model: ModelSpec, expected_op: str, num_features: int, num_classes: Optional[int] = None):
    """The nodes of the tree file stored beside a tree model (``tree.json`` or ``tree.pb``), checked
    against the model's declared sizes: every split on a feature below ``num_features``, and for a
    classifier (``num_classes``) every leaf holding one value per class."""
    if model.op != expected_op:
        raise BundleError(f"{model.context}: expected a {expected_op} sub-model, found op {model.op!r}")
    path = model.bundle.formatted_file(model.folder, "tree")
    where = f"{model.context} → {path}"
    if path.endswith(".pb"):
        nodes = parse_tree_pb(model.bundle.read_bytes(path), where)
    else:
        nodes = parse_tree_json(model.bundle.read_text(path), where)
    for position, node in enumerate(nodes):
        if node.kind != "leaf" and node.feature >= num_features:
            raise BundleError(
                f"{where}: node {position} splits on feature {node.feature}, but the model has {num_features} "
                "features (num_features)"
            )
        if node.kind == "leaf" and num_classes is not None and len(node.values) != num_classes:
            raise BundleError(
                f"{where}: leaf node {position} holds {len(node.values)} values, but the model has {num_classes} "
                "classes (num_classes)"
            )
    return nodes


def forest_trees(spec: NodeSpec, tree_op: str, num_features: int, num_classes: Optional[int] = None) -> List:
    """The trees named by a forest's ``trees`` attribute, in that order (never the folder listing)."""
    names = spec.attributes.string_list("trees")
    if not names:
        raise spec.attributes.error("trees", "a forest needs at least one tree")
    spec.attributes.double_list("tree_weights")  # required by MLeap, ignored when scoring
    return [
        read_tree(spec.bundle.read_model(posixpath.join(spec.folder, name)), tree_op, num_features, num_classes)
        for name in names
    ]


def build_ensemble(spec: NodeSpec, trees: List) -> TreeEnsemble:
    """The trees' flat arrays, once their size has been checked against the load budget."""
    spec.reserve(table_bytes(trees), f"the node arrays of {len(trees)} trees")
    return TreeEnsemble(trees, spec.context)


def tree_sizes(spec: NodeSpec, classifier: bool) -> Tuple[int, Optional[int]]:
    """``(num_features, num_classes)`` a tree model declares (``num_classes`` only for classifiers)."""
    attrs = spec.attributes
    num_features = attrs.long("num_features")
    if num_features < 0:
        raise attrs.error("num_features", f"must not be negative, found {num_features}")
    if not classifier:
        return num_features, None
    num_classes = attrs.long("num_classes")
    if num_classes < 1:
        raise attrs.error("num_classes", f"must be at least 1, found {num_classes}")
    return num_features, num_classes


@register("decision_tree_regression")
class DecisionTreeRegression(Regressor):
    def __init__(self, spec: NodeSpec) -> None:
        num_features, _ = tree_sizes(spec, classifier=False)
        self.ensemble = build_ensemble(spec, [read_tree(spec, spec.op, num_features)])
        self.forest = ForestSum(self.ensemble, self.ensemble.values[:, 0], spec.context)
        super().__init__(spec, num_features)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forest(x)[:, 0]


@register("random_forest_regression")
class RandomForestRegression(Regressor):
    def __init__(self, spec: NodeSpec) -> None:
        num_features, _ = tree_sizes(spec, classifier=False)
        self.ensemble = build_ensemble(spec, forest_trees(spec, "decision_tree_regression", num_features))
        self.forest = ForestSum(self.ensemble, self.ensemble.values[:, 0], spec.context)
        super().__init__(spec, num_features)

    def predict(self, x: np.ndarray) -> np.ndarray:
        # An unweighted mean in list order, as MLeap (tree_weights are ignored).
        return self.forest(x)[:, 0] / self.ensemble.n_trees


@register("decision_tree_classifier")
class DecisionTreeClassifier(Classifier):
    def __init__(self, spec: NodeSpec) -> None:
        num_features, num_classes = tree_sizes(spec, classifier=True)
        self.ensemble = build_ensemble(spec, [read_tree(spec, spec.op, num_features, num_classes)])
        self.forest = ForestSum(self.ensemble, self.ensemble.values, spec.context)
        super().__init__(spec, num_features, num_classes)
        self.check_thresholds_length(spec)

    def raw(self, x: np.ndarray) -> np.ndarray:
        return self.forest(x)

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        return normalize_rows(raw)


@register("random_forest_classifier")
class RandomForestClassifier(Classifier):
    def __init__(self, spec: NodeSpec) -> None:
        num_features, num_classes = tree_sizes(spec, classifier=True)
        trees = forest_trees(spec, "decision_tree_classifier", num_features, num_classes)
        self.ensemble = build_ensemble(spec, trees)
        super().__init__(spec, num_features, num_classes)
        self.check_thresholds_length(spec)
        # Votes: each tree's leaf normalized to a distribution, summed over trees (not averaged).
        self.forest = ForestSum(self.ensemble, vote_shares(self.ensemble.values, self.num_classes), spec.context)

    def raw(self, x: np.ndarray) -> np.ndarray:
        return self.forest(x)

    def raw_to_probability(self, raw: np.ndarray) -> np.ndarray:
        return normalize_rows(raw)


def vote_shares(values: np.ndarray, num_classes: int) -> np.ndarray:
    """Each node's first ``num_classes`` values divided by their left-to-right sum (all zeros where
    the sum is 0): a forest classifier's vote per leaf, as MLeap computes it for every scored row."""
    leaves = values[:, :num_classes]
    totals = seq_sum(leaves, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.ascontiguousarray(np.where(totals != 0.0, leaves / np.where(totals != 0.0, totals, 1.0), 0.0))
