"""Read-only access to the files of a bundle, whether it is a folder or a zip.

Both forms expose the same relative paths (``bundle.json``, ``root/model.json``, ...). Paths are
checked before use: a bundle can only read inside itself, never through a symlink or ``..``, and
only regular files are ever opened (a fifo or a device inside a folder bundle is refused, not
waited on). Every byte read counts against ``max_unpacked_bytes``: a zip whose entries declare more
is refused when it is opened, and inflated bytes are counted while they are read (in blocks, so a
deflate stream that lies about its size costs one block of memory, not the lie). Every way a zip
can be damaged (bad CRC, corrupt deflate, truncated entries, encryption, unknown compression,
duplicate entry names) is a :class:`~flink_ml_udf.errors.BundleError` naming the entry.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import stat
import struct
import zipfile
import zlib
from typing import Dict, Protocol, Set

from flink_ml_udf.errors import BundleError
from flink_ml_udf.regular_files import FileTooLarge, UnreadableFile, is_folder, read_regular_file

DEFAULT_MAX_UNPACKED_BYTES = 1 << 30
#: More entries than this in one zip is not a bundle (a forest of 10 000 trees has ~30 000).
MAX_ZIP_ENTRIES = 200_000
_BLOCK = 1 << 20
_SUPPORTED_COMPRESSION = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
#: What reading a damaged zip entry raises, across compression methods and Python versions.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    OSError,
    ValueError,
    OverflowError,
    struct.error,
)


class BundleFiles(Protocol):
    """What the bundle reader needs from storage: named bytes, relative to the bundle root."""

    location: str

    def read_bytes(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...


def open_bundle_files(location: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> BundleFiles:
    """Open a local bundle: a folder holding ``bundle.json``, or a ``.zip`` of one."""
    try:
        folder = is_folder(location)
    except UnreadableFile as exc:
        raise BundleError(f"bundle {location}: {exc}") from None
    return FolderFiles(location, max_unpacked_bytes) if folder else ZipFiles(location, max_unpacked_bytes)


def clean_path(location: str, path: str) -> str:
    """``path`` normalized inside the bundle; a path that leaves it is an error."""
    normalized = posixpath.normpath(path.replace("\\", "/"))
    if normalized.startswith("/") or normalized == ".." or normalized.startswith("../") or "\0" in normalized:
        raise BundleError(f"bundle {location}: path {path!r} escapes the bundle")
    return normalized


class _ReadMeter:
    """Bytes read from one bundle so far, against the bundle's limit."""

    def __init__(self, location: str, limit: int) -> None:
        self.location = location
        self.limit = limit
        self.total = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.total, 0)

    def count(self, size: int, path: str) -> None:
        self.total += size
        if self.total > self.limit:
            raise BundleError(
                f"bundle {self.location}: reading {path} goes past {self.limit} bytes read from the bundle "
                "(max_bundle_bytes)"
            )


class FolderFiles:
    """A bundle unpacked in a local folder."""

    def __init__(self, root: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> None:
        self.location = root
        self._root = os.path.realpath(root)
        self._meter = _ReadMeter(root, max_unpacked_bytes)

    def _resolve(self, path: str) -> str:
        full = os.path.join(self._root, clean_path(self.location, path))
        # Walk each component so a symlink anywhere inside the bundle is refused, not followed.
        current = self._root
        for part in os.path.relpath(full, self._root).split(os.sep):
            current = os.path.join(current, part)
            if os.path.islink(current):
                raise BundleError(f"bundle {self.location}: {path!r} is a symlink, which bundles may not contain")
        return full

    def read_bytes(self, path: str) -> bytes:
        full = self._resolve(path)
        if not os.path.lexists(full):
            raise BundleError(f"bundle {self.location}: missing file {path}")
        try:
            data = read_regular_file(full, self._meter.remaining, follow_symlinks=False)
        except FileTooLarge:
            self._meter.count(self._meter.remaining + 1, path)
            raise
        except UnreadableFile as exc:
            if os.path.isdir(full):
                raise BundleError(f"bundle {self.location}: {path} is a folder, expected a file") from None
            raise BundleError(f"bundle {self.location}: {path} {exc}") from None
        self._meter.count(len(data), path)
        return data

    def exists(self, path: str) -> bool:
        return os.path.lexists(self._resolve(path))


class ZipFiles:
    """A zipped bundle, read in place. Entries sit at the zip root or under one top folder."""

    def __init__(self, path: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> None:
        self.location = path
        self._meter = _ReadMeter(path, max_unpacked_bytes)
        self._zip = _open_zip(path)
        self._entries: Dict[str, zipfile.ZipInfo] = {}
        self._folders: Set[str] = set()
        declared = 0
        for info in self._zip.infolist():
            name = clean_path(path, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BundleError(f"bundle {path}: entry {info.filename!r} is a symlink, which bundles may not contain")
            if info.is_dir():
                self._folders.add(name)
                continue
            if name in self._entries:
                raise BundleError(
                    f"bundle {path}: entry {info.filename!r} appears more than once (zip readers disagree on which "
                    "copy wins)"
                )
            if info.flag_bits & 0x1:
                raise BundleError(f"bundle {path}: entry {info.filename!r} is encrypted, which bundles may not be")
            if info.compress_type not in _SUPPORTED_COMPRESSION:
                raise BundleError(
                    f"bundle {path}: entry {info.filename!r} uses compression method {info.compress_type} "
                    f"(supported: {', '.join(_SUPPORTED_COMPRESSION.values())})"
                )
            declared += info.file_size
            if declared > max_unpacked_bytes:
                raise BundleError(
                    f"bundle {path}: unpacks to more than {max_unpacked_bytes} bytes (the configured limit)"
                )
            self._entries[name] = info
            parent = posixpath.dirname(name)
            while parent and parent not in self._folders:
                self._folders.add(parent)
                parent = posixpath.dirname(parent)
        self._prefix = ""
        if "bundle.json" not in self._entries:
            tops = {name.split("/", 1)[0] for name in self._entries}
            if len(tops) == 1 and f"{next(iter(tops))}/bundle.json" in self._entries:
                self._prefix = next(iter(tops)) + "/"

    def read_bytes(self, path: str) -> bytes:
        name = self._prefix + clean_path(self.location, path)
        info = self._entries.get(name)
        if info is None:
            if name in self._folders:
                raise BundleError(f"bundle {self.location}: {path} is a folder, expected a file")
            raise BundleError(f"bundle {self.location}: missing file {path}")
        blocks = []
        size = 0
        try:
            with self._zip.open(info) as handle:
                # Bounded reads: zipfile inflates at most one block per call, whatever the header says.
                for block in iter(lambda: handle.read(_BLOCK), b""):
                    size += len(block)
                    if size > info.file_size:  # zipfile stops at the declared size; this guards that promise
                        raise BundleError(
                            f"bundle {self.location}: entry {info.filename!r} inflates past its declared "
                            f"{info.file_size} bytes"
                        )
                    self._meter.count(len(block), path)
                    blocks.append(block)
        except BundleError:
            raise
        except _ZIP_READ_ERRORS as exc:
            raise BundleError(
                f"bundle {self.location}: entry {info.filename!r} cannot be read: {_zip_problem(exc)}"
            ) from None
        if size != info.file_size:
            raise BundleError(
                f"bundle {self.location}: entry {info.filename!r} is truncated: {size} of {info.file_size} bytes"
            )
        return b"".join(blocks)

    def exists(self, path: str) -> bool:
        name = (self._prefix + clean_path(self.location, path)).rstrip("/")
        return name in self._entries or name in self._folders


def _open_zip(path: str) -> zipfile.ZipFile:
    """The zip's central directory, refused before parsing when it lists too many entries."""
    try:
        with open(path, "rb") as handle:
            end = zipfile._EndRecData(handle)  # the end-of-central-directory record (zip64 aware)
        if end is None:
            with open(path, "rb") as handle:
                starts_like_zip = handle.read(4) == b"PK\x03\x04"
            if starts_like_zip:
                raise BundleError(f"bundle {path}: not a folder and not a zip file (it starts like one: truncated?)")
            raise BundleError(f"bundle {path}: not a folder and not a zip file")
        if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_ENTRIES:
            raise BundleError(
                f"bundle {path}: the zip lists {end[zipfile._ECD_ENTRIES_TOTAL]} entries, more than {MAX_ZIP_ENTRIES}"
            )
        return zipfile.ZipFile(path)
    except BundleError:
        raise
    except _ZIP_READ_ERRORS as exc:
        raise BundleError(f"bundle {path}: not a readable zip file: {_zip_problem(exc)}") from None


def _zip_problem(exc: BaseException) -> str:
    text = str(exc) or "no detail"
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{type(exc).__name__}: {text}"
