"""Opening files that a user or a bundle names, without hanging and without reading without end.

``open()`` on a fifo waits for a writer forever, ``/dev/zero`` never ends, and a symlink inside a
bundle can point anywhere. Everything this package reads from a path it was given (config files,
SQL files, LeapFrames, bundle files, bundles being hashed for their version) goes through
:func:`read_regular_file` or :func:`hash_regular_file`: the file is opened non-blocking, checked to
be a regular file *after* opening (so the check and the read see the same file), and read up to a
limit. Callers turn :class:`UnreadableFile` into their own error type, naming the file
(:func:`read_text_file` does that for a text file).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import Callable, Iterator, Optional, Tuple, Type

_CHUNK = 1 << 20


class UnreadableFile(Exception):
    """A path that cannot be read as a regular file; the message says why, without the path."""


class FileTooLarge(UnreadableFile):
    """A regular file holding more bytes than the reader's limit."""


class Missing(UnreadableFile):
    """Nothing exists at the path."""


def is_folder(path: str) -> bool:
    """True for a folder, False for a regular file (symlinks followed: the user named the path);
    :class:`Missing`, or :class:`UnreadableFile` for a fifo, a device or a socket."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise Missing("no such file or folder") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise UnreadableFile(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise UnreadableFile(f"is {kind_of(mode)}, not a regular file or folder")
    return stat.S_ISDIR(mode)


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a fifo", "a character device", ...)."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular_file(path: str, follow_symlinks: bool = True) -> Tuple[int, int]:
    """``(file descriptor, size)`` of ``path`` opened for reading, which must be a regular file.

    Opened with ``O_NONBLOCK`` so that a fifo or a device answers at once instead of blocking, then
    checked with ``fstat`` on the open descriptor. Without ``follow_symlinks`` a symlink as the last
    path component is refused (``O_NOFOLLOW``).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:
        raise UnreadableFile("has a NUL byte in its path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise UnreadableFile("is a symlink, which is not followed here") from None
        if exc.errno == errno.EISDIR:
            raise UnreadableFile("is a folder, not a file") from None
        raise UnreadableFile(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"is {kind_of(info.st_mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return fd, info.st_size
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str, limit: int, follow_symlinks: bool = True) -> bytes:
    """All bytes of the regular file ``path``; refused when it holds more than ``limit`` bytes
    (checked against its size first, then while reading, since a file can grow meanwhile)."""
    fd, size = open_regular_file(path, follow_symlinks)
    with os.fdopen(fd, "rb") as handle:
        if size > limit:
            raise FileTooLarge(f"is {size} bytes, more than the limit of {limit} bytes")
        # Ask for what fstat says is there (a read of n bytes reserves n bytes, so never ask for the
        # limit itself), then in blocks for anything the file grew by meanwhile.
        blocks = [handle.read(size + 1)]
        total = len(blocks[0])
        while total > size and total <= limit:
            block = handle.read(min(_CHUNK, limit + 1 - total))
            if not block:
                break
            blocks.append(block)
            total += len(block)
    if total > limit:
        raise FileTooLarge(f"holds more than the limit of {limit} bytes")
    return b"".join(blocks)


def hash_regular_file(
    path: str, update: Callable[[bytes], None], limit: Optional[int] = None, follow_symlinks: bool = True
) -> int:
    """Feed the bytes of regular file ``path`` to ``update`` in blocks; returns how many were fed."""
    fd, size = open_regular_file(path, follow_symlinks)
    total = 0
    with os.fdopen(fd, "rb") as handle:
        if limit is not None and size > limit:
            raise FileTooLarge(f"is {size} bytes, more than the limit of {limit} bytes")
        for block in iter(lambda: handle.read(_CHUNK), b""):
            total += len(block)
            if limit is not None and total > limit:
                raise FileTooLarge(f"holds more than the limit of {limit} bytes")
            update(block)
    return total


def read_text_file(path: str, limit: int, error: Type[Exception], context: str) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes), or ``error`` raised with
    ``"<context>: <why>"``: how a config, SQL or LeapFrame file named by the user is read."""
    try:
        return decode_text(read_regular_file(path, limit))
    except UnreadableFile as exc:
        raise error(f"{context}: {exc}") from None


def sha256_of_file(path: str, follow_symlinks: bool = True) -> str:
    """The hex SHA-256 of the regular file ``path``, read in blocks (a fifo or a device is refused,
    not waited on): what verifies downloads, cache entries and fetched tools, and versions a zip."""
    digest = hashlib.sha256()
    hash_regular_file(path, digest.update, follow_symlinks=follow_symlinks)
    return digest.hexdigest()


def decode_text(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped); the error names the first bad byte's offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"is not UTF-8 text (byte {exc.start}: 0x{data[exc.start]:02x})") from None


def walk_tree(root: str, max_entries: int) -> Iterator[Tuple[str, os.DirEntry]]:
    """``(path relative to root, entry)`` for everything under the folder ``root``, folders in sorted
    order, depth first, never descending through a symlink; refused past ``max_entries`` entries."""
    stack = [""]
    seen = 0
    while stack:
        relative = stack.pop()
        try:
            with os.scandir(os.path.join(root, relative) if relative else root) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            raise UnreadableFile(f"folder {relative or '.'}: {exc.strerror or exc}") from None
        folders = []
        for entry in entries:
            seen += 1
            if seen > max_entries:
                raise UnreadableFile(f"holds more than {max_entries} files and folders")
            path = f"{relative}/{entry.name}" if relative else entry.name
            yield path, entry
            if entry.is_dir(follow_symlinks=False):
                folders.append(path)
        stack.extend(reversed(folders))
