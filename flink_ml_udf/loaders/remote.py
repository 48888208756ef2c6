"""What the object-storage loaders share: URI parsing, version pins, object-or-prefix, the cache.

A remote bundle is either one zip object (``s3://b/models/fraud.zip``) or every object under a
folder prefix (``s3://b/models/fraud/``; the trailing slash is optional when no object has the
exact key). Its resolved version is the object's version (S3 ``VersionId``, else its ETag; GCS
``generation``) or, for a prefix, a hash of the listing (keys, object versions, sizes).

A pinned version is immutable, so a cached copy of it is used without asking the server at all;
an unpinned URI costs one metadata request (or one listing) to learn the current version, and a
download only when that version is not cached yet.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import parse_qs

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import LocalBundle, version_changed
from flink_ml_udf.loaders.cache import BundleCache, HashingWriter, Staging
from flink_ml_udf.redact import redact
from flink_ml_udf.sources import BY_NAME, RemoteSettings, Source

log = logging.getLogger("flink_ml_udf.loaders")

PREFIX_VERSION = "sha256:"


@dataclass(frozen=True)
class Location:
    """A parsed ``gs://`` or ``s3://`` URI: bucket, key (ends with ``/`` for a prefix) and URI pin."""

    scheme: str
    bucket: str
    key: str
    pin: Optional[str]

    @property
    def base_uri(self) -> str:
        """The URI without its version pin: the cache key together with the resolved version."""
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def is_prefix(self) -> bool:
        return self.key.endswith("/") or self.key == ""


@dataclass(frozen=True)
class RemoteObject:
    """One object as the server describes it; ``md5`` is base64 when the server gives a plain MD5."""

    key: str
    version: str
    size: int
    md5: Optional[str] = None


def parse_location(uri: str, source: Source) -> Location:
    """Split ``scheme://bucket/key`` plus the source's ``?pin_key=`` (query) or ``#pin_key=`` (fragment) pin."""
    scheme, pin_key = source.scheme, source.pin_key
    prefix = f"{scheme}://"
    if not uri.startswith(prefix):
        raise LoaderError(f"bundle {uri}: not a {prefix} URI")
    rest = uri[len(prefix) :]
    pin = None
    separator = "?" if source.pin_in == "query" else "#"
    if separator in rest:
        rest, suffix = rest.split(separator, 1)
        query = parse_qs(suffix, keep_blank_values=True)
        unknown = sorted(set(query) - {pin_key})
        if unknown or len(query.get(pin_key, [])) != 1 or not query[pin_key][0]:
            raise LoaderError(f"bundle {uri}: the only URI parameter allowed is {separator}{pin_key}=<version>")
        pin = query[pin_key][0]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise LoaderError(f"bundle {uri}: no bucket name")
    return Location(scheme, bucket, key, pin)


def merge_pins(uri: str, location: Location, version: Optional[str]) -> Optional[str]:
    if location.pin and version and location.pin != version:
        raise LoaderError(f"bundle {uri}: the URI pins version {location.pin}, but the entry pins {version}")
    return location.pin or version


def listing_version(objects: List[RemoteObject], prefix: str) -> str:
    digest = hashlib.sha256()
    for item in sorted(objects, key=lambda o: o.key):
        digest.update(f"{item.key[len(prefix) :]}\0{item.version}\0{item.size}\n".encode())
    return PREFIX_VERSION + digest.hexdigest()[:16]


def relative_key(uri: str, prefix: str, key: str) -> str:
    """The path of ``key`` below ``prefix``; refuses keys that would land outside the bundle folder."""
    relative = key[len(prefix) :]
    normalized = posixpath.normpath(relative)
    if relative.startswith("/") or normalized == ".." or normalized.startswith("../") or "\\" in relative:
        raise LoaderError(f"bundle {uri}: object key {key!r} escapes the bundle folder")
    return normalized


def verify_download(uri: str, item: RemoteObject, writer: HashingWriter) -> None:
    """Raise a 'corrupt download' LoaderError when size or MD5 differ from what the server announced."""
    if writer.size != item.size:
        raise LoaderError(
            f"bundle {uri}: corrupt download of {item.key}: received {writer.size} bytes, the server announced {item.size}"
        )
    if item.md5 is not None and writer.md5_base64() != item.md5:
        raise LoaderError(
            f"bundle {uri}: corrupt download of {item.key}: MD5 {writer.md5_base64()} differs from the server's {item.md5}"
        )


class RemoteLoader:
    """Shared ``fetch`` of the object-storage loaders; subclasses talk to their server.

    A subclass names its ``source``; its URI scheme, version pin and settings dataclass are that
    source's row in :mod:`flink_ml_udf.sources`.
    Subclass hooks receive a client made once per settings value and raise
    :class:`LoaderError` (through :meth:`failure`) for anything the server or network answers.
    """

    source = ""

    def __init__(self) -> None:
        self.row = BY_NAME[self.source]
        self._clients: dict = {}

    # -- hooks --------------------------------------------------------------------------------
    def make_client(self, settings: RemoteSettings, uri: str) -> Any:
        raise NotImplementedError

    def stat(
        self, client: Any, settings: RemoteSettings, uri: str, loc: Location, pin: Optional[str]
    ) -> Optional[RemoteObject]:
        """The object at ``loc.key`` (at version ``pin``), or None when there is no such object."""
        raise NotImplementedError

    def list_prefix(
        self, client: Any, settings: RemoteSettings, uri: str, loc: Location, prefix: str
    ) -> List[RemoteObject]:
        raise NotImplementedError

    def download(
        self, client: Any, settings: RemoteSettings, uri: str, loc: Location, item: RemoteObject, writer: HashingWriter
    ) -> None:
        raise NotImplementedError

    def missing(
        self, client: Any, settings: RemoteSettings, uri: str, loc: Location, pin: Optional[str]
    ) -> LoaderError:
        """The error for an object that is not there: no such bucket, version or object."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def fetch(self, uri: str, version: Optional[str] = None, settings: Optional[RemoteSettings] = None) -> LocalBundle:
        settings = settings or self.row.settings()
        loc = parse_location(uri, self.row)
        pin = merge_pins(uri, loc, version)
        self.check_pin(uri, pin)
        cache = BundleCache(settings.cache_dir)
        if pin is not None:
            for candidate in _candidate_keys(loc):
                hit = cache.lookup(candidate, pin)
                if hit is not None:
                    log.info("bundle %s@%s: cache hit %s", redact(uri), pin, hit)
                    return LocalBundle(path=hit, version=pin, uri=uri)
        client = self.client(settings, uri)
        started = time.monotonic()
        item = (
            None
            if loc.is_prefix or (pin or "").startswith(PREFIX_VERSION)
            else self.stat(client, settings, uri, loc, pin)
        )
        if item is not None and pin is not None and item.version != pin:
            raise LoaderError(version_changed(uri, pin, item.version))
        if item is not None:
            path = cache.get_or_fetch(
                loc.base_uri,
                item.version,
                posixpath.basename(loc.key),
                lambda staging: self._download_object(client, settings, uri, loc, item, staging),
            )
            resolved = item.version
        else:
            prefix = loc.key if loc.is_prefix else loc.key + "/"
            objects = self.list_prefix(client, settings, uri, loc, prefix)
            objects = [o for o in objects if not o.key.endswith("/")]  # folder placeholder objects
            if not objects and loc.is_prefix:
                raise LoaderError(f"bundle {uri}: no such object or folder prefix (the prefix {prefix} is empty)")
            if not objects:
                raise self.missing(client, settings, uri, loc, pin)
            resolved = listing_version(objects, prefix)
            if pin is not None and pin != resolved:
                raise LoaderError(version_changed(uri, pin, resolved))
            name = posixpath.basename(prefix.rstrip("/")) or loc.bucket
            base = f"{self.row.scheme}://{loc.bucket}/{prefix}"
            path = cache.get_or_fetch(
                base,
                resolved,
                name,
                lambda staging: self._download_prefix(client, settings, uri, loc, prefix, objects, staging),
            )
        log.info("bundle %s: version %s at %s (%.2f s)", redact(uri), resolved, path, time.monotonic() - started)
        return LocalBundle(path=path, version=resolved, uri=uri)

    def resolve(self, uri: str, settings: Optional[RemoteSettings] = None) -> str:
        settings = settings or self.row.settings()
        loc = parse_location(uri, self.row)
        if loc.pin is not None:
            return loc.pin  # the URI names its version: it never moves
        client = self.client(settings, uri)
        item = None if loc.is_prefix else self.stat(client, settings, uri, loc, None)
        if item is not None:
            return item.version
        prefix = loc.key if loc.is_prefix else loc.key + "/"
        objects = [o for o in self.list_prefix(client, settings, uri, loc, prefix) if not o.key.endswith("/")]
        if not objects:
            if loc.is_prefix:
                raise LoaderError(f"bundle {uri}: no such object or folder prefix (the prefix {prefix} is empty)")
            raise self.missing(client, settings, uri, loc, None)
        return listing_version(objects, prefix)

    def check_pin(self, uri: str, pin: Optional[str]) -> None:
        """Reject a malformed pin before any request (subclasses: e.g. GCS generations are numbers)."""

    def client(self, settings: RemoteSettings, uri: str) -> Any:
        client = self._clients.get(settings)
        if client is None:
            client = self._clients[settings] = self.make_client(settings, uri)
        return client

    def _download_object(self, client, settings, uri, loc, item: RemoteObject, staging: Staging) -> None:
        with staging.open("") as writer:
            self.download(client, settings, uri, loc, item, writer)
        verify_download(uri, item, writer)

    def _download_prefix(
        self, client, settings, uri, loc, prefix, objects: List[RemoteObject], staging: Staging
    ) -> None:
        for item in objects:
            with staging.open(relative_key(uri, prefix, item.key)) as writer:
                self.download(client, settings, uri, loc, item, writer)
            verify_download(uri, item, writer)


def _candidate_keys(loc: Location) -> Tuple[str, ...]:
    """Cache keys a pinned URI may be stored under: the object, or the prefix it may turn out to be."""
    if loc.is_prefix:
        return (loc.base_uri,)
    return (loc.base_uri, loc.base_uri + "/")


def with_retries(call: Callable[[], Any], retries: int, transient: Callable[[BaseException], bool]) -> Any:
    """Run ``call``, retrying up to ``retries`` times on transient failures (0.2 s, 0.4 s, ... back-off)."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - re-raised unless transient and attempts remain
            if attempt >= retries or not transient(exc):
                raise
            time.sleep(min(0.2 * (2**attempt), 2.0))
            attempt += 1
