"""Decision trees: reading MLeap tree files and scoring whole forests at once.

A tree file lists nodes depth-first (node, left subtree, right subtree), one JSON object per line.
It is read iteratively, so a tree thousands of levels deep loads (the JVM reads those), and every
index is checked as it is decoded: a negative ``featureIndex`` or a category that is not a whole
number below ``numCategories`` is an error naming the line, never an index numpy would wrap.
Every tree of an ensemble is flattened into one set of node arrays, and all trees are walked in
lock-step for a whole batch (hummingbird's "tree traversal" strategy): each step moves every
(row, tree) pair one level down with array indexing. Leaves point to themselves, so pairs that
arrive early simply stay put until the deepest tree is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError, ScoringError, brief
from flink_ml_udf.mleap.json_document import parse_json, real_number, whole_number
from flink_ml_udf.mleap.protobuf_format import decision_tree_records


@dataclass
class _Node:
    kind: str  # "continuous" | "categorical" | "leaf"
    feature: int = 0
    threshold: float = 0.0
    categories: Sequence[float] = ()
    is_left: bool = True
    values: Sequence[float] = ()
    left: int = -1
    right: int = -1


def parse_tree_json(text: str, where: str) -> List[_Node]:
    """Parse a ``tree.json`` into nodes with child links; ``where`` names the file in errors."""
    return _pre_order(_json_records(text, where), where)


def parse_tree_pb(data: bytes, where: str) -> List[_Node]:
    """Parse a ``tree.pb`` (int32-BE length-prefixed ``dtree.Node`` messages, same pre-order as
    ``tree.json``). Nodes are decoded into ``tree.json`` records, so both formats share one node check."""
    return _pre_order(decision_tree_records(data, where), where)


def _json_records(text: str, where: str) -> Iterator[Tuple[str, Any]]:
    """``(where, record)`` per non-empty line of a ``tree.json`` (``\n`` or ``\r\n`` endings)."""
    for line_no, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        yield f"{where}: line {line_no}", parse_json(line, f"{where}: line {line_no}", BundleError)


def _pre_order(records: Iterator[Tuple[str, Any]], where: str) -> List[_Node]:
    """Rebuild a tree from its records in pre-order: node, left subtree, right subtree.

    Iterative: ``slots`` holds the child links still to fill, the next one on top, so depth costs
    list entries, not stack frames."""
    nodes: List[_Node] = []
    slots: List[Optional[Tuple[int, str]]] = [None]  # (parent, "left" | "right"); None for the root
    while slots:
        slot = slots.pop()
        try:
            position, record = next(records)
        except StopIteration:
            raise BundleError(f"{where}: tree file ends after {len(nodes)} nodes, in the middle of the tree") from None
        node = _decode_node(record, position)
        if slot is not None:
            setattr(nodes[slot[0]], slot[1], len(nodes))
        if node.kind != "leaf":
            slots.append((len(nodes), "right"))
            slots.append((len(nodes), "left"))
        nodes.append(node)
    return nodes


def _decode_node(record: Dict[str, Any], where: str) -> _Node:
    kind = record.get("type") if isinstance(record, dict) else None
    try:
        if kind == "leaf":
            values = record["values"]
            if not isinstance(values, list) or not values:
                raise BundleError(f"{where}: leaf has no values")
            return _Node("leaf", values=[real_number(v) for v in values])
        if kind == "internal":
            split = record["split"]
            split_type = split.get("type")
            if split_type == "continuous":
                return _Node("continuous", feature=_feature(split, where), threshold=real_number(split["threshold"]))
            if split_type == "categorical":
                return _Node(
                    "categorical",
                    feature=_feature(split, where),
                    categories=_categories(split, where),
                    is_left=_flag(split["isLeft"]),
                )
            raise BundleError(f"{where}: unknown split type {brief(split_type)}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{where}: malformed {kind} node ({type(exc).__name__}: {exc})") from None
    raise BundleError(f"{where}: node type {brief(kind)} is not 'internal' or 'leaf'")


def _feature(split: Dict[str, Any], where: str) -> int:
    feature = whole_number(split["featureIndex"])
    if feature < 0:
        raise BundleError(f"{where}: featureIndex {feature} is negative")
    return feature


def _categories(split: Dict[str, Any], where: str) -> List[float]:
    """The categories going left (or right): whole numbers in ``[0, numCategories)``, as Spark writes."""
    categories = [whole_number(c) for c in split["categories"]]
    limit = split.get("numCategories")
    limit = None if limit is None else whole_number(limit)
    for category in categories:
        if category < 0 or (limit is not None and category >= limit):
            bound = f"[0, {limit})" if limit is not None else "0 or more"
            raise BundleError(f"{where}: category {category} is not a category index {bound} (numCategories)")
    return [float(c) for c in categories]


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"isLeft must be true or false, found {brief(value)}")
    return value


def table_bytes(trees: List[List[_Node]]) -> int:
    """Bytes :class:`TreeEnsemble` allocates for ``trees``: node arrays plus the categorical table
    (categorical nodes x (largest category + 1)), for a load-budget check before building it."""
    nodes = sum(len(tree) for tree in trees)
    width = max((len(node.values) for tree in trees for node in tree), default=1)
    categorical = [node for tree in trees for node in tree if node.kind == "categorical"]
    table_width = 1 + max((int(c) for node in categorical for c in node.categories), default=0)
    return nodes * (6 * 8 + width * 8) + len(categorical) * table_width


class TreeEnsemble:
    """All trees of a model as flat arrays; :meth:`leaf_values` scores a batch against every tree."""

    def __init__(self, trees: List[List[_Node]], where: str) -> None:
        widths = {len(node.values) for tree in trees for node in tree if node.kind == "leaf"}
        self.width = max(widths)
        self.depth = max(_depth(tree) for tree in trees)
        roots, flat = [], []
        for tree in trees:
            offset = len(flat)
            roots.append(offset)
            flat.extend(tree)
            for node in tree:  # relocate child links into the shared arrays
                if node.kind != "leaf":
                    node.left += offset
                    node.right += offset
        n = len(flat)
        self.roots = np.array(roots, dtype=np.int64)
        self.feature = np.array([node.feature for node in flat], dtype=np.int64)
        self.threshold = np.array([node.threshold for node in flat], dtype=np.float64)
        index = np.arange(n)
        left = np.array([node.left if node.kind != "leaf" else i for i, node in zip(index, flat)], dtype=np.int64)
        right = np.array([node.right if node.kind != "leaf" else i for i, node in zip(index, flat)], dtype=np.int64)
        self.children = np.stack([left, right], axis=1).ravel()  # [2*i] left child, [2*i + 1] right child
        self.values = np.zeros((n, self.width))
        self.leaf_width = np.zeros(n, dtype=np.int64)
        for i, node in enumerate(flat):
            self.values[i, : len(node.values)] = node.values
            self.leaf_width[i] = len(node.values)
        self.max_feature = int(self.feature.max()) if n else 0
        # Categorical splits: a (categorical node, category) → "goes left" table.
        categorical = [i for i, node in enumerate(flat) if node.kind == "categorical"]
        self.categorical = np.zeros(n, dtype=bool)
        self.categorical[categorical] = True
        self.category_row = np.full(n, -1, dtype=np.int64)
        table_width = 1 + max(
            (
                int(max(c for c in flat[i].categories if c >= 0 and c == int(c)))
                for i in categorical
                if flat[i].categories
            ),
            default=0,
        )
        self.category_hit = np.zeros((len(categorical), table_width), dtype=bool)
        self.category_is_left = np.array([flat[i].is_left for i in categorical], dtype=bool)
        for row, i in enumerate(categorical):
            self.category_row[i] = row
            for c in flat[i].categories:
                if c >= 0 and c == int(c):
                    self.category_hit[row, int(c)] = True
        self.where = where

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    #: Trees descend in blocks of about this many (row, tree) pairs, one numpy call per level and
    #: block: few calls for small batches, cache-sized arrays for large ones (bench/RESULTS.md).
    BLOCK_PAIRS = 1 << 16

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Leaf node index reached in every tree: shape ``(rows, trees)``."""
        n_rows, n_features = x.shape
        flat = np.ascontiguousarray(x, dtype=np.float64).ravel()
        row_base = (np.arange(n_rows, dtype=np.int64) * n_features)[:, None]
        block = max(1, self.BLOCK_PAIRS // max(n_rows, 1))
        if block >= self.n_trees:
            node = np.broadcast_to(self.roots, (n_rows, self.n_trees)).copy()
            return self._descend(node, flat, row_base)
        out = np.empty((n_rows, self.n_trees), dtype=np.int64)
        for first in range(0, self.n_trees, block):
            roots = self.roots[first : first + block]
            node = np.broadcast_to(roots, (n_rows, len(roots))).copy()
            out[:, first : first + len(roots)] = self._descend(node, flat, row_base)
        return out

    def _descend(self, node: np.ndarray, flat: np.ndarray, row_base: np.ndarray) -> np.ndarray:
        """Move every node index down ``depth`` levels with flat ``take`` gathers."""
        has_categorical = self.categorical.any()
        for _ in range(self.depth):
            value = flat.take(row_base + self.feature.take(node))
            with np.errstate(invalid="ignore"):
                go_right = ~(value <= self.threshold.take(node))  # NaN goes right
            if has_categorical:
                go_right = np.where(self.categorical.take(node), ~self._categorical_left(node, value), go_right)
            node = self.children.take(node * 2 + go_right)
        return node

    def _categorical_left(self, node: np.ndarray, value: np.ndarray) -> np.ndarray:
        row = self.category_row[node]
        table = self.category_hit
        with np.errstate(invalid="ignore"):
            valid = (row >= 0) & (value >= 0) & (value < table.shape[1]) & (value == np.trunc(value))
        category = np.where(valid, value, 0).astype(np.int64)
        hit = valid & table[np.maximum(row, 0), category]
        # isLeft: go left iff the value is a listed category; otherwise iff it is not.
        return np.where(self.category_is_left[np.maximum(row, 0)], hit, ~hit)

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """Leaf values of every tree: shape ``(rows, trees, width)``."""
        if x.shape[1] <= self.max_feature:
            raise ScoringError(
                f"{self.where}: trees split on feature {self.max_feature} but the input has {x.shape[1]} features"
            )
        return self.values[self.leaves(x)]


def _depth(tree: List[_Node]) -> int:
    depth = [0] * len(tree)
    for i, node in enumerate(tree):  # pre-order: a parent comes before its children
        if node.kind != "leaf":
            depth[node.left] = depth[node.right] = depth[i] + 1
    return max(depth)
