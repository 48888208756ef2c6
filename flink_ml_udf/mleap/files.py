"""Read-only access to the files of a bundle, whether it is a folder or a zip.

Both forms expose the same relative paths (``bundle.json``, ``root/model.json``, ...). Paths are
checked before use: a bundle can only read inside itself, never through a symlink or ``..``, and a
zip is refused when it would unpack to more than ``max_unpacked_bytes``.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zipfile
from typing import Dict, Protocol

from flink_ml_udf.errors import BundleError

DEFAULT_MAX_UNPACKED_BYTES = 1 << 30


class BundleFiles(Protocol):
    """What the bundle reader needs from storage: named bytes, relative to the bundle root."""

    location: str

    def read_bytes(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...


def open_bundle_files(location: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> BundleFiles:
    """Open a local bundle: a folder holding ``bundle.json``, or a ``.zip`` of one."""
    if os.path.isdir(location):
        return FolderFiles(location)
    if os.path.isfile(location):
        if not zipfile.is_zipfile(location):
            raise BundleError(f"bundle {location}: not a folder and not a zip file")
        return ZipFiles(location, max_unpacked_bytes)
    raise BundleError(f"bundle {location}: no such file or folder")


def _clean(location: str, path: str) -> str:
    normalized = posixpath.normpath(path.replace("\\", "/"))
    if normalized.startswith("/") or normalized == ".." or normalized.startswith("../"):
        raise BundleError(f"bundle {location}: path {path!r} escapes the bundle")
    return normalized


class FolderFiles:
    """A bundle unpacked in a local folder."""

    def __init__(self, root: str) -> None:
        self.location = root
        self._root = os.path.realpath(root)

    def _resolve(self, path: str) -> str:
        full = os.path.join(self._root, _clean(self.location, path))
        # Walk each component so a symlink anywhere inside the bundle is refused, not followed.
        current = self._root
        for part in os.path.relpath(full, self._root).split(os.sep):
            current = os.path.join(current, part)
            if os.path.islink(current):
                raise BundleError(f"bundle {self.location}: {path!r} is a symlink, which bundles may not contain")
        return full

    def read_bytes(self, path: str) -> bytes:
        full = self._resolve(path)
        try:
            with open(full, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise BundleError(f"bundle {self.location}: missing file {path}") from None
        except IsADirectoryError:
            raise BundleError(f"bundle {self.location}: {path} is a folder, expected a file") from None

    def exists(self, path: str) -> bool:
        return os.path.exists(self._resolve(path))


class ZipFiles:
    """A zipped bundle, read in place. Entries sit at the zip root or under one top folder."""

    def __init__(self, path: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> None:
        self.location = path
        self._zip = zipfile.ZipFile(path)
        self._entries: Dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in self._zip.infolist():
            name = _clean(path, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BundleError(f"bundle {path}: entry {info.filename!r} is a symlink, which bundles may not contain")
            total += info.file_size
            if total > max_unpacked_bytes:
                raise BundleError(
                    f"bundle {path}: unpacks to more than {max_unpacked_bytes} bytes (the configured limit)"
                )
            if not info.is_dir():
                self._entries[name] = info
        self._prefix = ""
        if "bundle.json" not in self._entries:
            tops = {name.split("/", 1)[0] for name in self._entries}
            if len(tops) == 1 and f"{next(iter(tops))}/bundle.json" in self._entries:
                self._prefix = next(iter(tops)) + "/"

    def read_bytes(self, path: str) -> bytes:
        name = self._prefix + _clean(self.location, path)
        info = self._entries.get(name)
        if info is None:
            raise BundleError(f"bundle {self.location}: missing file {path}")
        return self._zip.read(info)

    def exists(self, path: str) -> bool:
        name = self._prefix + _clean(self.location, path)
        return name in self._entries or any(entry.startswith(name.rstrip("/") + "/") for entry in self._entries)
