"""The file loader's version hash: only the files the bundle reader reads, only regular files,
never through a symlink, and never a walk of a folder that is not a bundle."""

from __future__ import annotations

import os

import pytest

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.file import BUNDLE_FILE_NAMES, FileLoader, content_hash
from flink_ml_udf.mleap.files import FolderFiles
from flink_ml_udf.mleap.model import load_bundle_files
from tests import bundle_writer as bw
from tests.conftest import REPO, finishing


def bundle(tmp_path, name="b"):
    node = bw.Node("lr", "linear_regression", {"coefficients": bw.tensor([1.0]), "intercept": bw.double(0.0)},
                   inputs=[("features", "f")], outputs=[("prediction", "y")])  # fmt: skip
    return bw.write_bundle(tmp_path / name, node)


def test_root_of_the_disk_is_not_hashed():
    result = finishing(lambda: FileLoader().fetch("/"))
    assert str(result) == "bundle /: is not a bundle folder: it has no bundle.json"


def test_fifo_and_symlinks_in_a_folder_are_never_opened(tmp_path):
    path = bundle(tmp_path)
    before = content_hash(path)
    os.mkfifo(os.path.join(path, "root", "tree.json"))  # a name the reader may read: skipped, not opened
    os.symlink("/dev/zero", os.path.join(path, "root", "extra.node"))
    os.symlink("/dev/zero", os.path.join(path, "README"))
    assert finishing(lambda: content_hash(path)) == before


def test_symlinked_bundle_json_is_refused(tmp_path):
    path = bundle(tmp_path)
    os.rename(os.path.join(path, "bundle.json"), tmp_path / "elsewhere.json")
    os.symlink(tmp_path / "elsewhere.json", os.path.join(path, "bundle.json"))
    with pytest.raises(LoaderError) as info:
        content_hash(path)
    assert str(info.value) == f"bundle {path}: bundle.json is a symlink, which is not followed here"


def test_symlinked_root_folder_is_not_walked(tmp_path):
    path = bundle(tmp_path)
    os.rename(os.path.join(path, "root"), tmp_path / "real-root")
    os.symlink(tmp_path / "real-root", os.path.join(path, "root"))
    assert content_hash(path) == content_hash(_only_bundle_json(tmp_path, path))


def _only_bundle_json(tmp_path, path):
    other = tmp_path / "only"
    other.mkdir()
    (other / "bundle.json").write_bytes(open(os.path.join(path, "bundle.json"), "rb").read())
    return str(other)


def test_hash_covers_what_the_reader_reads_and_nothing_else(tmp_path):
    path = bundle(tmp_path)
    before = content_hash(path)
    (tmp_path / "b" / "notes.txt").write_text("not part of the model")
    (tmp_path / "b" / "root" / "model.json.bak").write_text("{}")
    assert content_hash(path) == before
    with open(os.path.join(path, "root", "model.json"), "a") as handle:
        handle.write(" ")
    assert content_hash(path) != before


@pytest.mark.parametrize("name", ["example-2"])
def test_every_file_the_reader_opens_is_hashed(name):
    """The reader's reads, recorded on a real bundle, all carry names the hash covers."""
    read = []

    class Recording(FolderFiles):
        def read_bytes(self, path):
            read.append(path)
            return super().read_bytes(path)

    load_bundle_files(Recording(os.path.join(REPO, "models", name)))
    assert read and all(
        p == "bundle.json" or (p.startswith("root/") and os.path.basename(p) in BUNDLE_FILE_NAMES) for p in read
    )


def test_special_files_as_the_bundle_path(tmp_path):
    fifo = tmp_path / "b.zip"
    os.mkfifo(fifo)
    assert (
        str(finishing(lambda: FileLoader().fetch(str(fifo))))
        == f"bundle {fifo}: is a fifo, not a regular file or folder"
    )
    assert str(finishing(lambda: FileLoader().fetch("/dev/zero"))) == (
        "bundle /dev/zero: is a character device, not a regular file or folder"
    )
