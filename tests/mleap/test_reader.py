"""Bundle reading: layout rules, and every malformed input failing with a message that names it."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.ops import OPS
from tests import bundle_writer as bw


def linear(name="lr", attributes=None):
    return bw.Node(
        name,
        "linear_regression",
        attributes if attributes is not None else {"coefficients": bw.tensor([1.0, 2.0]), "intercept": bw.double(1.0)},
        inputs=[("features", "features")],
        outputs=[("prediction", "prediction")],
    )


def test_unknown_op_names_op_and_lists_supported(tmp_path):
    path = bw.write_bundle(tmp_path / "b", bw.Node("n1", "word2vec", {}))
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert str(info.value) == (
        f"bundle {path} → node n1: op 'word2vec' is unknown; supported ops: {', '.join(sorted(OPS))}"
    )


def test_unsupported_op_says_so(tmp_path):
    path = bw.write_bundle(tmp_path / "b", bw.Node("tf", "tensorflow", {}))
    with pytest.raises(BundleError, match=r"op 'tensorflow' is not supported by this runtime; supported ops: "):
        load_bundle(path)


def test_attribute_of_wrong_type_names_bundle_node_and_attribute(tmp_path):
    path = bw.write_bundle(
        tmp_path / "b", linear(attributes={"coefficients": bw.string_list(["a"]), "intercept": bw.double(1)})
    )
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert str(info.value) == (
        f"bundle {path} → node lr (linear_regression) → attribute coefficients: "
        "expected a tensor, found a list value with keys ['string', 'type']"
    )


def test_missing_required_attribute(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear(attributes={"coefficients": bw.tensor([1.0])}))
    with pytest.raises(
        BundleError, match=r"→ node lr \(linear_regression\) → attribute intercept: required attribute is missing$"
    ):
        load_bundle(path)


def test_tensor_size_not_matching_shape(tmp_path):
    bad = {"type": "tensor", "double": [1.0, 2.0, 3.0], "shape": {"dimensions": [{"size": 2, "name": ""}]}}
    path = bw.write_bundle(tmp_path / "b", linear(attributes={"coefficients": bad, "intercept": bw.double(0)}))
    with pytest.raises(BundleError, match=r"attribute coefficients: tensor has 3 values but its shape \[2\] needs 2$"):
        load_bundle(path)


def test_pipeline_node_without_folder(tmp_path):
    root = bw.pipeline("p", [linear()])
    root.attributes["nodes"] = bw.string_list(["lr", "ghost"])
    path = bw.write_bundle(tmp_path / "b", root)
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert str(info.value) == f"bundle {path}: node folder root/ghost.node is missing"


def test_invalid_json_in_model_file(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear())
    with open(os.path.join(path, "root", "model.json"), "w") as handle:
        handle.write('{"op": "linear_regression", ')
    with pytest.raises(BundleError, match=r"root/model.json is not valid JSON: Expecting property name"):
        load_bundle(path)


def test_missing_bundle_json(tmp_path):
    os.makedirs(tmp_path / "empty")
    with pytest.raises(BundleError) as info:
        load_bundle(str(tmp_path / "empty"))
    assert str(info.value) == f"bundle {tmp_path / 'empty'}: missing file bundle.json"


def test_no_such_bundle(tmp_path):
    with pytest.raises(BundleError) as info:
        load_bundle(str(tmp_path / "nope.zip"))
    assert str(info.value) == f"bundle {tmp_path / 'nope.zip'}: no such file or folder"


def test_truncated_tree_file(tmp_path):
    node = bw.Node(
        "dt",
        "decision_tree_regression",
        {"num_features": bw.long(1)},
        inputs=[("features", "f")],
        outputs=[("prediction", "y")],
        files={"tree.json": bw.tree_lines([bw.split(0, 1.0), bw.leaf(1.0)])},
    )
    path = bw.write_bundle(tmp_path / "b", node)
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert str(info.value) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.json: "
        "tree file ends after 2 nodes, in the middle of the tree"
    )


def test_protobuf_bundle_is_read(tmp_path):
    from tests.bundle_protobuf import to_protobuf

    source = bw.write_bundle(tmp_path / "json", linear())
    path = to_protobuf(source, str(tmp_path / "pb"))
    assert sorted(os.listdir(os.path.join(path, "root"))) == ["model.pb", "node.pb"]
    model = load_bundle(path)
    assert model.info.format == "protobuf"
    frame = model.transform_columns({"features": [[1.0, 10.0], [-2.0, 0.5]]})
    np.testing.assert_array_equal(frame.get("prediction", "t"), [1.0 + 1.0 + 20.0, 1.0 - 2.0 + 1.0])


def test_zip_entry_escaping_the_bundle_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("bundle.json", json.dumps({"format": "json"}))
        handle.writestr("../outside.txt", "x")
    with pytest.raises(BundleError) as info:
        load_bundle(str(archive))
    assert str(info.value) == f"bundle {archive}: path '../outside.txt' escapes the bundle"


def test_zip_over_size_limit_is_refused(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("bundle.json", "{}")
        handle.writestr("root/padding", "0" * 5000)
    with pytest.raises(BundleError, match=r"unpacks to more than 1000 bytes \(the configured limit\)$"):
        load_bundle(str(archive), max_unpacked_bytes=1000)


def test_symlink_inside_folder_bundle_is_refused(tmp_path):
    path = bw.write_bundle(tmp_path / "b", linear())
    os.rename(os.path.join(path, "root", "model.json"), tmp_path / "elsewhere.json")
    os.symlink(tmp_path / "elsewhere.json", os.path.join(path, "root", "model.json"))
    with pytest.raises(BundleError, match=r"'root/model.json' is a symlink, which bundles may not contain$"):
        load_bundle(path)


def test_zip_with_top_folder_is_read(tmp_path):
    folder = bw.write_bundle(tmp_path / "b", linear())
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for base, _, files in os.walk(folder):
            for name in files:
                full = os.path.join(base, name)
                handle.write(full, os.path.join("top", os.path.relpath(full, folder)))
    model = load_bundle(str(archive))
    assert [c.name for c in model.input_schema] == ["features"]
    assert str(model.input_schema[0].dtype) == "tensor<double>[2]"


def test_zip_entry_with_absolute_path_is_refused(tmp_path):
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("bundle.json", "{}")
        info = zipfile.ZipInfo("/etc/evil")
        handle.writestr(info, "x")
    with pytest.raises(BundleError) as raised:
        load_bundle(str(archive))
    assert str(raised.value) == f"bundle {archive}: path '/etc/evil' escapes the bundle"


def test_zip_symlink_entry_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("bundle.json", "{}")
        info = zipfile.ZipInfo("root/model.json")
        info.external_attr = 0o120777 << 16  # a symlink entry, as `zip --symlinks` writes it
        handle.writestr(info, "/etc/passwd")
    with pytest.raises(BundleError) as raised:
        load_bundle(str(archive))
    assert str(raised.value) == f"bundle {archive}: entry 'root/model.json' is a symlink, which bundles may not contain"
