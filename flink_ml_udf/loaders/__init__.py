"""Bundle loaders keyed by source name: a URI becomes a verified local bundle.

Which loader serves a source is its row in :mod:`flink_ml_udf.sources` (``module:Class``). The
remote loaders import their client library (an extra) only when they fetch, so a missing extra is
an error on the entry that needs it, naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

import importlib
from typing import Dict

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import BundleLoader, LocalBundle
from flink_ml_udf.sources import BUNDLE_SOURCES, Source


def _make_loader(source: Source) -> BundleLoader:
    module, _, name = source.loader.partition(":")
    return getattr(importlib.import_module(module), name)()


LOADERS: Dict[str, BundleLoader] = {source.name: _make_loader(source) for source in BUNDLE_SOURCES}


def loader_for(source: str) -> BundleLoader:
    try:
        return LOADERS[source]
    except KeyError:
        raise LoaderError(
            f"bundle source {source!r} has no loader in this version (available: {', '.join(sorted(LOADERS))})"
        ) from None


__all__ = ["BundleLoader", "LOADERS", "LocalBundle", "loader_for"]
