"""Compiled traversal of a :class:`~flink_ml_udf.mleap.trees.TreeEnsemble`, fused with the sums the
tree ops take over their trees.

The numpy traversal in ``trees.py`` stays the reference; these kernels make the same double
comparison (``x <= threshold`` goes left, so NaN goes right; categorical splits through the same
table), so every (row, tree) reaches the same leaf. Two layouts, picked per model at load (as
hummingbird picks its tree strategy from the depth):

- **perfect**: each tree padded to a complete binary tree of the forest's depth, stored level by
  level, so a step is ``j = 2 j + 1 + (x[feature[j]] > threshold[j])`` with no child lookup. A leaf
  above the bottom is copied into every bottom slot below it, so the route through the padding
  cannot matter. A group of rows walks a tree together, level by level: independent chains the
  CPU overlaps. Used while the padding stays small (depth <= 12).
- **nodes**: the ensemble's own flat arrays (leaves point to themselves), a block of rows walked
  level by level through one tree at a time. Any depth.

What the ops sum is folded in, in the order the JVM sums: per row, tree 0's leaf value first, then
each later tree's added left to right (Scala's ``Array.sum``, numpy's ``cumsum``), so
:class:`ForestSum` is bit-identical to ``seq_sum(table[leaves], axis=1)``; boosted models' weighted
sum is netlib ``Java11BLAS.ddot`` (four interleaved fma lanes, then the tail), so
:class:`BoostedSum` is bit-identical to ``blas.ddot_j11(per-tree values, weights)``.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.compiled import inline, jit, warm
from flink_ml_udf.mleap.compiled.fma import fma
from flink_ml_udf.mleap.trees import TreeEnsemble

#: Rows walked together through one tree in the nodes layout (bench/RESULTS.md, issue 13).
BLOCK_ROWS = 256
#: Rows walked together through one tree in the perfect layout.
GROUP_ROWS = 64
#: The perfect layout is used up to this depth, while padding at most quadruples the nodes or
#: the padded forest stays under this many bottom slots (~24 MB of node arrays).
PERFECT_MAX_DEPTH = 12
PERFECT_MAX_SLOTS = 1 << 20


# -- the two walks ---------------------------------------------------------------------------------


@inline
def _walk_nodes(x, start, count, root, depth, feature, threshold, children, categorical, category_row, category_hit,
                category_is_left, has_categorical, nodes):  # fmt: skip
    """Leaf node reached by rows ``start .. start + count`` in the tree at ``root``, into ``nodes``."""
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


@inline
def _walk_perfect(flat, n_features, start, count, feature, threshold, depth, slots):
    """Position reached by rows ``start .. start + count`` in one padded tree, level-order numbered:
    the bottom slot plus ``2**depth - 1``."""
    for i in range(count):
        slots[i] = 0
    for _ in range(depth):
        for i in range(count):
            j = slots[i]
            slots[i] = 2 * j + (1 if flat[(start + i) * n_features + feature[j]] <= threshold[j] else 2)


@inline
def _walk_perfect_categorical(flat, n_features, start, count, feature, threshold, category_row, category_hit,
                              category_is_left, depth, slots):  # fmt: skip
    """As :func:`_walk_perfect` where some splits are categorical (``category_row`` >= 0: the
    split's row of ``category_hit``). A walk of its own: with the categorical test in the same walk
    (behind a flag), forests without categorical splits walked 15% slower."""
    for i in range(count):
        slots[i] = 0
    width = category_hit.shape[1]
    for _ in range(depth):
        for i in range(count):
            j = slots[i]
            value = flat[(start + i) * n_features + feature[j]]
            step = 1 if value <= threshold[j] else 2  # NaN compares false: right
            row = category_row[j]
            if row >= 0:
                hit = False
                if value >= 0.0 and value < width and value == np.trunc(value):
                    hit = category_hit[row, int(value)]
                step = 1 if hit == category_is_left[row] else 2
            slots[i] = 2 * j + step


# -- the sums, one kernel per layout ---------------------------------------------------------------


@jit
def _nodes_sum(x, roots, depths, feature, threshold, children, categorical, category_row, category_hit,
               category_is_left, has_categorical, table, out, block):  # fmt: skip
    """``out[r] = table[leaf(r, tree 0)] + table[leaf(r, tree 1)] + ...``, added left to right."""
    n_rows = x.shape[0]
    width = table.shape[1]
    nodes = np.empty(block, dtype=np.int64)
    for start in range(0, n_rows, block):
        count = min(block, n_rows - start)
        for tree in range(roots.shape[0]):
            _walk_nodes(x, start, count, roots[tree], depths[tree], feature, threshold, children, categorical,
                        category_row, category_hit, category_is_left, has_categorical, nodes)  # fmt: skip
            for i in range(count):
                for k in range(width):
                    if tree == 0:
                        out[start + i, k] = table[nodes[i], k]
                    else:
                        out[start + i, k] += table[nodes[i], k]


@jit
def _perfect_sum(x, feature, threshold, category_row, category_hit, category_is_left, has_categorical, depth, table,
                 out, group):  # fmt: skip
    """As :func:`_nodes_sum` over padded trees; ``table[tree, slot, k]``."""
    n_rows, n_features = x.shape
    flat = x.ravel()
    width = table.shape[2]
    slots = np.empty(group, dtype=np.int64)
    bottom = (1 << depth) - 1
    for start in range(0, n_rows, group):
        count = min(group, n_rows - start)
        for tree in range(feature.shape[0]):
            if has_categorical:
                _walk_perfect_categorical(flat, n_features, start, count, feature[tree], threshold[tree],
                                          category_row[tree], category_hit, category_is_left, depth, slots)  # fmt: skip
            else:
                _walk_perfect(flat, n_features, start, count, feature[tree], threshold[tree], depth, slots)
            leaves = table[tree]
            for i in range(count):
                for k in range(width):
                    if tree == 0:
                        out[start + i, k] = leaves[slots[i] - bottom, k]
                    else:
                        out[start + i, k] += leaves[slots[i] - bottom, k]


@inline
def _ddot_add(tree, n4, weight, leaf_values, slots, offset, count, lanes, total):
    """Tree ``tree``'s term of ``Java11BLAS.ddot`` for ``count`` rows (their leaf values:
    ``leaf_values[slots[i] - offset]``): an fma into lane ``tree % 4`` while the trees fill whole
    groups of four, the lanes folded into ``total`` after the last such tree, then an fma into
    ``total`` per remaining tree."""
    if tree < n4:
        lane = lanes[tree % 4]
        for i in range(count):
            lane[i] = fma(leaf_values[slots[i] - offset], weight, lane[i])
        if tree == n4 - 1:
            for i in range(count):
                total[i] = 0.0 + (((lanes[0, i] + lanes[1, i]) + lanes[2, i]) + lanes[3, i])
    else:
        for i in range(count):
            total[i] = fma(leaf_values[slots[i] - offset], weight, total[i])


@jit
def _nodes_boosted(x, roots, depths, feature, threshold, children, categorical, category_row, category_hit,
                   category_is_left, has_categorical, table, weights, out, block):  # fmt: skip
    """``out[r] = ddot_j11([table[leaf(r, t)] for t], weights)``, accumulated tree by tree."""
    n_rows = x.shape[0]
    n_trees = roots.shape[0]
    n4 = n_trees - n_trees % 4
    nodes = np.empty(block, dtype=np.int64)
    lanes = np.empty((4, block))
    total = np.empty(block)
    for start in range(0, n_rows, block):
        count = min(block, n_rows - start)
        lanes[:, :count] = 0.0
        total[:count] = 0.0
        for tree in range(n_trees):
            _walk_nodes(x, start, count, roots[tree], depths[tree], feature, threshold, children, categorical,
                        category_row, category_hit, category_is_left, has_categorical, nodes)  # fmt: skip
            _ddot_add(tree, n4, weights[tree], table, nodes, 0, count, lanes, total)
        for i in range(count):
            out[start + i] = total[i]


@jit
def _perfect_boosted(x, feature, threshold, category_row, category_hit, category_is_left, has_categorical, depth,
                     table, weights, out, group):  # fmt: skip
    """As :func:`_nodes_boosted` over padded trees; ``table[tree, slot]``."""
    n_rows, n_features = x.shape
    flat = x.ravel()
    n_trees = feature.shape[0]
    n4 = n_trees - n_trees % 4
    slots = np.empty(group, dtype=np.int64)
    bottom = (1 << depth) - 1
    lanes = np.empty((4, group))
    total = np.empty(group)
    for start in range(0, n_rows, group):
        count = min(group, n_rows - start)
        lanes[:, :count] = 0.0
        total[:count] = 0.0
        for tree in range(n_trees):
            if has_categorical:
                _walk_perfect_categorical(flat, n_features, start, count, feature[tree], threshold[tree],
                                          category_row[tree], category_hit, category_is_left, depth, slots)  # fmt: skip
            else:
                _walk_perfect(flat, n_features, start, count, feature[tree], threshold[tree], depth, slots)
            _ddot_add(tree, n4, weights[tree], table[tree], slots, bottom, count, lanes, total)
        for i in range(count):
            out[start + i] = total[i]


# -- layouts ---------------------------------------------------------------------------------------


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


class _Layout:
    """The arrays a kernel walks, in the layout chosen for this ensemble."""

    def __init__(self, ensemble: TreeEnsemble) -> None:
        self.ensemble = ensemble
        depths = tree_depths(ensemble)
        self.depth = int(depths.max())
        n_trees, n_nodes = ensemble.n_trees, len(ensemble.feature)
        self.perfect = self.depth <= PERFECT_MAX_DEPTH and n_trees * (1 << self.depth) <= max(
            4 * n_nodes, PERFECT_MAX_SLOTS
        )
        if self.perfect:
            # Level by level from the roots; a leaf's children are itself, so it fills its padding.
            levels = [ensemble.roots[:, None]]
            for _ in range(self.depth):
                node = levels[-1]
                levels.append(
                    np.stack((ensemble.children[2 * node], ensemble.children[2 * node + 1]), 2).reshape(n_trees, -1)
                )
            internal = np.concatenate(levels[:-1], axis=1) if self.depth else np.zeros((n_trees, 0), dtype=np.int64)
            self.bottom = levels[-1]  # (trees, 2**depth) node under each bottom slot
            self.arrays = (
                ensemble.feature[internal],
                ensemble.threshold[internal],
                ensemble.category_row[internal],
                ensemble.category_hit,
                ensemble.category_is_left,
                bool(ensemble.categorical.any()),
                self.depth,
            )
        else:
            self.arrays = (
                ensemble.roots,
                depths,
                ensemble.feature,
                ensemble.threshold,
                ensemble.children,
                ensemble.categorical,
                ensemble.category_row,
                ensemble.category_hit,
                ensemble.category_is_left,
                bool(ensemble.categorical.any()),
            )

    def leaf_table(self, table: np.ndarray) -> np.ndarray:
        """A per-node table (``table[node]``) rearranged for this layout, C-contiguous float64."""
        table = np.asarray(table, dtype=np.float64)
        if self.perfect:
            table = table[self.bottom]  # (trees, slots, ...)
        return np.ascontiguousarray(table)

    def features(self, x: np.ndarray) -> np.ndarray:
        ensemble = self.ensemble
        if x.shape[1] <= ensemble.max_feature:
            raise ScoringError(
                f"{ensemble.where}: trees split on feature {ensemble.max_feature} but the input has {x.shape[1]} features"
            )
        return np.ascontiguousarray(x, dtype=np.float64)

    def example(self) -> np.ndarray:
        return np.zeros((1, self.ensemble.max_feature + 1))


class _CompiledWalk:
    """A kernel over a :class:`_Layout`, chosen by the layout and compiled (or loaded from numba's
    cache) at load.

    The kernel is looked up by layout, never stored on the instance: a numba dispatcher pickled in
    one process comes back in another as a new, uncompiled dispatcher, so a model loaded in the
    update child (flink/load_process.py) compiled its walk again on its first batch, on the scoring
    path (~1 s stalls after a hot reload, bench/reload_bench.py). Unpickling warms the kernel here,
    on the thread that takes the model in.
    """

    #: The kernel of each layout: (perfect, nodes).
    kernels: tuple = ()
    layout: _Layout
    who: str

    @property
    def kernel(self):
        return self.kernels[0] if self.layout.perfect else self.kernels[1]

    @property
    def chunk(self) -> int:
        return GROUP_ROWS if self.layout.perfect else BLOCK_ROWS

    def _example_outputs(self) -> tuple:
        """The arguments after the layout's arrays, for a one-row call."""
        raise NotImplementedError

    def _warm(self) -> None:
        warm(self.who, self.kernel, self.layout.example(), *self.layout.arrays, *self._example_outputs(), 1)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._warm()


class ForestSum(_CompiledWalk):
    """Per row, the left-to-right sum over trees of ``table[leaf]`` (``table``: one row per node):
    a regression tree's prediction, a forest's total, a classifier's votes. Built at load."""

    kernels = (_perfect_sum, _nodes_sum)

    def __init__(self, ensemble: TreeEnsemble, table: np.ndarray, who: str) -> None:
        self.who = who
        self.layout = _Layout(ensemble)
        self.table = self.layout.leaf_table(np.asarray(table).reshape(len(ensemble.feature), -1))
        self.width = self.table.shape[-1]
        self._warm()

    def _example_outputs(self) -> tuple:
        return self.table, np.empty((1, self.width))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Shape ``(rows, table width)``."""
        x = self.layout.features(x)
        out = np.empty((len(x), self.width))
        self.kernel(x, *self.layout.arrays, self.table, out, self.chunk)
        return out


class BoostedSum(_CompiledWalk):
    """Per row, every tree's prediction (its leaf's first value) dotted with ``weights`` as the
    JVM's ``ddot`` does. Built at load."""

    kernels = (_perfect_boosted, _nodes_boosted)

    def __init__(
        self, ensemble: TreeEnsemble, weights: np.ndarray, who: str, table: Optional[np.ndarray] = None
    ) -> None:
        self.who = who
        self.layout = _Layout(ensemble)
        self.table = self.layout.leaf_table(ensemble.values[:, 0] if table is None else table)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self._warm()

    def _example_outputs(self) -> tuple:
        return self.table, self.weights, np.empty(1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Shape ``(rows,)``."""
        x = self.layout.features(x)
        out = np.empty(len(x))
        self.kernel(x, *self.layout.arrays, self.table, self.weights, out, self.chunk)
        return out
