"""flink-ml-udf: score MLeap bundles inside Apache Flink SQL with vectorized Python UDFs.

The data path runs one way (see ``DESIGN.md`` in the team's shared folder)::

    config -> loaders -> mleap (reader, ops, Model) -> udf -> registry -> jobs / sql

Importing this package is cheap: PyFlink is only imported by :mod:`flink_ml_udf.udf`,
:mod:`flink_ml_udf.registry` and the jobs, so the runtime and the CLI work without a JVM.
"""

from flink_ml_udf.errors import (
    BundleError,
    ConfigError,
    FlinkMlUdfError,
    LoaderError,
    ScoringError,
)

__version__ = "0.1.0"

__all__ = [
    "BundleError",
    "ConfigError",
    "FlinkMlUdfError",
    "LoaderError",
    "ScoringError",
    "__version__",
]
