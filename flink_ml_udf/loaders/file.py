"""``file``: bundles on a local or mounted file system (every TaskManager must see the path)."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import LocalBundle, version_changed

if TYPE_CHECKING:
    from flink_ml_udf.config import SourceSettings


class FileLoader:
    """Local files have no versions of their own: the version is a hash of the content, so a
    pinned version holds only as long as nobody rewrites the file (publish by writing elsewhere,
    then renaming over it: a half-written file is never seen under the bundle's name)."""

    source = "file"

    def __init__(self) -> None:
        # A zip's hash by (inode, size, mtime, ctime): a reload poller re-hashes only when the file changed.
        self._hashes: Dict[str, Tuple[Tuple[int, int, int, int], str]] = {}

    def fetch(
        self, uri: str, version: Optional[str] = None, settings: Optional["SourceSettings"] = None
    ) -> LocalBundle:
        path = _local_path(uri)
        resolved = self.resolve(uri, settings)
        if version is not None and version != resolved:
            raise LoaderError(version_changed(path, version, resolved))
        return LocalBundle(path=path, version=resolved, uri=uri, in_place=True)

    def resolve(self, uri: str, settings: Optional["SourceSettings"] = None) -> str:
        path = _local_path(uri)
        if not os.path.exists(path):
            raise LoaderError(f"bundle {path}: not found (no such file or folder)")
        if not (os.path.isdir(path) or os.path.isfile(path)):
            raise LoaderError(f"bundle {path}: not a regular file or folder")
        if os.path.isdir(path):
            return content_hash(path)
        info = os.stat(path)
        key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        known = self._hashes.get(path)
        if known is not None and known[0] == key:
            return known[1]
        resolved = content_hash(path)
        self._hashes[path] = (key, resolved)
        return resolved


def _local_path(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def content_hash(path: str) -> str:
    """``sha256:<hex>`` of a zip's bytes, or of a folder's relative paths and contents in sorted order."""
    digest = hashlib.sha256()
    if os.path.isfile(path):
        _update_from_file(digest, path)
    else:
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(folder, name)
                digest.update(os.path.relpath(full, path).replace(os.sep, "/").encode() + b"\0")
                _update_from_file(digest, full)
    return f"sha256:{digest.hexdigest()[:16]}"


def _update_from_file(digest: "hashlib._Hash", path: str) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
