"""Compiled traversal of a :class:`~flink_ml_udf.mleap.trees.TreeEnsemble`, fused with the sums the
tree ops take over their trees.

The numpy traversal in ``trees.py`` stays the reference; this one walks the same flat node arrays
with the same double comparison (``x <= threshold`` goes left, so NaN goes right; categorical
splits through the same table), so every (row, tree) reaches the same leaf. Trees are walked one
at a time over a block of rows, level by level (leaves point to themselves, so a row that arrives
early stays put): the rows of a block are independent chains the CPU overlaps, and a tree's nodes
stay in cache while the block walks it.

What the ops sum is folded in here, in the order the reference sums: per row, tree 0's leaf value
first, then each later tree's added left to right (Scala's ``Array.sum``, numpy's ``cumsum``), so
:meth:`CompiledForest.tree_sum` is bit-identical to ``seq_sum(values[leaves], axis=1)``. Boosted
models take :meth:`CompiledForest.per_tree` and keep their weighted dot where it was.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.compiled import jit, warm
from flink_ml_udf.mleap.trees import TreeEnsemble

#: Rows walked together through one tree: enough independent chains to hide memory latency, few
#: enough that the block's feature rows stay in L1 (bench/RESULTS.md, issue 13).
BLOCK_ROWS = 256


@jit
def _walk(x, start, count, root, depth, feature, threshold, children, categorical, category_row, category_hit,
          category_is_left, has_categorical, nodes):  # fmt: skip
    """Leaf reached by rows ``start .. start + count`` in the tree at ``root``, into ``nodes[:count]``."""
    for i in range(count):
        nodes[i] = root
    width = category_hit.shape[1]
    for _ in range(depth):
        for i in range(count):
            node = nodes[i]
            value = x[start + i, feature[node]]
            step = 0 if value <= threshold[node] else 1  # NaN compares false: right
            if has_categorical and categorical[node]:
                row = category_row[node]
                hit = False
                if row >= 0 and value >= 0.0 and value < width and value == np.trunc(value):
                    hit = category_hit[row, int(value)]
                left = hit if category_is_left[row] else not hit
                step = 0 if left else 1
            nodes[i] = children[2 * node + step]


@jit
def _tree_sum(x, roots, depths, feature, threshold, children, categorical, category_row, category_hit,
              category_is_left, has_categorical, table, out, block):  # fmt: skip
    """``out[r] = table[leaf(r, tree 0)] + table[leaf(r, tree 1)] + ...``, added left to right."""
    n_rows = x.shape[0]
    width = table.shape[1]
    nodes = np.empty(block, dtype=np.int64)
    for start in range(0, n_rows, block):
        count = min(block, n_rows - start)
        for tree in range(roots.shape[0]):
            _walk(x, start, count, roots[tree], depths[tree], feature, threshold, children, categorical,
                  category_row, category_hit, category_is_left, has_categorical, nodes)  # fmt: skip
            if tree == 0:
                for i in range(count):
                    for k in range(width):
                        out[start + i, k] = table[nodes[i], k]
            else:
                for i in range(count):
                    for k in range(width):
                        out[start + i, k] += table[nodes[i], k]


@jit
def _per_tree(x, roots, depths, feature, threshold, children, categorical, category_row, category_hit,
              category_is_left, has_categorical, table, out, block):  # fmt: skip
    """``out[r, t] = table[leaf(r, t)]``: one value per row and tree."""
    n_rows = x.shape[0]
    nodes = np.empty(block, dtype=np.int64)
    for start in range(0, n_rows, block):
        count = min(block, n_rows - start)
        for tree in range(roots.shape[0]):
            _walk(x, start, count, roots[tree], depths[tree], feature, threshold, children, categorical,
                  category_row, category_hit, category_is_left, has_categorical, nodes)  # fmt: skip
            for i in range(count):
                out[start + i, tree] = table[nodes[i]]


def tree_depths(ensemble: TreeEnsemble) -> np.ndarray:
    """Levels each tree needs until every row sits on a leaf (0 for a single-leaf tree)."""
    left, right = ensemble.children[0::2], ensemble.children[1::2]
    depths = np.zeros(ensemble.n_trees, dtype=np.int64)
    frontier, owner = ensemble.roots, np.arange(ensemble.n_trees)
    level = 0
    while len(frontier):
        internal = left[frontier] != frontier
        level += 1
        depths[owner[internal]] = level
        frontier = np.concatenate((left[frontier[internal]], right[frontier[internal]]))
        owner = np.concatenate((owner[internal], owner[internal]))
    return depths


class CompiledForest:
    """The compiled traversal of one ensemble, built and compiled when the tree op is decoded."""

    def __init__(self, ensemble: TreeEnsemble, who: str) -> None:
        self.ensemble = ensemble
        self.n_trees = ensemble.n_trees
        self._arrays = (
            ensemble.roots,
            tree_depths(ensemble),
            ensemble.feature,
            ensemble.threshold,
            ensemble.children,
            ensemble.categorical,
            ensemble.category_row,
            ensemble.category_hit,
            ensemble.category_is_left,
            bool(ensemble.categorical.any()),
        )
        #: Each node's first leaf value (a regression tree's prediction), as a one-column table.
        self.first_values = np.ascontiguousarray(ensemble.values[:, :1])
        example = np.zeros((1, ensemble.max_feature + 1))
        warm(who, _tree_sum, example, *self._arrays, self.first_values, np.empty((1, 1)), 1)
        warm(who, _per_tree, example, *self._arrays, self.first_values[:, 0], np.empty((1, self.n_trees)), 1)

    def _features(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] <= self.ensemble.max_feature:
            raise ScoringError(
                f"{self.ensemble.where}: trees split on feature {self.ensemble.max_feature} "
                f"but the input has {x.shape[1]} features"
            )
        return np.ascontiguousarray(x, dtype=np.float64)

    def tree_sum(self, x: np.ndarray, table: np.ndarray) -> np.ndarray:
        """Per row, the left-to-right sum over trees of ``table[leaf]`` (``table``: one row per node,
        C-contiguous float64): shape ``(rows, table.shape[1])``."""
        x = self._features(x)
        out = np.empty((len(x), table.shape[1]))
        _tree_sum(x, *self._arrays, table, out, BLOCK_ROWS)
        return out

    def per_tree(self, x: np.ndarray) -> np.ndarray:
        """Every tree's prediction (its leaf's first value): shape ``(rows, trees)``."""
        x = self._features(x)
        out = np.empty((len(x), self.n_trees))
        _per_tree(x, *self._arrays, self.first_values[:, 0], out, BLOCK_ROWS)
        return out
