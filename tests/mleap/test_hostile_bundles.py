"""Hostile bundles, class by class: every one ends in a BundleError naming the bundle, file, node or
attribute at fault, bounded in time and memory; never a bare traceback, a hang or a silent result.

Classes (issue 12): damaged zips, files that are not regular files, odd JSON literals, recursion
and nesting, indices out of the declared sizes, sizes over the load and batch budgets.
"""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.reader import MAX_NESTING
from tests import bundle_writer as bw
from tests.bundle_protobuf import read_bundle_files
from tests.conftest import finishing


def linear(name="lr"):
    return bw.Node(
        name,
        "linear_regression",
        {"coefficients": bw.tensor([1.0, 2.0]), "intercept": bw.double(1.0)},
        inputs=[("features", "features")],
        outputs=[("prediction", "prediction")],
    )


def bundle_files(tmp_path, root=None):
    """``{relative path: bytes}`` of a bundle written by bundle_writer."""
    return read_bundle_files(bw.write_bundle(tmp_path / "source", root or linear()))


def write_zip(path, entries, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return str(path)


def patch_central_directory(path, change):
    """Apply ``change(data, offset, name)`` to every central directory record of the zip at ``path``."""
    data = bytearray(open(path, "rb").read())
    offset = data.find(b"PK\x01\x02")
    while offset >= 0:
        length = struct.unpack("<H", data[offset + 28 : offset + 30])[0]
        change(data, offset, bytes(data[offset + 46 : offset + 46 + length]).decode())
        offset = data.find(b"PK\x01\x02", offset + 4)
    with open(path, "wb") as handle:
        handle.write(data)


def data_offset(path, name):
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
    return info.header_offset + 30 + name_length + extra_length


def failure(path, **kwargs) -> str:
    with pytest.raises(BundleError) as info:
        load_bundle(str(path), **kwargs)
    return str(info.value)


# -- damaged zips ---------------------------------------------------------------------------------


def test_duplicate_zip_entries_are_refused(tmp_path):
    files = bundle_files(tmp_path)
    path = tmp_path / "dup.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        write_zip(path, list(files.items()) + [("root/model.json", b'{"op": "pipeline"}')])
    assert failure(path) == (
        f"bundle {path}: entry 'root/model.json' appears more than once (zip readers disagree on which copy wins)"
    )


def test_corrupt_deflate_stream(tmp_path):
    path = write_zip(tmp_path / "corrupt.zip", bundle_files(tmp_path).items())
    start = data_offset(path, "root/model.json")
    data = bytearray(open(path, "rb").read())
    data[start : start + 6] = b"\xff" * 6
    open(path, "wb").write(data)
    assert failure(path) == (
        f"bundle {path}: entry 'root/model.json' cannot be read: error: Error -3 while decompressing data: "
        "invalid block type"
    )


def test_bad_crc(tmp_path):
    path = write_zip(tmp_path / "crc.zip", bundle_files(tmp_path).items(), zipfile.ZIP_STORED)
    start = data_offset(path, "root/model.json")
    data = bytearray(open(path, "rb").read())
    data[start + 2] ^= 1
    open(path, "wb").write(data)
    assert failure(path) == (
        f"bundle {path}: entry 'root/model.json' cannot be read: BadZipFile: Bad CRC-32 for file 'root/model.json'"
    )


def test_encrypted_entry(tmp_path):
    path = write_zip(tmp_path / "enc.zip", bundle_files(tmp_path).items(), zipfile.ZIP_STORED)
    patch_central_directory(path, lambda data, at, name: data.__setitem__(at + 8, data[at + 8] | 1))
    assert failure(path) == f"bundle {path}: entry 'bundle.json' is encrypted, which bundles may not be"


@pytest.mark.parametrize("method", [99, 6, 97])  # AES (WinZip), implode, WavPack
def test_unsupported_compression(tmp_path, method):
    path = write_zip(tmp_path / "method.zip", bundle_files(tmp_path).items(), zipfile.ZIP_STORED)
    patch_central_directory(
        path, lambda data, at, name: data.__setitem__(slice(at + 10, at + 12), struct.pack("<H", method))
    )
    assert failure(path) == (
        f"bundle {path}: entry 'bundle.json' uses compression method {method} (supported: stored, deflate, bzip2, lzma)"
    )


def test_truncated_zip(tmp_path):
    path = write_zip(tmp_path / "cut.zip", bundle_files(tmp_path).items())
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    assert failure(path) == f"bundle {path}: not a folder and not a zip file (it starts like one: truncated?)"


def test_short_entry(tmp_path):
    """The central directory promises more bytes than the entry holds."""
    path = write_zip(tmp_path / "short.zip", bundle_files(tmp_path).items(), zipfile.ZIP_STORED)

    def lengthen(data, at, name):
        if name == "root/model.json":
            size = struct.unpack("<I", data[at + 24 : at + 28])[0]
            data[at + 20 : at + 28] = struct.pack("<II", size + 100, size + 100)

    patch_central_directory(path, lengthen)
    assert failure(path) == (
        f"bundle {path}: entry 'root/model.json' cannot be read: BadZipFile: Bad CRC-32 for file 'root/model.json'"
    )


def test_lying_sizes_cost_one_block_not_the_lie(tmp_path):
    """A deflate stream of 256 MiB of zeros declared as 2 bytes: read in bounded blocks, it is a CRC
    error after about one block of memory (zipfile alone would inflate all of it at once)."""
    files = bundle_files(tmp_path)
    path = tmp_path / "bomb.zip"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\0" * (256 << 20)) + compressor.flush()
    write_zip(path, list(files.items()) + [("root/model.json.pad", b"")])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("root/tree.json", b"{}")
    # Put the bomb in place of tree.json's data, declaring 2 bytes uncompressed.
    data = bytearray(open(path, "rb").read())
    start = data_offset(path, "root/tree.json")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("root/tree.json")
    old = info.compress_size
    data[start : start + old] = bomb
    shift = len(bomb) - old
    end = data.find(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", data[end + 16 : end + 20])[0] + shift
    data[end + 16 : end + 20] = struct.pack("<I", cd_offset)
    at = cd_offset
    while data[at : at + 4] == b"PK\x01\x02":
        length, extra, comment = struct.unpack("<HHH", data[at + 28 : at + 34])
        if bytes(data[at + 46 : at + 46 + length]) == b"root/tree.json":
            data[at + 20 : at + 24] = struct.pack("<I", len(bomb))
        at += 46 + length + extra + comment
    data[info.header_offset + 18 : info.header_offset + 22] = struct.pack("<I", len(bomb))
    open(path, "wb").write(data)

    from flink_ml_udf.mleap.files import ZipFiles

    files = ZipFiles(str(path))
    tracemalloc.start()
    try:
        with pytest.raises(BundleError) as info:
            files.read_bytes("root/tree.json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"bundle {path}: entry 'root/tree.json' cannot be read: BadZipFile: Bad CRC-32 for file 'root/tree.json'"
    )
    assert peak < 16 << 20, f"peak {peak} bytes while reading a 2-byte entry"


def test_zip_entries_counted_while_read(tmp_path):
    files = bundle_files(tmp_path)
    path = write_zip(tmp_path / "ok.zip", files.items())
    total = sum(len(data) for data in files.values())
    assert failure(path, max_unpacked_bytes=total - 1) == (
        f"bundle {path}: unpacks to more than {total - 1} bytes (the configured limit)"
    )
    assert load_bundle(path, max_unpacked_bytes=total).info.name == "lr"


@pytest.mark.parametrize(
    "content,message", [(b"hello", "not a folder and not a zip file"), (b"", "not a folder and not a zip file")]
)
def test_not_a_zip(tmp_path, content, message):
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    assert failure(path) == f"bundle {path}: {message}"


def test_folder_entry_read_as_file(tmp_path):
    files = bundle_files(tmp_path)
    path = write_zip(
        tmp_path / "d.zip", [(k, v) for k, v in files.items() if k != "root/model.json"] + [("root/model.json/", b"")]
    )
    assert failure(path) == f"bundle {path}: root/model.json is a folder, expected a file"


# -- files that are not regular files --------------------------------------------------------------


def load_in_thread(path):
    """Load with a deadline: a hang (open() on a fifo) fails the test instead of stalling the suite."""
    return finishing(lambda: load_bundle(str(path)))


def test_fifo_inside_a_folder_bundle_is_refused_not_waited_on(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear())
    os.remove(os.path.join(path, "root", "model.json"))
    os.mkfifo(os.path.join(path, "root", "model.json"))
    result = load_in_thread(path)
    assert isinstance(result, BundleError)
    assert str(result) == f"bundle {path}: root/model.json is a fifo, not a regular file"


def test_symlink_to_dev_zero_inside_a_folder_bundle_is_refused(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear())
    os.remove(os.path.join(path, "root", "model.json"))
    os.symlink("/dev/zero", os.path.join(path, "root", "model.json"))
    result = load_in_thread(path)
    assert str(result) == f"bundle {path}: 'root/model.json' is a symlink, which bundles may not contain"


def test_fifo_as_the_bundle_path(tmp_path):
    fifo = tmp_path / "bundle.zip"
    os.mkfifo(fifo)
    result = load_in_thread(fifo)
    assert str(result) == f"bundle {fifo}: is a fifo, not a regular file or folder"


def test_device_as_the_bundle_path():
    result = load_in_thread("/dev/zero")
    assert str(result) == "bundle /dev/zero: is a character device, not a regular file or folder"


def test_folder_bundle_reads_count_against_the_limit(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear())
    with open(os.path.join(path, "root", "model.json"), "ab") as handle:
        handle.write(b" " * 5000)
    assert failure(path, max_unpacked_bytes=2000) == (
        f"bundle {path}: reading root/model.json goes past 2000 bytes read from the bundle (max_bundle_bytes)"
    )


# -- odd literals in bundle JSON ---------------------------------------------------------------------


def with_file(tmp_path, name, content):
    files = bundle_files(tmp_path)
    files[name] = content if isinstance(content, bytes) else content.encode()
    return write_zip(tmp_path / "odd.zip", files.items())


BUNDLE_JSON = '{{"uid": "u", "name": "n", "format": {fmt}, "version": "0.25.2", "timestamp": "t"}}'
LR = '{{"op": "linear_regression", "attributes": {{"coefficients": {{"type": "tensor", "double": [1, 2]}}, "intercept": {intercept}}}}}'


@pytest.mark.parametrize(
    "fmt,shown",
    [
        ('["json"]', "['json']"),
        ('{"json": 1}', "{'json': 1}"),
        ("null", "None"),
        ("1", "1"),
        ('"JSON"', "'JSON'"),
        ('"' + "x" * 300 + '"', "'" + "x" * 37 + "..." + "x" * 38 + "'"),
    ],
)
def test_bundle_format_of_any_type(tmp_path, fmt, shown):
    path = with_file(tmp_path, "bundle.json", BUNDLE_JSON.format(fmt=fmt))
    assert failure(path) == f"bundle {path}: bundle.json format {shown} is not 'json' or 'protobuf'"


@pytest.mark.parametrize(
    "intercept,message",
    [
        ('{"double": 1' + "0" * 400 + "}", "expected a double, found 100000000000000000...0000000000000000000"),
        ('{"double": "1.5"}', "expected a number, found '1.5'"),
        ('{"double": true}', "expected a number, found True"),
        ('{"double": [1]}', "expected a number, found [1]"),
        ('{"double": {"a": 1}}', "expected a number, found {'a': 1}"),
        ('{"long": 1.5}', None),
        ('{"type": "list", "double": [1]}', "expected a scalar value, found a list value with keys ['double', 'type']"),
        ('"1.0"', "expected a scalar value, found str '1.0'"),
        ("[]", "expected a scalar value, found a list of nothing"),
        ('{"string": "x"}', "expected a number, found a string value"),
    ],
)
def test_scalar_literals(tmp_path, intercept, message):
    path = with_file(tmp_path, "root/model.json", LR.format(intercept=intercept))
    if message is None:  # a long read as a double: any numeric key is accepted (sklearn writes long)
        assert load_bundle(path).transform_columns({"features": [[0.0, 0.0]]}).get("prediction", "t")[0] == 1.5
        return
    assert failure(path) == f"bundle {path} → node lr (linear_regression) → attribute intercept: {message}"


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"op": ' + "[" * 100000 + "]" * 100000 + "}", "root/model.json is not valid JSON: nested too deeply"),
        ('{"op": "linear_regression", "op": "pipeline"}', "root/model.json: an object names key 'op' twice"),
        (b'{"op": "\xff"}', "root/model.json is not UTF-8 text (byte 8: 0xff)"),
        ('{"op": 1' + "0" * 5000 + "}", None),
        ("[]", "root/model.json must hold a JSON object"),
        ('"linear_regression"', "root/model.json must hold a JSON object"),
        ('{"op": 7}', None),
        ('{"op": "linear_regression", "attributes": []}', None),
        ("", "root/model.json is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_model_file_literals(tmp_path, text, message):
    path = with_file(tmp_path, "root/model.json", text)
    found = failure(path)
    if message is None:  # messages whose detail comes from Python: the start is ours, and names the file
        assert found.startswith(f"bundle {path}") and "root/model.json" in found
        return
    assert found == f"bundle {path}: {message}"


def test_long_out_of_range(tmp_path):
    node = bw.Node(
        "s",
        "hashing_term_frequency",
        {"num_features": {"long": 1 << 70}},
        inputs=[("input", "t")],
        outputs=[("output", "v")],
    )
    path = bw.write_bundle(tmp_path / "b", node)
    assert failure(path) == (
        f"bundle {path} → node s (hashing_term_frequency) → attribute num_features: expected a 64-bit integer, "
        "found 1180591620717411303424"
    )


@pytest.mark.parametrize(
    "shape,message",
    [
        ({"dimensions": [{"size": -1}]}, "tensor shape [-1] has a negative dimension"),
        (
            {"dimensions": [{"size": 1 << 40}, {"size": 1 << 40}]},
            "tensor has 2 values but its shape [1099511627776, 1099511627776] needs 1208925819614629174706176",
        ),
        ({"dimensions": [{"size": "2"}]}, "malformed tensor shape {'dimensions': [{'size': '2'}]}"),
        ({"dimensions": [{"size": True}]}, "malformed tensor shape {'dimensions': [{'size': True}]}"),
        ({"dimensions": [{"size": 2.5}]}, "malformed tensor shape {'dimensions': [{'size': 2.5}]}"),
        ({"dimensions": "x"}, "malformed tensor shape {'dimensions': 'x'}"),
        (
            {"dimensions": [{"size": 1 << 32}, {"size": 1 << 32}, {"size": 0}]},
            "tensor has 2 values but its shape [4294967296, 4294967296, 0] needs 0",
        ),
    ],
)
def test_tensor_shapes(tmp_path, shape, message):
    node = linear()
    node.attributes["coefficients"] = {"type": "tensor", "double": [1.0, 2.0], "shape": shape}
    path = bw.write_bundle(tmp_path / "b", node)
    assert failure(path) == f"bundle {path} → node lr (linear_regression) → attribute coefficients: {message}"


# -- recursion and nesting ---------------------------------------------------------------------------


def test_pipeline_naming_itself_is_a_cycle(tmp_path):
    inner = bw.Node("p", "pipeline", {"nodes": bw.string_list(["../p"])})
    root = bw.Node("root_pipeline", "pipeline", {"nodes": bw.string_list(["p"])}, children=[inner])
    path = bw.write_bundle(tmp_path / "b", root)
    assert failure(path) == f"bundle {path}: node folder root/p.node contains itself (root/p.node → root/p.node)"


def test_two_pipelines_naming_each_other(tmp_path):
    b = bw.Node("b", "pipeline", {"nodes": bw.string_list(["../../a"])})
    a = bw.Node("a", "pipeline", {"nodes": bw.string_list(["b"])}, children=[b])
    root = bw.Node("r", "pipeline", {"nodes": bw.string_list(["a"])}, children=[a])
    path = bw.write_bundle(tmp_path / "b", root)
    assert failure(path) == (
        f"bundle {path}: node folder root/a.node contains itself (root/a.node → root/a.node/b.node → root/a.node)"
    )


def test_node_names_resolve_as_paths_inside_the_bundle(tmp_path):
    """The root folder has no ``.node`` suffix, so no child name leads back to it."""
    root = bw.Node("r", "pipeline", {"nodes": bw.string_list(["../root/.."])})
    path = bw.write_bundle(tmp_path / "b", root)
    assert failure(path) == f"bundle {path}: node folder root/...node is missing"
    root = bw.Node("r", "pipeline", {"nodes": bw.string_list(["../../../etc/passwd"])})
    path = bw.write_bundle(tmp_path / "c", root)
    assert failure(path) == f"bundle {path}: path 'root/../../../etc/passwd.node' escapes the bundle"


def test_pipelines_nested_thousands_deep(tmp_path):
    """A zip of 3000 nested pipelines (paths of 21 KB): refused at MAX_NESTING, no RecursionError."""
    entries = [("bundle.json", json.dumps({"format": "json", "name": "deep", "version": "0.25.2"}))]
    folder = "root"
    for level in range(3000):
        entries.append(
            (f"{folder}/node.json", json.dumps({"name": f"p{level}", "shape": {"inputs": [], "outputs": []}}))
        )
        entries.append(
            (f"{folder}/model.json", json.dumps({"op": "pipeline", "attributes": {"nodes": bw.string_list(["p"])}}))
        )
        folder += "/p.node"
    path = write_zip(tmp_path / "deep.zip", entries)
    message = failure(path)
    assert message.startswith(f"bundle {path}: root/p.node/p.node/")
    assert message.endswith(f"...: nodes nest more than {MAX_NESTING} folders deep")


def test_one_vs_rest_nested_in_itself(tmp_path):
    """Sub-models nest through model0/model0/...: bounded the same way as pipelines."""
    node = bw.Node(
        "ovr",
        "one_vs_rest",
        {"num_classes": bw.long(1), "num_features": bw.long(1)},
        inputs=[("features", "f")],
        outputs=[("prediction", "y")],
    )
    sub = node
    for _ in range(100):
        child = bw.Node("m", "one_vs_rest", {"num_classes": bw.long(1), "num_features": bw.long(1)})
        sub.submodels = {"model0": child}
        sub = child
    path = bw.write_bundle(tmp_path / "b", node)
    assert failure(path).endswith(f"...: nodes nest more than {MAX_NESTING} folders deep")


def deep_tree(depth):
    """A chain of ``depth`` splits: at level i, x0 <= i goes left into a leaf of value i, else on."""
    lines = []
    for level in range(depth):
        lines.append(bw.split(0, float(level)))
        lines.append(bw.leaf(float(level)))
    lines.append(bw.leaf(float(depth)))
    return lines


def expected_deep_tree(x, depth):
    return np.array([min(max(np.ceil(v), 0.0), depth) for v in x])


@pytest.mark.parametrize("fmt", ["json", "protobuf"])
def test_tree_five_thousand_levels_deep_loads_and_scores(tmp_path, fmt):
    node = bw.Node(
        "dt",
        "decision_tree_regression",
        {"num_features": bw.long(1)},
        inputs=[("features", "f")],
        outputs=[("prediction", "y")],
        files={"tree.json": bw.tree_lines(deep_tree(5000))},
    )
    path = bw.write_bundle(tmp_path / "b", node)
    if fmt == "protobuf":
        from tests.bundle_protobuf import to_protobuf

        path = to_protobuf(path, str(tmp_path / "pb"))
    model = load_bundle(path)
    x = np.array([-3.0, 0.0, 0.5, 17.0, 4999.5, 1e9])
    scored = model.transform_columns({"f": x[:, None]}).get("y", "t")
    np.testing.assert_array_equal(scored, expected_deep_tree(x, 5000))


def test_cluster_tree_thousands_deep(tmp_path):
    from flink_ml_udf.mleap.cluster_tree import parse_cluster_tree_json

    lines = []
    for level in range(3000):  # each internal node: a leaf child, then the next internal node
        lines.append({"index": -1, "norm": 0.0, "values": [0.0], "numChildren": 2})
        lines.append({"index": level, "norm": 0.0, "values": [float(level)], "numChildren": 0})
    lines.append({"index": 3000, "norm": 0.0, "values": [0.0], "numChildren": 0})
    tree = parse_cluster_tree_json("\n".join(json.dumps(line) for line in lines), "tree.json")
    assert tree.depth == 3000 and len(tree.index) == 6001


# -- indices against declared sizes --------------------------------------------------------------------


def tree_bundle(tmp_path, lines, op="decision_tree_regression", num_features=2, extra=None):
    attributes = {"num_features": bw.long(num_features), **(extra or {})}
    outputs = [("prediction", "y")]
    node = bw.Node(
        "dt", op, attributes, inputs=[("features", "f")], outputs=outputs, files={"tree.json": bw.tree_lines(lines)}
    )
    return bw.write_bundle(tmp_path / "b", node)


def split_with(**fields):
    split = {"type": "continuous", "featureIndex": 0, "threshold": 0.5}
    split.update(fields)
    return {"type": "internal", "split": split}


@pytest.mark.parametrize(
    "record,message",
    [
        (split_with(featureIndex=-1), "line 1: featureIndex -1 is negative"),
        (split_with(featureIndex=2), "node 0 splits on feature 2, but the model has 2 features (num_features)"),
        (
            split_with(featureIndex=1 << 40),
            "node 0 splits on feature 1099511627776, but the model has 2 features (num_features)",
        ),
        (
            split_with(featureIndex=0.5),
            "line 1: malformed internal node (ValueError: expected a whole number, found 0.5)",
        ),
        (
            split_with(featureIndex="0"),
            "line 1: malformed internal node (ValueError: expected a whole number, found '0')",
        ),
        (
            split_with(featureIndex=True),
            "line 1: malformed internal node (ValueError: expected a whole number, found True)",
        ),
        (split_with(threshold="x"), "line 1: malformed internal node (ValueError: expected a number, found 'x')"),
        (split_with(threshold=[1]), "line 1: malformed internal node (ValueError: expected a number, found [1])"),
        (
            {"type": "internal", "split": [1]},
            "line 1: malformed internal node (AttributeError: 'list' object has no attribute 'get')",
        ),
        ({"type": "internal"}, "line 1: malformed internal node (KeyError: 'split')"),
        ({"type": "internal", "split": {"type": "oblique"}}, "line 1: unknown split type 'oblique'"),
        ({"type": ["leaf"]}, "line 1: node type ['leaf'] is not 'internal' or 'leaf'"),
        ([1, 2], "line 1: node type None is not 'internal' or 'leaf'"),
    ],
)
def test_split_records(tmp_path, record, message):
    path = tree_bundle(tmp_path, [record, bw.leaf(1.0), bw.leaf(2.0)])
    assert failure(path) == f"bundle {path} → node dt (decision_tree_regression) → root/tree.json: {message}"


def categorical(categories, num_categories=4, is_left=True):
    return {
        "type": "internal",
        "split": {
            "type": "categorical",
            "featureIndex": 0,
            "isLeft": is_left,
            "numCategories": num_categories,
            "categories": categories,
        },
    }


@pytest.mark.parametrize(
    "record,message",
    [
        (categorical([-1.0]), "line 1: category -1 is not a category index [0, 4) (numCategories)"),
        (categorical([4.0]), "line 1: category 4 is not a category index [0, 4) (numCategories)"),
        (categorical([1.5]), "line 1: malformed internal node (ValueError: expected a whole number, found 1.5)"),
        (categorical([None]), "line 1: malformed internal node (ValueError: expected a whole number, found None)"),
        (
            categorical([1.0], is_left="yes"),
            "line 1: malformed internal node (ValueError: isLeft must be true or false, found 'yes')",
        ),
        (categorical("12"), "line 1: malformed internal node (ValueError: expected a whole number, found '1')"),
        (categorical([1.0], num_categories=-3), "line 1: category 1 is not a category index [0, -3) (numCategories)"),
    ],
)
def test_categorical_records(tmp_path, record, message):
    path = tree_bundle(tmp_path, [record, bw.leaf(1.0), bw.leaf(2.0)])
    assert failure(path) == f"bundle {path} → node dt (decision_tree_regression) → root/tree.json: {message}"


def test_categorical_category_of_a_trillion_is_over_the_load_budget(tmp_path):
    path = tree_bundle(tmp_path, [categorical([1e12], num_categories=10**12 + 1), bw.leaf(1.0), bw.leaf(2.0)])
    assert failure(path) == (
        f"bundle {path} → node dt (decision_tree_regression): the node arrays of 1 trees would take 931 GiB at load, "
        "more than the 1 GiB left of the load budget (max_bundle_bytes = 1 GiB)"
    )


def test_negative_feature_index_never_reads_another_row(tmp_path):
    """The defect: featureIndex -1 read the last feature of the flattened batch (another row's)."""
    path = tree_bundle(tmp_path, [split_with(featureIndex=-1), bw.leaf(1.0), bw.leaf(2.0)])
    with pytest.raises(BundleError, match="featureIndex -1 is negative"):
        load_bundle(path)


@pytest.mark.parametrize(
    "leaf,message",
    [
        (bw.leaf(1.0, 2.0, 3.0), "leaf node 1 holds 3 values, but the model has 2 classes (num_classes)"),
        (bw.leaf(1.0), "leaf node 1 holds 1 values, but the model has 2 classes (num_classes)"),
        ({"type": "leaf", "values": []}, "line 2: leaf has no values"),
        (
            {"type": "leaf", "values": ["a", 1]},
            "line 2: malformed leaf node (ValueError: expected a number, found 'a')",
        ),
        ({"type": "leaf", "values": {"a": 1}}, "line 2: leaf has no values"),
    ],
)
def test_classifier_leaves(tmp_path, leaf, message):
    path = tree_bundle(
        tmp_path,
        [split_with(), leaf, bw.leaf(1.0, 1.0)],
        op="decision_tree_classifier",
        extra={"num_classes": bw.long(2)},
    )
    assert failure(path) == f"bundle {path} → node dt (decision_tree_classifier) → root/tree.json: {message}"


# -- sizes over the budgets -----------------------------------------------------------------------------


def vector_node(op, attributes, inputs=(("input", "x"),), outputs=(("output", "y"),)):
    return bw.Node("n", op, attributes, inputs=list(inputs), outputs=list(outputs))


@pytest.mark.parametrize(
    "node,message",
    [
        (
            vector_node("dct", {"input_size": bw.long(10**6), "inverse": bw.boolean(False)}),
            "n (dct) → attribute input_size: a 1000000x1000000 DCT matrix would take 22 TiB at load, more than the 1 GiB left of the load budget (max_bundle_bytes = 1 GiB)",
        ),
        (
            vector_node("polynomial_expansion", {"input_size": bw.long(1000), "degree": bw.long(10)}),
            "n (polynomial_expansion) → attribute degree: a table of 291098519807782284023425 monomials of 1000 features would take 2118020491672958 TiB at load, more than the 1 GiB left of the load budget (max_bundle_bytes = 1 GiB)",
        ),
        (
            vector_node(
                "min_hash_lsh",
                {
                    "input_size": bw.long(10**12),
                    "random_coefficients_a": bw.long_list([1, 2]),
                    "random_coefficients_b": bw.long_list([3, 4]),
                },
            ),
            "n (min_hash_lsh) → attribute input_size: a table of 2 hashes of 1000000000000 indices would take 44 TiB at load, more than the 1 GiB left of the load budget (max_bundle_bytes = 1 GiB)",
        ),
    ],
)
def test_load_budget(tmp_path, node, message):
    path = bw.write_bundle(tmp_path / "b", node)
    assert failure(path) == f"bundle {path} → node {message}"


@pytest.mark.parametrize(
    "node,column,width",
    [
        (vector_node("one_hot_encoder", {"size": bw.long(10**12), "drop_last": bw.boolean(False)}), "y", 10**12),
        (vector_node("hashing_term_frequency", {"num_features": bw.long(10**12)}), "y", 10**12),
        (vector_node("elementwise_product", {"scaling_vec": bw.tensor([1.0] * 3)}), None, None),
        (
            vector_node(
                "interaction",
                {
                    "num_inputs": bw.long(2),
                    "input_shapes": {"type": "list", "data_shape": [{"base": "tensor", "isNullable": False}] * 2},
                    "num_features0": bw.long_list([10**6] * 3),
                    "num_features1": bw.long_list([10**6] * 3),
                },
                inputs=(("input0", "a"), ("input1", "b")),
            ),
            "y",
            9 * 10**12,
        ),
    ],
)
def test_batch_budget_refuses_a_row_that_cannot_fit(tmp_path, node, column, width):
    path = bw.write_bundle(tmp_path / "b", node)
    if column is None:
        assert load_bundle(path).max_rows == (1 << 30) // (3 * 8)
        return
    from flink_ml_udf.mleap.budget import format_bytes

    assert failure(path) == (
        f"bundle {path} → node n ({node.op}): output column {column!r} holds {width} values per row "
        f"({format_bytes(8 * width)}), more than the batch memory budget of 1 GiB (max_batch_bytes)"
    )


def test_batch_over_budget_is_scored_in_slices_or_refused(tmp_path):
    node = vector_node("hashing_term_frequency", {"num_features": bw.long(1 << 12)})
    path = bw.write_bundle(tmp_path / "b", node)
    small = load_bundle(path, max_batch_bytes=100 * 8 * (1 << 12))  # 100 rows fit
    whole = load_bundle(path)
    tokens = np.empty(1000, dtype=object)
    for i in range(1000):
        tokens[i] = [f"t{i % 37}", f"u{i % 11}", f"t{i % 5}"]
    expected = whole.transform_columns({"x": tokens}).get("y", "t")
    from flink_ml_udf.mleap.frame import Frame
    from flink_ml_udf.mleap.types import DataType

    frame = Frame(1000)
    frame.add("x", tokens, DataType("string", "list"))
    np.testing.assert_array_equal(small.transform(frame, keep=["y"]).get("y", "t"), expected)
    assert "x" in frame and frame.names == ["x", "y"]
    with pytest.raises(ScoringError) as info:
        small.transform_columns({"x": tokens})
    assert str(info.value) == (
        f"bundle {path} → a batch of 1000 rows needs 31 MiB for its output columns, more than the batch memory "
        "budget of 3.1 MiB (max_batch_bytes); at most 100 rows fit"
    )


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 2.5, True, "3", None])
def test_whole_numbers_refuse_infinities_and_fractions(value):
    """Found by the fuzzer: a tree's ``featureIndex: Infinity`` escaped as OverflowError."""
    from flink_ml_udf.mleap.json_document import whole_number

    with pytest.raises(ValueError, match=r"^expected a whole number, found "):
        whole_number(value)
    assert whole_number(3.0) == 3 and whole_number(10**30) == 10**30
