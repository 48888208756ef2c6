"""The UDFs of a config as module attributes, so SQL can declare them the Flink way:

    CREATE TEMPORARY SYSTEM FUNCTION Predict AS 'flink_ml_udf.functions.Predict' LANGUAGE PYTHON;

The config is the one named by ``FLINK_ML_UDF_CONFIG`` (default ``conf/application.yaml`` in the
working directory). An attribute is built on first access (PEP 562): its bundle is loaded once to
derive the SQL signature, then the UDF is the same one :func:`~flink_ml_udf.flink.registry.register_from_config`
registers, loading its bundle again on each worker in ``open()``.
"""

from __future__ import annotations

import os
from typing import Dict, List

from flink_ml_udf.config import load_config
from flink_ml_udf.flink.router import serving_plan
from flink_ml_udf.flink.udf import make_udf

CONFIG_ENV = "FLINK_ML_UDF_CONFIG"
DEFAULT_CONFIG = os.path.join("conf", "application.yaml")

_built: Dict[tuple, object] = {}  # (config path, UDF name) -> UDF


def config_path() -> str:
    return os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    key = (os.path.abspath(config_path()), name)
    if key not in _built:
        config = load_config(config_path())
        names = [entry.udf_name for entry in config.udfs]
        if name not in names:  # exact case: it is a Python attribute name
            raise AttributeError(f"{config.path} defines no UDF {name!r} (UDFs: {', '.join(names)})")
        entry = config.entry(name)
        _built[key] = make_udf(serving_plan(entry))
    return _built[key]


def __dir__() -> List[str]:
    return [entry.udf_name for entry in load_config(config_path()).udfs]
