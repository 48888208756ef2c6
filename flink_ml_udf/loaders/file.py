"""``file``: bundles on a local or mounted file system (every TaskManager must see the path).

The version of a local bundle is a hash of what the bundle reader reads: the zip's bytes, or, for a
folder, ``bundle.json`` and the node, model and tree files under ``root/`` (MLeap's fixed layout).
Hashing never follows a symlink and never opens anything but a regular file, and a folder without
a ``bundle.json`` is refused before anything is read (``bundle_path: /`` must not hash the disk).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Dict, Optional, Tuple

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.base import LocalBundle, version_changed
from flink_ml_udf.regular_files import Missing, UnreadableFile, hash_regular_file, is_folder, sha256_of_file, walk_tree
from flink_ml_udf.sources import local_path

if TYPE_CHECKING:
    from flink_ml_udf.sources import RemoteSettings

#: The only files a bundle reader opens: ``bundle.json`` at the top, these anywhere under ``root/``.
BUNDLE_FILE_NAMES = frozenset(f"{stem}.{ext}" for stem in ("node", "model", "tree") for ext in ("json", "pb"))
#: A folder bundle listing more entries under ``root/`` than this is refused (a 10 000-tree forest has ~30 000).
MAX_FOLDER_ENTRIES = 200_000


class FileLoader:
    """Local files have no versions of their own: the version is a hash of the content, so a
    pinned version holds only as long as nobody rewrites the file (publish by writing elsewhere,
    then renaming over it: a half-written file is never seen under the bundle's name)."""

    source = "file"

    def __init__(self) -> None:
        # A zip's hash by (inode, size, mtime, ctime): a reload poller re-hashes only when the file changed.
        self._hashes: Dict[str, Tuple[Tuple[int, int, int, int], str]] = {}

    def fetch(
        self, uri: str, version: Optional[str] = None, settings: Optional["RemoteSettings"] = None
    ) -> LocalBundle:
        path = local_path(uri)
        resolved = self.resolve(uri, settings)
        if version is not None and version != resolved:
            raise LoaderError(version_changed(path, version, resolved))
        return LocalBundle(path=path, version=resolved, uri=uri, in_place=True)

    def resolve(self, uri: str, settings: Optional["RemoteSettings"] = None) -> str:
        path = local_path(uri)
        try:
            folder = is_folder(path)  # a fifo or a device is refused here, never opened
        except Missing:
            raise LoaderError(f"bundle {path}: not found (no such file or folder)") from None
        except UnreadableFile as exc:
            raise LoaderError(f"bundle {path}: {exc}") from None
        if folder:
            return content_hash(path)
        info = os.stat(path)
        key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        known = self._hashes.get(path)
        if known is not None and known[0] == key:
            return known[1]
        resolved = content_hash(path)
        self._hashes[path] = (key, resolved)
        return resolved


def content_hash(path: str) -> str:
    """``sha256:<hex>`` of a zip's bytes, or of a folder's bundle files (relative path and contents,
    in sorted order); see the module docstring for which files count."""
    digest = hashlib.sha256()
    try:
        if not os.path.isdir(path):
            return f"sha256:{sha256_of_file(path)[:16]}"
        _hash_file(digest, path, "bundle.json", missing="is not a bundle folder: it has no bundle.json")
        root = os.path.join(path, "root")
        if os.path.isdir(root) and not os.path.islink(root):
            for relative, entry in walk_tree(root, MAX_FOLDER_ENTRIES):
                if entry.name in BUNDLE_FILE_NAMES and entry.is_file(follow_symlinks=False):
                    _hash_file(digest, path, f"root/{relative}")
    except UnreadableFile as exc:
        raise LoaderError(f"bundle {path}: {exc}") from None
    return f"sha256:{digest.hexdigest()[:16]}"


def _hash_file(digest: "hashlib._Hash", folder: str, relative: str, missing: Optional[str] = None) -> None:
    full = os.path.join(folder, relative)
    if missing is not None and not os.path.lexists(full):
        raise UnreadableFile(missing)
    digest.update(relative.encode() + b"\0")
    try:
        hash_regular_file(full, digest.update, follow_symlinks=False)
    except UnreadableFile as exc:
        raise UnreadableFile(f"{relative} {exc}") from None
