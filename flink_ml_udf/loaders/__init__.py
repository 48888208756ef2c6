"""Bundle loaders keyed by source name: a URI becomes a verified local bundle.

Remote sources (``gcs``, ``s3``) plug in here behind the same :class:`BundleLoader` interface.
"""

from __future__ import annotations

from typing import Dict

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import BundleLoader, LocalBundle
from flink_ml_udf.loaders.file import FileLoader

LOADERS: Dict[str, BundleLoader] = {"file": FileLoader()}


def loader_for(source: str) -> BundleLoader:
    try:
        return LOADERS[source]
    except KeyError:
        raise LoaderError(
            f"bundle source {source!r} has no loader in this version (available: {', '.join(sorted(LOADERS))})"
        ) from None


__all__ = ["BundleLoader", "LOADERS", "LocalBundle", "loader_for"]
