"""Config entry → loaded model: the one place where loaders and the MLeap runtime meet.

The client (to validate and derive SQL signatures) and every Flink worker (in ``open()``) load
models through :func:`load_entry_model`, so both see the same bundle and the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.loaders import loader_for
from flink_ml_udf.mleap import Model, load_bundle


@dataclass(frozen=True)
class LoadedModel:
    """A model plus the version of the bundle it was loaded from."""

    model: Model
    version: str
    uri: str


def load_entry_model(entry: UdfEntry) -> LoadedModel:
    """Fetch and load the bundle of ``entry``; errors are prefixed with the UDF name."""
    try:
        local = loader_for(entry.bundle_source).fetch(entry.bundle_path, entry.version)
        return LoadedModel(load_bundle(local.path, entry.max_bundle_bytes), local.version, local.uri)
    except FlinkMlUdfError as exc:
        raise exc.within(entry.label) from exc
