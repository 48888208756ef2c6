"""MLeap ops, one small class per op, registered by op name in :data:`OPS`.

Importing this package imports every op module so the registry is complete.
"""

from flink_ml_udf.mleap.ops.base import OPS, UNSUPPORTED_OPS, Column, Op, op_class, register
from flink_ml_udf.mleap.ops import (  # noqa: F401  (imported to register the ops)
    linear,
    one_hot_encoder,
    pipeline,
    scalers,
    string_indexer,
    trees,
    vector_assembler,
)

__all__ = ["OPS", "UNSUPPORTED_OPS", "Column", "Op", "op_class", "register"]
