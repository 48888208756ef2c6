"""The file helpers every reader of a named file goes through: read bounded, or raise a typed error."""

from __future__ import annotations

import hashlib
import os

import pytest

from flink_ml_udf.regular_files import UnreadableFile, read_text_file, sha256_of_file


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


def test_read_text_file_raises_the_callers_error_naming_the_file(tmp_path):
    from flink_ml_udf.errors import ConfigError

    good, big, latin = tmp_path / "a.yaml", tmp_path / "big.yaml", tmp_path / "latin.yaml"
    good.write_bytes(b"\xef\xbb\xbfmleap: {}\n")  # a byte-order mark is dropped
    big.write_bytes(b"#" * 101)
    latin.write_bytes(b"caf\xe9")
    assert read_text_file(str(good), 100, ConfigError, "never") == "mleap: {}\n"
    for path, why in (
        (big, "is 101 bytes, more than the limit of 100 bytes"),
        (latin, "is not UTF-8 text (byte 3: 0xe9)"),
        (tmp_path / "missing.yaml", "No such file or directory"),
    ):
        with pytest.raises(ConfigError) as caught:
            read_text_file(str(path), 100, ConfigError, f"{path}: cannot read config file")
        assert str(caught.value) == f"{path}: cannot read config file: {why}"
