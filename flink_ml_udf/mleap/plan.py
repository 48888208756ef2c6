"""A model's execution plan: its leaf ops in order, each bound at load to the step that runs it.

The ops' own ``transform`` is the reference path: it handles every case MLeap defines (nulls,
unseen labels, ``handle_invalid``, rejected rows). Most batches need none of that, and on small
batches the reference path's bookkeeping costs more than the arithmetic (a one-row airbnb
transform spent ~10 µs per string indexer and one-hot encoder). So a few ops have a *fast step*,
registered here by op name and built once when the plan is built: it checks cheaply that the
batch is the plain case, computes it directly, and otherwise hands the batch to the op's own
``transform`` before it has changed the frame. Either way the frame ends up with the same
columns and values (tests/mleap/test_plan.py checks each fast step against the reference on
random batches, edge cases included).

Pipelines are flattened, so running the plan is one loop over steps with no recursion.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.ops import Op
from flink_ml_udf.mleap.ops.base import registrar
from flink_ml_udf.mleap.ops.pipeline import Pipeline

Step = Callable[[Frame], None]

#: op name -> builder of a fast step for an op of that name (``None`` when that op has none).
FAST_STEPS: Dict[str, Callable[[Op], Optional[Step]]] = {}


#: Decorator: register a fast-step builder for the MLeap ops ``names``.
fast_step = registrar(FAST_STEPS, "fast step for op")


def leaf_ops(root: Op) -> List[Op]:
    """The ops that do the work, in execution order: pipelines replaced by their children."""
    if isinstance(root, Pipeline):
        return [op for child in root.children for op in leaf_ops(child)]
    return [root]


class ExecutionPlan:
    """The steps of one model, built once at load; :meth:`run` is the per-batch path."""

    def __init__(self, root: Op) -> None:
        import flink_ml_udf.mleap.fast_steps  # noqa: F401  (registers the fast steps)

        self.root = root
        self.ops = leaf_ops(root)
        self.steps: List[Step] = []
        for op in self.ops:
            builder = FAST_STEPS.get(op.op)
            step = builder(op) if builder is not None else None
            self.steps.append(step if step is not None else op.transform)

    def __reduce__(self):
        # Steps are closures over their op: a pickled model (loaded in a child process) carries
        # its ops, and the plan is built again where it is unpickled.
        return (ExecutionPlan, (self.root,))

    def run(self, frame: Frame) -> None:
        for step in self.steps:
            step(frame)

    def run_reference(self, frame: Frame) -> None:
        """Every op through its own ``transform``: what the fast steps are tested against."""
        for op in self.ops:
            op.transform(frame)
