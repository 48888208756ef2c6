"""Shared port handling of MLeap's multi-column feature ops (string_indexer, one_hot_encoder).

They bind ``input0..N-1`` to ``output0..N-1``. Older bundles (and the sklearn writer) use single
``input``/``output`` ports, which MLeap's ``MultiInOutMleapOp`` rewrites to ``input0``/``output0``.
"""

from __future__ import annotations

from typing import List, Tuple

from flink_ml_udf.mleap.spec import NodeSpec


def column_pairs(spec: NodeSpec) -> List[Tuple[str, str]]:
    """``(input column, output column)`` per indexed column, legacy ports translated."""
    if any(socket.port == "input" for socket in spec.inputs):
        return [(spec.input("input"), spec.output("output"))]
    inputs = spec.numbered("inputs", "input")
    outputs = spec.numbered("outputs", "output")
    if not inputs:
        raise spec.error("needs input ports 'input0'.. or a legacy 'input' port")
    if len(inputs) != len(outputs):
        raise spec.error(f"has {len(inputs)} numbered input ports but {len(outputs)} output ports")
    return list(zip(inputs, outputs))
