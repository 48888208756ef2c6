"""Bundle loaders keyed by source name: a URI becomes a verified local bundle.

The remote loaders import their client library (an extra) only when they fetch, so a missing
extra is an error on the entry that needs it, naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

from typing import Dict

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import BundleLoader, LocalBundle
from flink_ml_udf.loaders.file import FileLoader
from flink_ml_udf.loaders.gcs import GcsLoader
from flink_ml_udf.loaders.s3 import S3Loader

LOADERS: Dict[str, BundleLoader] = {"file": FileLoader(), "gcs": GcsLoader(), "s3": S3Loader()}


def loader_for(source: str) -> BundleLoader:
    try:
        return LOADERS[source]
    except KeyError:
        raise LoaderError(
            f"bundle source {source!r} has no loader in this version (available: {', '.join(sorted(LOADERS))})"
        ) from None


__all__ = ["BundleLoader", "LOADERS", "LocalBundle", "loader_for"]
