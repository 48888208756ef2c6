"""The file helpers every reader of a named file goes through: read bounded, or raise a typed error."""

from __future__ import annotations

import hashlib
import os

import pytest

from flink_ml_udf.regular_files import UnreadableFile, sha256_of_file


def test_sha256_of_a_file_and_of_what_is_not_one(tmp_path):
    small, large = tmp_path / "abc", tmp_path / "large.bin"
    small.write_bytes(b"abc")
    large.write_bytes(b"abc" * (1 << 19))  # 1.5 MiB: more than one block
    assert sha256_of_file(str(small)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_of_file(str(large)) == hashlib.sha256(b"abc" * (1 << 19)).hexdigest()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile) as caught:
        sha256_of_file(str(fifo))  # refused at once, never waited on
    assert str(caught.value) == "is a fifo, not a regular file"
