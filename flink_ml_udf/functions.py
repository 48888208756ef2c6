"""The config's UDFs under the name SQL uses for them:

    CREATE TEMPORARY SYSTEM FUNCTION Predict AS 'flink_ml_udf.functions.Predict' LANGUAGE PYTHON;

A stable public module name for :mod:`flink_ml_udf.flink.functions`, which builds them (PEP 562
attributes), so that SQL scripts and catalogs keep working whatever the package's inner layout.
"""

# __getattr__ and __dir__ make this module's attributes the config's UDFs (PEP 562).
from flink_ml_udf.flink.functions import CONFIG_ENV, DEFAULT_CONFIG, __dir__, __getattr__, config_path  # noqa: F401

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "config_path"]
