"""``file``: bundles on a local or mounted file system (every TaskManager must see the path)."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Optional

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import LocalBundle

if TYPE_CHECKING:
    from flink_ml_udf.config import SourceSettings


class FileLoader:
    source = "file"

    def fetch(
        self, uri: str, version: Optional[str] = None, settings: Optional["SourceSettings"] = None
    ) -> LocalBundle:
        path = uri[len("file://") :] if uri.startswith("file://") else uri
        if not os.path.exists(path):
            raise LoaderError(f"bundle {path}: not found (no such file or folder)")
        if not (os.path.isdir(path) or os.path.isfile(path)):
            raise LoaderError(f"bundle {path}: not a regular file or folder")
        resolved = content_hash(path)
        if version is not None and version != resolved:
            raise LoaderError(f"bundle {path}: content hash is {resolved}, but version {version} is pinned")
        return LocalBundle(path=path, version=resolved, uri=uri)


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
