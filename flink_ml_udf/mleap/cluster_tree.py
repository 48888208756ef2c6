"""Bisecting k-means cluster trees: reading ``tree.json`` / ``tree.pb`` into flat arrays.

The file lists nodes in pre-order (a node, then each of its ``numChildren`` children recursively).
Internal nodes carry a negative ``index`` and leaves the cluster id (>= 0); MLeap refuses anything
else at load, and so does :func:`parse_cluster_tree_json`. A node's ``norm`` is stored, never
recomputed: scoring must use the file's value to choose the same child as the JVM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError, brief
from flink_ml_udf.mleap import protobuf_format
from flink_ml_udf.mleap.json_document import parse_json, real_number, whole_number


@dataclass
class ClusterNode:
    index: int
    norm: float
    center: List[float]
    n_children: int


@dataclass(frozen=True)
class ClusterTree:
    """A cluster tree as arrays: ``children[i]`` lists node ``i``'s children (padded with -1)."""

    index: np.ndarray  # (nodes,) the stored index: cluster id for leaves, negative for internal nodes
    norm: np.ndarray  # (nodes,)
    centers: np.ndarray  # (nodes, features)
    children: np.ndarray  # (nodes, max children), -1 padding
    depth: int

    @property
    def n_features(self) -> int:
        return self.centers.shape[1]


#: ``reserve(bytes, what)``: a load-budget check before the tree's arrays are allocated.
Reserve = Callable[[int, str], None]


def _no_budget(size: int, what: str) -> None:
    """No load budget (tests reading a tree file alone)."""


def parse_cluster_tree_json(text: str, where: str, reserve: Reserve = _no_budget) -> ClusterTree:
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, start=1):
        records.append((parse_json(line, f"{where}: line {number}", BundleError), f"{where}: line {number}"))
    return _build(_iter_json(records), where, reserve)


def parse_cluster_tree_pb(data: bytes, where: str, reserve: Reserve = _no_budget) -> ClusterTree:
    """``tree.pb`` (int32-BE length-prefixed ``ml.bundle.ctree.Node`` messages), decoded by the shared
    protobuf module into the records a ``tree.json`` holds, then checked by the same code."""
    records = protobuf_format.parse_cluster_tree_pb(data, where)
    return _build(_iter_json([(r, f"{where}: node {i}") for i, r in enumerate(records)]), where, reserve)


def _iter_json(records: List[Tuple[Any, str]]):
    for record, where in records:
        if not isinstance(record, dict):
            raise BundleError(f"{where}: expected a JSON object, found {type(record).__name__}")
        missing = [key for key in ("index", "norm", "values", "numChildren") if key not in record]
        if missing:
            raise BundleError(f"{where}: cluster node lacks {', '.join(missing)}")
        try:
            values = record["values"]
            if not isinstance(values, list):
                raise ValueError(f"values must be a list, found {brief(values)}")
            yield ClusterNode(
                index=whole_number(record["index"]),
                norm=real_number(record["norm"]),
                center=[real_number(v) for v in values],
                n_children=whole_number(record["numChildren"]),
            )
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{where}: malformed cluster node ({exc})") from None


def _build(nodes, where: str, reserve: Reserve) -> ClusterTree:
    """Link pre-order nodes into a tree and flatten it; checks MLeap's index-sign rule.

    Iterative: ``open_nodes`` holds (position, children still to read) of the nodes on the current
    path, so a deep tree costs list entries, not stack frames."""
    flat: List[ClusterNode] = []
    links: Dict[int, List[int]] = {}
    depth = 0
    open_nodes: List[List[int]] = []  # [position, children left to read]
    while True:
        try:
            node = next(nodes)
        except StopIteration:
            raise BundleError(f"{where}: tree file ends after {len(flat)} nodes, in the middle of the tree") from None
        position = len(flat)
        flat.append(node)
        if node.n_children < 0:
            raise BundleError(f"{where}: node {position} has a negative child count {node.n_children}")
        leaf = node.n_children == 0
        if leaf and node.index < 0:
            raise BundleError(f"{where}: leaf node {position} has negative index {node.index}")
        if not leaf and node.index >= 0:
            raise BundleError(f"{where}: internal node {position} has index {node.index}, expected a negative one")
        if open_nodes:
            links[open_nodes[-1][0]].append(position)
            open_nodes[-1][1] -= 1
        depth = max(depth, len(open_nodes))
        links[position] = []
        if not leaf:
            open_nodes.append([position, node.n_children])
        while open_nodes and open_nodes[-1][1] == 0:
            open_nodes.pop()
        if not open_nodes:
            break
    widths = {len(node.center) for node in flat}
    if len(widths) != 1:
        raise BundleError(f"{where}: cluster centers differ in length: {sorted(widths)}")
    width = max((len(c) for c in links.values()), default=0)
    reserve(len(flat) * max(width, 1) * 8, f"the child table of a cluster tree of {len(flat)} nodes")
    children = np.full((len(flat), max(width, 1)), -1, dtype=np.int64)
    for position, kids in links.items():
        children[position, : len(kids)] = kids
    return ClusterTree(
        index=np.array([node.index for node in flat], dtype=np.int64),
        norm=np.array([node.norm for node in flat], dtype=np.float64),
        centers=np.array([node.center for node in flat], dtype=np.float64).reshape(len(flat), widths.pop()),
        children=children,
        depth=depth,
    )
