"""A host-local cache of downloaded bundles, keyed by URI + resolved version.

The client and every Python worker on a host share one folder, so a bundle version is downloaded
once per host, not once per process. An entry is built in a temporary folder next to the final one
and renamed into place only once it is complete and its manifest written: a crash or a concurrent
download never leaves a half-written entry under the final name. Every hit re-checks each file's
size and SHA-256 against the manifest, so a corrupted entry is detected, dropped and fetched again
instead of being scored from.

Layout::

    <root>/<key>/manifest.json        {"uri", "version", "bundle", "files": {relpath: {size, sha256}}}
    <root>/<key>/<bundle>             the zip object, or the folder of a prefix
    <root>/<key>.lock                 held (flock) while one process downloads the entry
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from typing import Callable, Dict, Iterator, Optional

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.redact import redact
from flink_ml_udf.regular_files import UnreadableFile, sha256_of_file
from flink_ml_udf.user_dirs import user_cache_dir

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def default_cache_dir() -> str:
    """The per-user cache folder of downloaded bundles."""
    return user_cache_dir("bundles")


class HashingWriter:
    """A binary file object that counts and hashes what is written through it, for verifying downloads."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._handle.write(data)
        self.size += len(data)
        self.md5.update(data)
        self.sha256.update(data)
        return len(data)

    def flush(self) -> None:
        self._handle.flush()

    def tell(self) -> int:
        return self.size

    def md5_base64(self) -> str:
        return base64.b64encode(self.md5.digest()).decode()


class Staging:
    """The temporary folder a download is written into; records each file's size and digest."""

    def __init__(self, folder: str, bundle_name: str) -> None:
        self.folder = folder
        self.bundle_name = bundle_name
        self.files: Dict[str, Dict[str, object]] = {}

    @contextlib.contextmanager
    def open(self, relative: str) -> Iterator[HashingWriter]:
        """Open ``<bundle>/<relative>`` (or the bundle file itself for ``""``) for writing."""
        target = os.path.join(self.folder, self.bundle_name, relative) if relative else self._bundle_path()
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            writer = HashingWriter(handle)
            yield writer
            handle.flush()
            os.fsync(handle.fileno())
        key = os.path.relpath(target, self.folder).replace(os.sep, "/")
        self.files[key] = {"size": writer.size, "sha256": writer.sha256.hexdigest()}

    def _bundle_path(self) -> str:
        return os.path.join(self.folder, self.bundle_name)


class BundleCache:
    """Cache entries under ``root``; see the module docstring for the layout and guarantees."""

    def __init__(self, root: Optional[str] = None) -> None:
        self.root = root or default_cache_dir()

    def key(self, uri: str, version: str) -> str:
        return hashlib.sha256(f"{uri}\0{version}".encode()).hexdigest()[:32]

    def entry_dir(self, uri: str, version: str) -> str:
        return os.path.join(self.root, self.key(uri, version))

    def lookup(self, uri: str, version: str) -> Optional[str]:
        """The local bundle path of a complete, intact entry, or None (a damaged entry is removed)."""
        folder = self.entry_dir(uri, version)
        manifest_path = os.path.join(folder, MANIFEST)
        if not os.path.isfile(manifest_path):
            return None
        problem = _verify(folder)
        if problem is None:
            with open(manifest_path, encoding="utf-8") as handle:
                return os.path.join(folder, json.load(handle)["bundle"])
        log.warning(
            "bundle cache entry %s for %s@%s is damaged (%s); fetching it again", folder, redact(uri), version, problem
        )
        self._discard(folder)
        return None

    def get_or_fetch(self, uri: str, version: str, bundle_name: str, download: Callable[[Staging], None]) -> str:
        """The cached bundle of ``uri``@``version``, downloading it with ``download`` on a miss.

        Processes on one host take a file lock per entry, so only one downloads while the others wait
        and then read its result.
        """
        hit = self.lookup(uri, version)
        if hit is not None:
            return hit
        try:
            os.makedirs(self.root, exist_ok=True)
            lock = open(self.entry_dir(uri, version) + ".lock", "a+b")
        except OSError as exc:
            raise LoaderError(f"bundle cache {self.root}: cannot write: {exc.strerror}") from None
        with lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                hit = self.lookup(uri, version)  # another process may have finished it meanwhile
                if hit is not None:
                    return hit
                return self._fetch(uri, version, bundle_name, download)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _fetch(self, uri: str, version: str, bundle_name: str, download: Callable[[Staging], None]) -> str:
        final = self.entry_dir(uri, version)
        staging = Staging(tempfile.mkdtemp(prefix=".tmp-", dir=self.root), bundle_name)
        try:
            download(staging)
            manifest = {"uri": uri, "version": version, "bundle": bundle_name, "files": staging.files}
            with open(os.path.join(staging.folder, MANIFEST), "w", encoding="utf-8") as handle:
                json.dump(manifest, handle, indent=1, sort_keys=True)
            if os.path.exists(final):  # a damaged leftover that lookup() could not remove
                self._discard(final)
            os.rename(staging.folder, final)
        except BaseException:
            shutil.rmtree(staging.folder, ignore_errors=True)
            raise
        return os.path.join(final, bundle_name)

    def _discard(self, folder: str) -> None:
        trash = tempfile.mkdtemp(prefix=".trash-", dir=self.root)
        try:
            os.rename(folder, os.path.join(trash, "entry"))
        except OSError:
            pass  # already gone: another process discarded it first
        shutil.rmtree(trash, ignore_errors=True)


def _verify(folder: str) -> Optional[str]:
    """None if every file in the manifest has its recorded size and SHA-256, else what differs."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as handle:
            files = json.load(handle)["files"]
    except (OSError, ValueError, KeyError) as exc:
        return f"unreadable manifest: {exc}"
    for relative, expected in sorted(files.items()):
        path = os.path.join(folder, relative)
        try:
            size = os.path.getsize(path)
        except OSError:
            return f"{relative} is missing"
        if size != expected["size"]:
            return f"{relative} has {size} bytes, expected {expected['size']}"
        try:
            found = sha256_of_file(path)
        except UnreadableFile as exc:
            return f"{relative} {exc}"
        if found != expected["sha256"]:
            return f"{relative} has SHA-256 {found[:16]}…, expected {expected['sha256'][:16]}…"
    return None
