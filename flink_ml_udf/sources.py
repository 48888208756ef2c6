"""The bundle sources, one row each: name, URI scheme, version pin, settings section, loader.

Config (which ``bundle_source`` values exist, the ``mleap.<source>`` sections and their keys), the
URI parsing of the CLI, ``promote`` and the bundle loading, and the loaders themselves (scheme and
pin of a URI) all read this table, so a new source is its loader module plus its row here (and, if
it has settings, their dataclass). It sits left of config on the data path and imports nothing of
the package: config, loaders and the CLI import it.

Each settings dataclass travels to every worker inside a :class:`~flink_ml_udf.config.UdfEntry`,
so it holds only references to credentials (a file path, a profile name), never the secrets.
A field's ``metadata["kind"]`` says how config validates its key: ``seconds`` (a positive number
of seconds, at most a day), ``retries`` (a whole number from 0 to 10), ``flag`` (true or false),
``path`` (resolved against the config file's folder), ``choice`` (one of ``metadata["choices"]``);
any other field is a non-empty string.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Tuple, Type

SECONDS = {"kind": "seconds"}
PATH = {"kind": "path"}
ADDRESSING_STYLES = ("auto", "path", "virtual")


@dataclass(frozen=True)
class RemoteSettings:
    """What every object store's section holds: where it is, which credentials, how long to wait,
    where to cache. The subclasses add what only their store knows."""

    endpoint_url: Optional[str] = None
    credentials_file: Optional[str] = field(default=None, metadata=PATH)  # absolute, resolved against the config
    anonymous: bool = field(default=False, metadata={"kind": "flag"})
    connect_timeout: float = field(default=10.0, metadata=SECONDS)
    read_timeout: float = field(default=60.0, metadata=SECONDS)
    retries: int = field(default=3, metadata={"kind": "retries"})
    cache_dir: Optional[str] = field(default=None, metadata=PATH)  # None: the user cache dir


@dataclass(frozen=True)
class S3Settings(RemoteSettings):
    """``mleap.s3``: Amazon S3 or an S3-compatible server."""

    region: Optional[str] = None
    profile: Optional[str] = None  # a profile of the shared credentials file
    addressing_style: str = field(default="auto", metadata={"kind": "choice", "choices": ADDRESSING_STYLES})


@dataclass(frozen=True)
class GcsSettings(RemoteSettings):
    """``mleap.gcs``: Google Cloud Storage (or an emulator at ``endpoint_url``)."""

    project: Optional[str] = None


@dataclass(frozen=True)
class Source:
    """One bundle source: how config names it, how a URI names it, and what loads from it."""

    name: str  # the value of bundle_source, and the config section mleap.<name> of its settings
    scheme: str  # <scheme>:// in a bundle URI
    loader: str  # "module:Class" of its loader in flink_ml_udf/loaders/, imported by the loaders package
    settings: Optional[Type[RemoteSettings]] = None  # its settings dataclass; None: no settings section
    pin_key: Optional[str] = None  # the URI parameter naming a version (?versionId=, #generation=)
    pin_in: str = "query"  # where that parameter goes: "query" (?) or "fragment" (#)

    @property
    def settings_keys(self) -> Tuple[str, ...]:
        """The keys of ``mleap.<name>``, in the order messages list them."""
        return tuple(f.name for f in dataclasses.fields(self.settings)) if self.settings else ()

    def default_settings(self) -> Optional[RemoteSettings]:
        return self.settings() if self.settings else None


#: Every bundle source; config reads their settings sections in this order (messages list names sorted).
BUNDLE_SOURCES: Tuple[Source, ...] = (
    Source("file", "file", "flink_ml_udf.loaders.file:FileLoader"),
    Source("s3", "s3", "flink_ml_udf.loaders.s3:S3Loader", S3Settings, "versionId", "query"),
    Source("gcs", "gs", "flink_ml_udf.loaders.gcs:GcsLoader", GcsSettings, "generation", "fragment"),
)
BY_NAME = {source.name: source for source in BUNDLE_SOURCES}
BY_SCHEME = {source.scheme: source for source in BUNDLE_SOURCES}
#: A path without a scheme is a local file.
LOCAL = BY_NAME["file"]
#: What an unknown scheme's message suggests instead: ``use gs://, s3:// or a path``.
SCHEME_HINT = "use " + ", ".join(sorted(f"{s.scheme}://" for s in BUNDLE_SOURCES if s is not LOCAL)) + " or a path"


def uri_scheme(location: str) -> Optional[str]:
    """The scheme of ``scheme://...``, or None for a plain path."""
    return location.split("://", 1)[0] if "://" in location else None


def source_of(location: str) -> Optional[Source]:
    """The source a bundle path or URI names by its scheme (none: a local file), or None for an
    unknown scheme."""
    scheme = uri_scheme(location)
    return BY_SCHEME.get(scheme) if scheme else LOCAL


def source_for_uri(uri: str) -> Optional[str]:
    """The name of the source a bundle URI names by its scheme (``s3://`` → s3, ``gs://`` → gcs, a
    path → file), or None for an unknown scheme."""
    source = source_of(uri)
    return source.name if source else None


def local_path(location: str) -> str:
    """A local bundle's path, with a ``file://`` prefix removed."""
    prefix = f"{LOCAL.scheme}://"
    return location[len(prefix) :] if location.startswith(prefix) else location
