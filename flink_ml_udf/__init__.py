"""flink-ml-udf: score MLeap bundles inside Apache Flink SQL with vectorized Python UDFs.

The data path runs one way (see ``DESIGN.md`` in the team's shared folder)::

    config -> loaders -> mleap (reader, ops, Model) -> flink (signature, UDF, registry, job) -> sql

Each arrow is a package boundary, and a package only knows the ones to its left. ``config``,
``loaders`` and ``mleap`` never import PyFlink: only :mod:`flink_ml_udf.flink` does, so the runtime
and most of the CLI work without a JVM. ``export`` writes bundles from scikit-learn; ``testing``
holds the local Kafka broker of the tests and demos (not product API).
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
