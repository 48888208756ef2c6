"""Helpers shared by the model-op tests: one model node reading a ``features`` vector."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

from flink_ml_udf.mleap import load_bundle
from tests import bundle_writer as bw


def model_node(
    op: str,
    attributes: Dict[str, Any],
    outputs: Sequence[str] = ("prediction",),
    files: Optional[Dict[str, str]] = None,
    submodels: Optional[Dict[str, bw.Node]] = None,
    name: str = "model",
) -> bw.Node:
    return bw.Node(
        name,
        op,
        attributes,
        inputs=[("features", "features")],
        outputs=[(port, port) for port in outputs],
        files=files or {},
        submodels=submodels or {},
    )


def load(tmp_path, node: bw.Node, numerics: str = "fast"):
    return load_bundle(bw.write_bundle(tmp_path / "b", node), numerics=numerics)


def score(model, x: np.ndarray) -> Dict[str, np.ndarray]:
    frame = model.transform_columns({"features": np.asarray(x, dtype=np.float64)})
    return {name: values for name, values, _ in frame.items() if name != "features"}


def sklearn_tree_lines(tree, scale: float = 1.0) -> str:
    """A fitted sklearn tree (``estimator.tree_``) as an MLeap ``tree.json`` with ``[value]`` leaves."""
    nodes = []

    def visit(i: int) -> None:
        left, right = tree.children_left[i], tree.children_right[i]
        if left == -1:
            nodes.append(bw.leaf(float(tree.value[i].ravel()[0]) * scale))
            return
        nodes.append(bw.split(int(tree.feature[i]), float(tree.threshold[i])))
        visit(left)
        visit(right)

    visit(0)
    return bw.tree_lines(nodes)


def regression_tree(lines: str, num_features: int) -> bw.Node:
    """A ``decision_tree_regression`` sub-model (model.json + tree.json, no node.json)."""
    return bw.Node(
        "tree", "decision_tree_regression", {"num_features": bw.long(num_features)}, files={"tree.json": lines}
    )


def float32_exact(x: np.ndarray) -> np.ndarray:
    """Values sklearn's trees (which compare float32 inputs) and MLeap (doubles) route the same way."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def gbt_bundle_from_sklearn(estimator, init_value: float, weight_scale: float, op: str, extra=None, outputs=None):
    """Spark layout: tree0 is the constant initial prediction (weight 1.0 in Spark), then one tree
    per boosting stage weighted by the learning rate. ``weight_scale`` rescales every weight."""
    n_features = estimator.n_features_in_
    trees = {"tree0": regression_tree(bw.tree_lines([bw.leaf(init_value)]), n_features)}
    weights = [1.0 * weight_scale]
    for i, stage in enumerate(estimator.estimators_[:, 0], start=1):
        trees[f"tree{i}"] = regression_tree(sklearn_tree_lines(stage.tree_), n_features)
        weights.append(estimator.learning_rate * weight_scale)
    attributes = {
        "num_features": bw.long(n_features),
        "tree_weights": bw.double_list(weights),
        "trees": bw.string_list(list(trees)),
        **(extra or {}),
    }
    return model_node(op, attributes, outputs=outputs or ("prediction",), submodels=trees)
