"""MLeap ops, one small class per op, registered by op name in :data:`OPS`.

Importing this package imports every module in it, so the registry is complete and adding an op
touches one file: a new module with a ``@register("op_name")`` class.
"""

import importlib
import pkgutil

from flink_ml_udf.mleap.ops.base import OPS, UNSUPPORTED_OPS, Column, Op, op_class, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OPS", "UNSUPPORTED_OPS", "Column", "Op", "op_class", "register"]
