"""Write MLeap bundles by hand, in JSON form, for ops and edge cases no Python writer produces
(Spark-style attributes, categorical splits, malformed files).

    write_bundle(tmp_path / "b", root=pipeline_node("p", [node(...), node(...)]))
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple


def tensor(values: Sequence[float], dims: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    values = [float(v) for v in values]
    dims = [len(values)] if dims is None else list(dims)
    return {"type": "tensor", "double": values, "shape": {"dimensions": [{"size": d, "name": ""} for d in dims]}}


def double(value: float) -> Dict[str, Any]:
    return {"double": float(value)}


def long(value: int) -> Dict[str, Any]:
    return {"long": int(value)}


def string(value: str) -> Dict[str, Any]:
    return {"string": value}


def boolean(value: bool) -> Dict[str, Any]:
    return {"boolean": bool(value)}


def string_list(values: Sequence[str]) -> Dict[str, Any]:
    return {"type": "list", "string": list(values)}


def double_list(values: Sequence[float]) -> Dict[str, Any]:
    return {"type": "list", "double": [float(v) for v in values]}


def long_list(values: Sequence[int]) -> Dict[str, Any]:
    return {"type": "list", "long": [int(v) for v in values]}


def scalar_shapes(n: int) -> Dict[str, Any]:
    return {"type": "list", "data_shape": [{"base": "scalar", "isNullable": False}] * n}


@dataclass
class Node:
    """One node folder: op, attributes, port → column sockets, extra files and sub-models."""

    name: str
    op: str
    attributes: Dict[str, Any] = field(default_factory=dict)
    inputs: List[Tuple[str, str]] = field(default_factory=list)  # (port, column)
    outputs: List[Tuple[str, str]] = field(default_factory=list)
    files: Dict[str, str] = field(default_factory=dict)  # extra file name -> text
    submodels: Dict[str, "Node"] = field(default_factory=dict)  # folder -> model (no node.json)
    children: List["Node"] = field(default_factory=list)  # pipeline children


def pipeline(name: str, children: List[Node]) -> Node:
    return Node(name, "pipeline", {"nodes": string_list([c.name for c in children])}, children=children)


def tree_lines(nodes: List[Dict[str, Any]]) -> str:
    """A tree.json from pre-order node dicts."""
    return "".join(json.dumps(n) + "\n" for n in nodes)


def leaf(*values: float) -> Dict[str, Any]:
    return {"type": "leaf", "values": list(values)}


def split(feature: int, threshold: float) -> Dict[str, Any]:
    return {"type": "internal", "split": {"type": "continuous", "featureIndex": feature, "threshold": threshold}}


def categorical_split(feature: int, categories: Sequence[float], is_left: bool, num_categories: int) -> Dict[str, Any]:
    return {
        "type": "internal",
        "split": {
            "type": "categorical",
            "featureIndex": feature,
            "isLeft": is_left,
            "numCategories": num_categories,
            "categories": [float(c) for c in categories],
        },
    }


def write_bundle(path: os.PathLike, root: Node, fmt: str = "json") -> str:
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "bundle.json"), "w") as handle:
        json.dump(
            {"uid": "test", "name": root.name, "format": fmt, "version": "0.25.2", "timestamp": "2026-01-01T00:00:00"},
            handle,
        )
    _write_node(os.path.join(path, "root"), root)
    return path


def _write_node(folder: str, node: Node) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "node.json"), "w") as handle:
        json.dump(
            {
                "name": node.name,
                "shape": {
                    "inputs": [{"port": p, "name": c} for p, c in node.inputs],
                    "outputs": [{"port": p, "name": c} for p, c in node.outputs],
                },
            },
            handle,
        )
    _write_model(folder, node)
    for child in node.children:
        _write_node(os.path.join(folder, f"{child.name}.node"), child)


def _write_model(folder: str, node: Node) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.json"), "w") as handle:
        json.dump({"op": node.op, "attributes": node.attributes}, handle)
    for name, text in node.files.items():
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(text)
    for sub_folder, model in node.submodels.items():
        _write_model(os.path.join(folder, sub_folder), model)
