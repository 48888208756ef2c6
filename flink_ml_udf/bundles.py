"""Config entry → loaded model: the one place where loaders and the MLeap runtime meet.

The client (to validate and derive SQL signatures) and every Flink worker (in ``open()``) load
models through :func:`load_entry_model`, so both see the same bundle and the same errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from flink_ml_udf.config import DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BUNDLE_BYTES, UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError, LoaderError
from flink_ml_udf.loaders import loader_for
from flink_ml_udf.mleap import Model, load_bundle
from flink_ml_udf.mleap.numerics import DEFAULT_NUMERICS
from flink_ml_udf.sources import LOCAL, SCHEME_HINT, RemoteSettings, local_path, source_for_uri, source_of, uri_scheme


@dataclass(frozen=True)
class LoadedModel:
    """A model plus the version of the bundle it was loaded from."""

    model: Model
    version: str  # resolved: S3 VersionId or etag:<ETag>, GCS generation, sha256:<hash> of a file or prefix
    uri: str
    path: str  # where the bundle is on this host (a cache entry for remote sources)


def load_entry_model(entry: UdfEntry, uri: Optional[str] = None, version: Optional[str] = None) -> LoadedModel:
    """Fetch and load the bundle of ``entry`` (or ``uri``, a model update for it: a path or URI of
    the entry's own source) at ``version`` (default: the entry's pin, else the store's current
    version); errors are prefixed with the UDF name."""
    try:
        if uri is None:
            uri, version = entry.bundle_path, entry.version if version is None else version
        elif source_for_uri(uri) != entry.bundle_source:
            raise LoaderError(
                f"bundle {uri}: not a bundle of the entry's source {entry.bundle_source!r} "
                f"(its bundle_path is {entry.bundle_path})"
            )
        loader = loader_for(entry.bundle_source)
        for _ in range(2):
            local = loader.fetch(uri, version, entry.source_settings)
            model = load_bundle(local.path, entry.max_bundle_bytes, entry.max_batch_bytes, entry.numerics)
            # A local file read in place may have been replaced while it was read: the version must still hold.
            if not local.in_place or loader.resolve(uri, entry.source_settings) == local.version:
                return LoadedModel(model, local.version, local.uri, local.path)
        raise LoaderError(
            f"bundle {uri}: changed while it was being read, twice; publish by writing a new file, then renaming it"
        )
    except FlinkMlUdfError as exc:
        raise exc.within(entry.label) from exc


def load_location_model(
    location: str,
    version: Optional[str] = None,
    settings: Optional[Mapping[str, RemoteSettings]] = None,
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    numerics: str = DEFAULT_NUMERICS,
) -> LoadedModel:
    """Fetch and load a bundle given as a path or a ``gs://`` / ``s3://`` URI (the CLI's BUNDLE).

    ``settings`` maps a source name to its settings (a config file's ``mleap.s3`` / ``mleap.gcs``);
    ``numerics`` (``fast`` | ``jvm``) how the model sums dot products.
    """
    source = source_of(location)
    if source is None:
        raise LoaderError(f"bundle {location}: unknown URI scheme {uri_scheme(location)!r} ({SCHEME_HINT})")
    if source is LOCAL:  # read first: a missing path is reported by the bundle reader, as before URIs
        path = local_path(location)
        model = load_bundle(path, max_bundle_bytes, max_batch_bytes, numerics)
        local = loader_for(LOCAL.name).fetch(path, version)
        return LoadedModel(model, local.version, location, path)
    local = loader_for(source.name).fetch(location, version, (settings or {}).get(source.name))
    model = load_bundle(local.path, max_bundle_bytes, max_batch_bytes, numerics)
    return LoadedModel(model, local.version, local.uri, local.path)
