"""``pipeline``: a left fold of its children, loaded from the ``nodes`` list in that order."""

from __future__ import annotations

import posixpath

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops.base import Op, register
from flink_ml_udf.mleap.spec import NodeSpec


@register("pipeline")
class Pipeline(Op):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        names = spec.attributes.string_list("nodes")
        self.children = [spec.bundle.load_node(posixpath.join(spec.folder, f"{name}.node")) for name in names]
        produced = set()
        for child in self.children:
            self.inputs.extend(column for column in child.inputs if column.name not in produced)
            produced.update(column.name for column in child.outputs)
            self.outputs.extend(child.outputs)

    def transform(self, frame: Frame) -> None:
        for child in self.children:
            child.transform(frame)
