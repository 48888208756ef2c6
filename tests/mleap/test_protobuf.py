"""Protobuf bundles (``format: protobuf``) and bundles mixing JSON and protobuf files.

Every bundle the runtime tests build in JSON is converted to protobuf (tests/bundle_protobuf.py)
and must score bit-identically. The wire format itself is checked against bytes encoded by hand
below (field numbers from combust/bundle-protobuf, written without the protobuf library), so the
descriptors are not only checked against themselves.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct

import numpy as np
import pytest

from flink_ml_udf.errors import BundleError
from flink_ml_udf.export.sklearn import export_bundle
from flink_ml_udf.mleap import Frame, load_bundle
from flink_ml_udf.mleap import protobuf_format as pf
from flink_ml_udf.mleap import protobuf_writer as pw
from flink_ml_udf.mleap.trees import parse_tree_pb
from tests import bundle_writer as bw
from tests.bundle_protobuf import to_protobuf
from tests.conftest import REPO, float32_exact
from tests.mleap.test_ops import assembled_model, encoder_model, indexer_model, multinomial_node, random_forest_node
from tests.mleap.test_sklearn_parity import CASES, fitted

# -- protobuf wire format by hand (independent of the protobuf library) -------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def ld(field: int, payload: bytes) -> bytes:  # length-delimited: strings, bytes, messages, packed
    return key(field, 2) + varint(len(payload)) + payload


def text(field: int, value: str) -> bytes:
    return ld(field, value.encode())


def uint(field: int, value: int) -> bytes:
    return key(field, 0) + varint(value)


def double(field: int, value: float) -> bytes:  # fixed64 fields are little-endian on the wire
    return key(field, 1) + struct.pack("<d", value)


def packed_doubles(field: int, values) -> bytes:
    return ld(field, b"".join(struct.pack("<d", v) for v in values))


def frame(message: bytes) -> bytes:  # tree files: int32 big-endian length, then the message
    return struct.pack(">i", len(message)) + message


def attribute(name: str, value: bytes) -> bytes:  # Attributes.list map entry {1 key, 2 Value}
    return ld(1, text(1, name) + ld(2, value))


def double_tensor(values, dims) -> bytes:  # Value{3 Tensor{1 base DOUBLE=7, 2 shape, 3 BE bytes}}
    shape = b"".join(ld(1, uint(1, d)) for d in dims)
    return ld(3, uint(1, 7) + ld(2, shape) + ld(3, struct.pack(f">{len(values)}d", *values)))


def scalar_double(value: float) -> bytes:  # Value{1 Scalar{6 d}}
    return ld(1, double(6, value))


def scalar_long(value: int) -> bytes:  # Value{1 Scalar{4 l}}
    return ld(1, uint(4, value))


def model_pb(op: str, *attributes: bytes) -> bytes:
    return text(1, op) + ld(2, b"".join(attributes))


def node_pb(name: str, inputs, outputs) -> bytes:
    sockets = b"".join(ld(1, text(1, p) + text(2, c)) for p, c in inputs)
    sockets += b"".join(ld(2, text(1, p) + text(2, c)) for p, c in outputs)
    return text(1, name) + ld(2, sockets)


def nonzero(field: int, value: int) -> bytes:  # proto3 writers leave default (zero) scalars out
    return uint(field, value) if value else b""


def continuous(feature: int, threshold: float) -> bytes:  # dtree.Node{1 internal{1 split{2 continuous}}}
    return ld(1, ld(1, ld(2, nonzero(1, feature) + double(2, threshold))))


def categorical(feature: int, categories, is_left: bool, n: int) -> bytes:
    body = nonzero(1, feature) + nonzero(2, int(is_left)) + nonzero(3, n) + packed_doubles(4, categories)
    return ld(1, ld(1, ld(1, body)))


def leaf(*values: float) -> bytes:  # dtree.Node{2 leaf{1 values (packed)}}
    return ld(2, packed_doubles(1, values))


def write_files(folder, files) -> str:
    folder = str(folder)
    for path, data in files.items():
        full = os.path.join(folder, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode())
    return folder


def bundle_json(fmt: str = "protobuf") -> str:
    return json.dumps({"uid": "u", "name": "n", "format": fmt, "version": "0.25.2", "timestamp": "t"})


def hand_tree_bundle(folder, tree: bytes) -> str:
    """A decision_tree_regression root node, every file encoded by hand."""
    return write_files(
        folder,
        {
            "bundle.json": bundle_json(),
            "root/node.pb": node_pb("dt", [("features", "features")], [("prediction", "y")]),
            "root/model.pb": model_pb("decision_tree_regression", attribute("num_features", scalar_long(2))),
            "root/tree.pb": tree,
        },
    )


# x0 <= 0.5 → 1.0; else x1 in {1, 3} (isLeft) → 2.0, else 3.0
HAND_TREE = [continuous(0, 0.5), leaf(1.0), categorical(1, [1.0, 3.0], True, 4), leaf(2.0), leaf(3.0)]


def test_hand_encoded_linear_regression_bundle(tmp_path):
    path = write_files(
        tmp_path / "b",
        {
            "bundle.json": bundle_json(),
            "root/node.pb": node_pb("lr", [("features", "features")], [("prediction", "y")]),
            "root/model.pb": model_pb(
                "linear_regression",
                attribute("coefficients", double_tensor([2.0, -0.5], [2])),
                attribute("intercept", scalar_double(0.25)),
            ),
        },
    )
    model = load_bundle(path)
    frame = model.transform_columns({"features": [[1.0, 4.0], [0.0, -2.0]]})
    np.testing.assert_array_equal(frame.get("y", "t"), [2.0 - 2.0 + 0.25, 1.0 + 0.25])


def test_hand_encoded_tree_with_categorical_split(tmp_path):
    model = load_bundle(hand_tree_bundle(tmp_path / "b", b"".join(frame(n) for n in HAND_TREE)))
    x = [[0.5, 9.0], [0.6, 1.0], [0.6, 3.0], [0.6, 2.0], [np.nan, 1.0], [1.0, np.nan]]
    frame_ = model.transform_columns({"features": x})
    np.testing.assert_array_equal(frame_.get("y", "t"), [1.0, 2.0, 2.0, 3.0, 2.0, 3.0])


def test_model_pb_decodes_to_the_json_dict():
    """Absent proto3 scalars are left out, as the Scala JSON writer leaves them out."""
    unpacked = b"".join(double(6, v) for v in (1.5, -2.0))  # List.d written unpacked is accepted too
    data = model_pb(
        "some_op",
        attribute("coefficients", double_tensor([1.0, 2.0, 3.0, 4.0], [2, 2])),
        attribute("intercept", scalar_double(0.0)),  # explicitly written zero: still "{}"
        attribute("empty", ld(1, b"")),
        attribute("labels", ld(2, text(2, "a") + text(2, "b"))),
        attribute("weights", ld(2, packed_doubles(6, [1.5, -2.0]))),
        attribute("weights_unpacked", ld(2, unpacked)),
        attribute("no_list", ld(2, b"")),
        attribute("flag", ld(1, uint(1, 1))),
        attribute("name", ld(1, text(2, "x"))),
        attribute("types", ld(2, ld(9, varint(7) + varint(100)))),
        attribute("shapes", ld(2, ld(10, uint(1, 2) + uint(2, 1) + ld(3, ld(1, uint(1, 3)))))),
        attribute("dup", scalar_long(1)),
        attribute("dup", scalar_long(2)),  # a later duplicate key wins
    )
    assert pf.decode_model(data, "w") == {
        "op": "some_op",
        "attributes": {
            "coefficients": {
                "type": "tensor",
                "double": [1.0, 2.0, 3.0, 4.0],
                "shape": {"dimensions": [{"size": 2, "name": ""}, {"size": 2, "name": ""}]},
            },
            "intercept": {},
            "empty": {},
            "labels": {"type": "list", "string": ["a", "b"]},
            "weights": {"type": "list", "double": [1.5, -2.0]},
            "weights_unpacked": {"type": "list", "double": [1.5, -2.0]},
            "no_list": {"type": "list"},
            "flag": {"boolean": True},
            "name": {"string": "x"},
            "types": {"type": "list", "basic_type": ["double", "string"]},
            "shapes": {
                "type": "list",
                "data_shape": [
                    {"base": "tensor", "isNullable": True, "tensorShape": {"dimensions": [{"size": 3, "name": ""}]}}
                ],
            },
            "dup": {"long": 2},
        },
    }


def test_node_pb_decodes_to_the_json_dict():
    data = node_pb("n", [("input0", "a"), ("input1", "b")], [("output", "c")])
    assert pf.decode_node(data, "w") == {
        "name": "n",
        "shape": {
            "inputs": [{"port": "input0", "name": "a"}, {"port": "input1", "name": "b"}],
            "outputs": [{"port": "output", "name": "c"}],
        },
    }


def test_tensor_values_of_every_base_type():
    assert pf.decode_tensor_values("float", struct.pack(">2f", 0.5, -1.25), "w") == [0.5, -1.25]
    assert pf.decode_tensor_values("long", struct.pack(">2q", -(2**40), 7), "w") == [-(2**40), 7]
    assert pf.decode_tensor_values("int", struct.pack(">2i", -3, 2**31 - 1), "w") == [-3, 2**31 - 1]
    assert pf.decode_tensor_values("short", struct.pack(">2h", -2, 300), "w") == [-2, 300]
    assert pf.decode_tensor_values("byte", bytes([0xFF, 5]), "w") == [-1, 5]
    assert pf.decode_tensor_values("boolean", bytes([1, 0, 2]), "w") == [True, False, False]
    strings = struct.pack(">i", 3) + b"abc" + struct.pack(">i", 0) + struct.pack(">i", 2) + b"\xc3\xa9"
    assert pf.decode_tensor_values("string", strings, "w") == ["abc", "", "é"]
    nan = pf.decode_tensor_values("double", struct.pack(">2d", math.nan, math.inf), "w")
    assert math.isnan(nan[0]) and nan[1] == math.inf


def test_string_tensor_cut_off_is_refused():
    data = struct.pack(">i", 3) + b"abc" + struct.pack(">i", 5) + b"ab"
    with pytest.raises(BundleError) as info:
        pf.decode_tensor_values("string", data, "where")
    assert str(info.value) == "where: string tensor is truncated: element 1 needs 5 bytes, 2 remain"


def test_cluster_tree_pb_reads_negative_indices_and_stops_at_the_tree_end():
    # Internal node index -1 travels as the uint32 varint ff ff ff ff 0f; index 0 is simply absent.
    root = varint(0x08) + bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) + double(2, 1.5) + packed_doubles(3, [1.0, 2.0])
    root += uint(4, 2)
    first = double(2, 0.5) + packed_doubles(3, [0.0, 0.5])
    second = uint(1, 1) + double(2, 2.5) + packed_doubles(3, [2.0, 1.5])
    data = frame(root) + frame(first) + frame(second) + b"\x00\x00"  # trailing bytes are never read
    assert root.startswith(bytes([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
    assert pf.parse_cluster_tree_pb(data, "w") == [
        {"index": -1, "norm": 1.5, "values": [1.0, 2.0], "numChildren": 2},
        {"index": 0, "norm": 0.5, "values": [0.0, 0.5], "numChildren": 0},
        {"index": 1, "norm": 2.5, "values": [2.0, 1.5], "numChildren": 0},
    ]
    with pytest.raises(BundleError) as info:
        pf.parse_cluster_tree_pb(frame(root) + frame(first), "w")
    assert str(info.value) == "w: tree file ends after 2 nodes, in the middle of the tree"


def test_tree_pb_trailing_bytes_are_ignored():
    nodes = parse_tree_pb(frame(leaf(4.0)) + b"\x00\x00\x00\x09garbage", "w")
    assert [(n.kind, list(n.values)) for n in nodes] == [("leaf", [4.0])]


def test_encoder_writes_what_the_decoder_reads():
    """The test converter's encoder and the hand encoding agree byte for byte on a tree."""
    records = [
        bw.split(0, 0.5),
        {"type": "leaf", "values": [1.0]},
        bw.categorical_split(1, [1.0, 3.0], True, 4),
        {"type": "leaf", "values": [2.0]},
        {"type": "leaf", "values": [3.0]},
    ]
    assert pw.encode_decision_tree(records) == b"".join(frame(n) for n in HAND_TREE)


# -- every runtime-test bundle scores the same in JSON and protobuf form --------------------------


def assert_same_frames(json_frame: Frame, pb_frame: Frame) -> None:
    assert json_frame.names == pb_frame.names
    for name, values, dtype in json_frame.items():
        assert pb_frame.type_of(name) == dtype
        np.testing.assert_array_equal(pb_frame.get(name, "t"), values)
        json_nulls, pb_nulls = json_frame.nulls(name), pb_frame.nulls(name)
        assert (json_nulls is None) == (pb_nulls is None)
        if json_nulls is not None:
            np.testing.assert_array_equal(pb_nulls, json_nulls)


def only_protobuf_files(path: str) -> bool:
    names = [name for _, _, files in os.walk(path) for name in files]
    return "bundle.json" in names and not [n for n in names if n.endswith(".json") and n != "bundle.json"]


@pytest.mark.parametrize("form", ["zip", "folder"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_sklearn_bundle_scores_identically_in_protobuf(case, form, tmp_path):
    pipeline, features = fitted(case)
    json_path = export_bundle(pipeline, str(tmp_path / ("json.zip" if form == "zip" else "json")), form=form)
    pb_path = to_protobuf(json_path, str(tmp_path / ("pb.zip" if form == "zip" else "pb")), form=form)
    json_model, pb_model = load_bundle(json_path), load_bundle(pb_path)
    assert pb_model.info.format == "protobuf"
    assert [(op.name, op.op) for op in pb_model.ops] == [(op.name, op.op) for op in json_model.ops]

    columns = {c: features[c].to_numpy() for c in features.columns}
    pb_frame = pb_model.transform_columns(columns)
    assert_same_frames(json_model.transform_columns(columns), pb_frame)
    expected = np.ravel(pipeline.predict(features)).astype(np.float64)
    np.testing.assert_allclose(pb_frame.get("prediction", "t"), expected, rtol=0, atol=1e-9)


def test_sklearn_protobuf_folder_holds_only_pb_files(tmp_path):
    pipeline, _ = fitted("random_forest_classifier")
    json_path = export_bundle(pipeline, str(tmp_path / "json"), form="folder")
    pb_path = to_protobuf(json_path, str(tmp_path / "pb"))
    assert only_protobuf_files(pb_path)
    with open(os.path.join(pb_path, "bundle.json")) as handle:
        assert json.load(handle)["format"] == "protobuf"


@pytest.mark.parametrize("name,columns", [("example-1.zip", None), ("example-2", ["feature1"])])
def test_example_bundles_score_identically_in_protobuf(name, columns, tmp_path):
    from scripts.build_example_bundles import FEATURES, training_data

    json_path = os.path.join(REPO, "models", name)
    pb_path = to_protobuf(json_path, str(tmp_path / name), form="zip" if name.endswith(".zip") else "folder")
    data = float32_exact(training_data().head(300))
    inputs = {c: data[c].to_numpy() for c in (columns or FEATURES)}
    assert_same_frames(load_bundle(json_path).transform_columns(inputs), load_bundle(pb_path).transform_columns(inputs))


@pytest.mark.parametrize("name", ["airbnb.model.rf.zip", "airbnb.model.lr.zip"])
def test_real_spark_bundles_score_identically_in_protobuf(name, tmp_path):
    """MLeap's own Spark-written bundles (tests/data/spark): string indexers, one-hot, Spark trees."""
    from flink_ml_udf.mleap.leapframe import frame_from_json

    data = os.path.join(REPO, "tests", "data", "spark")
    json_path = os.path.join(data, name)
    pb_path = to_protobuf(json_path, str(tmp_path / name), form="zip")
    with open(os.path.join(data, "frame.airbnb.json")) as handle:
        leapframe = json.load(handle)
    assert_same_frames(
        load_bundle(json_path).transform(frame_from_json(leapframe)),
        load_bundle(pb_path).transform(frame_from_json(leapframe)),
    )


def both_forms(tmp_path, build, inputs, form="folder"):
    """Build a JSON bundle with a test_ops builder (it lands in <dir>/b), convert it, score both."""
    json_model = build(tmp_path / "json")
    json_path = str(tmp_path / "json" / "b")
    pb_path = to_protobuf(json_path, str(tmp_path / ("pb.zip" if form == "zip" else "pb")), form=form)
    pb_model = load_bundle(pb_path)
    assert only_protobuf_files(pb_path) if form == "folder" else pb_path.endswith(".zip")
    json_frame, pb_frame = json_model.transform_columns(inputs), pb_model.transform_columns(inputs)
    assert_same_frames(json_frame, pb_frame)
    return pb_frame


def categorical_tree_node():
    tree = bw.tree_lines(
        [
            bw.categorical_split(1, [1.0, 3.0], True, 4),
            bw.leaf(8.0, 2.0),
            bw.split(0, 0.5),
            bw.leaf(1.0, 3.0),
            bw.leaf(0.0, 0.0),
        ]
    )
    return bw.Node(
        "dt",
        "decision_tree_classifier",
        {"num_features": bw.long(2), "num_classes": bw.long(2)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y"), ("probability", "p"), ("raw_prediction", "r")],
        files={"tree.json": tree},
    )


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_categorical_tree_classifier(tmp_path, form):
    pb = both_forms(
        tmp_path,
        lambda d: assembled_model(d, categorical_tree_node(), 2),
        {"x0": np.array([0.0, 0.0, 1.0, np.nan, 0.2]), "x1": np.array([3.0, 2.0, 0.0, 5.0, np.nan])},
        form,
    )
    np.testing.assert_array_equal(pb.get("r", "t"), [[8, 2], [1, 3], [0, 0], [0, 0], [1, 3]])
    np.testing.assert_array_equal(pb.get("y", "t"), [0.0, 1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_multinomial_logistic_regression(tmp_path, form):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    clf = LogisticRegression(max_iter=5000).fit(data.data, data.target)
    node = multinomial_node(
        clf.coef_, clf.intercept_, [("prediction", "y"), ("probability", "p"), ("raw_prediction", "r")]
    )
    pb = both_forms(tmp_path, lambda d: assembled_model(d, node, 4), {f"x{i}": data.data[:, i] for i in range(4)}, form)
    np.testing.assert_allclose(pb.get("p", "t"), clf.predict_proba(data.data), rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_one_hot_encoder(tmp_path, form):
    attributes = {
        "category_sizes": {"type": "list", "int": [4]},
        "handle_invalid": bw.string("error"),
        "drop_last": bw.boolean(True),
    }
    pb = both_forms(tmp_path, lambda d: encoder_model(d, attributes), {"c": np.array([0.0, 2.0, 3.0])}, form)
    np.testing.assert_array_equal(pb.get("c_vec", "t"), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])


@pytest.mark.parametrize("form", ["zip", "folder"])
@pytest.mark.parametrize("legacy", [False, True])
def test_string_indexer(tmp_path, form, legacy):
    labels = ["rome", "berlin", "oslo"]
    pb = both_forms(
        tmp_path,
        lambda d: indexer_model(d, labels, handle_invalid="keep", legacy=legacy),
        {"city": np.array(["oslo", "rome", "paris", None], dtype=object)},
        form,
    )
    np.testing.assert_array_equal(pb.get("city_index", "t"), [2.0, 0.0, 3.0, 3.0])


def test_random_forest_sub_models(tmp_path):
    pb = both_forms(tmp_path, lambda d: assembled_model(d, random_forest_node(), 1), {"x0": np.array([-1.0, 1.0])})
    np.testing.assert_array_equal(pb.get("y", "t"), [(1.0 + 10.0) / 2, (3.0 + 10.0) / 2])


def clustering_node(op, attributes, files=None):
    return bw.Node(
        "c", op, attributes, inputs=[("features", "features")], outputs=[("prediction", "k")], files=files or {}
    )


def test_bisecting_k_means_cluster_tree(tmp_path):
    # Internal nodes -1, -2 (negative indices survive the uint32 field); leaves 0, 1 under -2, leaf 2 under the root.
    tree = [(-1, [0.0, 0.0], 2), (-2, [-2.0, 0.0], 2), (0, [-3.0, 1.0], 0), (1, [-3.0, -1.0], 0), (2, [2.0, 0.0], 0)]
    lines = "".join(
        json.dumps({"index": i, "norm": float(np.linalg.norm(c)), "values": c, "numChildren": n}) + "\n"
        for i, c, n in tree
    )
    node = clustering_node("bisecting_k_means", {}, {"tree.json": lines})
    x = np.array([[-3.0, 0.5], [-2.5, -2.0], [1.0, 0.0], [-0.1, 5.0]])
    pb = both_forms(tmp_path, lambda d: load_bundle(bw.write_bundle(d / "b", node)), {"features": x})
    np.testing.assert_array_equal(pb.get("k", "t"), [0, 1, 2, 0])


def test_k_means_list_of_tensors(tmp_path):
    centers = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    attributes = {
        "cluster_centers": {"type": "list", "tensor": [bw.tensor(c) for c in centers]},
        "num_features": bw.long(2),
    }
    node = clustering_node("k_means", attributes)
    x = np.array([[1.0, 1.0], [9.0, 2.0], [-1.0, 8.0]])
    pb = both_forms(tmp_path, lambda d: load_bundle(bw.write_bundle(d / "b", node)), {"features": x})
    np.testing.assert_array_equal(pb.get("k", "t"), [0, 1, 2])


# -- mixed bundles --------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["tree", "model", "node"])
def test_protobuf_bundle_with_some_json_files(tmp_path, keep):
    json_model = assembled_model(tmp_path / "json", random_forest_node(), 1)
    pb_path = to_protobuf(str(tmp_path / "json" / "b"), str(tmp_path / "pb"), keep_json=lambda p: keep in p)
    kept = [n for _, _, files in os.walk(pb_path) for n in files if n == f"{keep}.json"]
    assert kept and f"{keep}.pb" not in [n for _, _, files in os.walk(pb_path) for n in files]
    x = {"x0": np.array([-1.0, 1.0])}
    assert_same_frames(json_model.transform_columns(x), load_bundle(pb_path).transform_columns(x))


def test_json_bundle_with_protobuf_files(tmp_path):
    json_model = assembled_model(tmp_path / "json", random_forest_node(), 1)
    path = to_protobuf(str(tmp_path / "json" / "b"), str(tmp_path / "pb"))
    with open(os.path.join(path, "bundle.json"), "w") as handle:
        handle.write(bundle_json("json"))
    model = load_bundle(path)
    assert model.info.format == "json"
    x = {"x0": np.array([-1.0, 1.0])}
    assert_same_frames(json_model.transform_columns(x), model.transform_columns(x))


def test_the_bundle_format_wins_when_both_files_exist(tmp_path):
    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor([1.0]), "intercept": bw.double(100.0)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
    )
    path = to_protobuf(bw.write_bundle(tmp_path / "json", node), str(tmp_path / "pb"))
    shutil.copy(os.path.join(tmp_path, "json", "root", "node.json"), os.path.join(path, "root", "node.json"))
    with open(os.path.join(path, "root", "model.json"), "w") as handle:  # a stale JSON twin: ignored
        json.dump(
            {"op": "linear_regression", "attributes": {"coefficients": bw.tensor([1.0]), "intercept": {}}}, handle
        )
    frame_ = load_bundle(path).transform_columns({"features": [[1.0]]})
    np.testing.assert_array_equal(frame_.get("y", "t"), [101.0])


# -- malformed protobuf files -------------------------------------------------------------------


def linear_pb_bundle(tmp_path, model: bytes) -> str:
    return write_files(
        tmp_path / "b",
        {
            "bundle.json": bundle_json(),
            "root/node.pb": node_pb("lr", [("features", "features")], [("prediction", "y")]),
            "root/model.pb": model,
        },
    )


def load_error(path: str) -> str:
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    return str(info.value)


def test_corrupt_model_pb(tmp_path):
    path = linear_pb_bundle(tmp_path, b'{"op": "linear_regression"}')  # a JSON file under the .pb name
    assert load_error(path) == f"bundle {path} → node lr: root/model.pb: not a valid protobuf ml.bundle.Model message"


def test_corrupt_node_pb(tmp_path):
    path = linear_pb_bundle(tmp_path, model_pb("linear_regression"))
    with open(os.path.join(path, "root", "node.pb"), "wb") as handle:
        handle.write(ld(1, b"lr")[:-1])  # cut inside the name
    assert load_error(path) == f"bundle {path}: root/node.pb: not a valid protobuf ml.bundle.Node message"


def test_corrupt_model_pb_in_a_pipeline_child_names_the_node(tmp_path):
    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor([1.0]), "intercept": bw.double(1.0)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
    )
    json_path = bw.write_bundle(tmp_path / "json", bw.pipeline("p", [node]))
    path = to_protobuf(json_path, str(tmp_path / "pb"))
    with open(os.path.join(path, "root", "lr.node", "model.pb"), "wb") as handle:
        handle.write(b"\x0a\x05abc")  # op string says 5 bytes, 3 follow
    assert load_error(path) == (
        f"bundle {path} → node lr: root/lr.node/model.pb: not a valid protobuf ml.bundle.Model message"
    )


def test_tensor_bytes_not_a_multiple_of_the_element_size(tmp_path):
    bad = ld(3, uint(1, 7) + ld(2, ld(1, uint(1, 2))) + ld(3, b"\x00" * 12))  # 12 bytes of doubles
    path = linear_pb_bundle(
        tmp_path,
        model_pb("linear_regression", attribute("coefficients", bad), attribute("intercept", scalar_double(1.0))),
    )
    assert load_error(path) == (
        f"bundle {path} → node lr: root/model.pb → attribute coefficients: "
        "double tensor has 12 value bytes, not a multiple of 8 (the size of one double)"
    )


def test_tensor_without_base_type(tmp_path):
    bad = ld(3, ld(2, ld(1, uint(1, 1))) + ld(3, b"\x00" * 8))
    path = linear_pb_bundle(tmp_path, model_pb("linear_regression", attribute("coefficients", bad)))
    assert load_error(path) == (
        f"bundle {path} → node lr: root/model.pb → attribute coefficients: tensor has no valid base type (found 0)"
    )


def test_truncated_tree_pb_inside_a_node(tmp_path):
    data = b"".join(frame(n) for n in HAND_TREE)
    last = len(data) - len(frame(HAND_TREE[-1]))
    path = hand_tree_bundle(tmp_path / "b", data[:-3])
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: node 4 at byte {last} is truncated: "
        f"its length prefix says {len(HAND_TREE[-1])} bytes, {len(HAND_TREE[-1]) - 3} remain"
    )


def test_truncated_tree_pb_inside_a_length_prefix(tmp_path):
    data = b"".join(frame(n) for n in HAND_TREE[:4])
    path = hand_tree_bundle(tmp_path / "b", data + b"\x00\x00")
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: node 4 at byte {len(data)} is truncated: "
        "its 4-byte length prefix has only 2 bytes"
    )


def test_tree_pb_ending_between_nodes(tmp_path):
    path = hand_tree_bundle(tmp_path / "b", b"".join(frame(n) for n in HAND_TREE[:3]))
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: "
        "tree file ends after 3 nodes, in the middle of the tree"
    )


def test_tree_node_with_neither_internal_nor_leaf(tmp_path):
    offset = len(frame(HAND_TREE[0]))
    path = hand_tree_bundle(tmp_path / "b", frame(HAND_TREE[0]) + frame(b"") + frame(leaf(1.0)))
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: node 1 at byte {offset}: "
        "node is neither internal nor leaf (invalid tree)"
    )


def test_tree_internal_node_without_split(tmp_path):
    path = hand_tree_bundle(tmp_path / "b", frame(ld(1, b"")) + frame(leaf(1.0)) + frame(leaf(2.0)))
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: node 0 at byte 0: "
        "internal node has neither a continuous nor a categorical split"
    )


def test_tree_node_that_is_not_protobuf(tmp_path):
    path = hand_tree_bundle(tmp_path / "b", frame(HAND_TREE[0]) + frame(b"\x0a\x09abc"))
    assert load_error(path) == (
        f"bundle {path} → node dt (decision_tree_regression) → root/tree.pb: node 1 at byte {len(frame(HAND_TREE[0]))}: "
        "not a valid protobuf ml.bundle.dtree.Node message"
    )


def test_forest_sub_model_tree_error_names_the_sub_model(tmp_path):
    assembled_model(tmp_path / "json", random_forest_node(), 1)
    path = to_protobuf(str(tmp_path / "json" / "b"), str(tmp_path / "pb"))
    with open(os.path.join(path, "root", "rf.node", "tree_a", "tree.pb"), "wb") as handle:
        handle.write(frame(b""))
    assert load_error(path) == (
        f"bundle {path} → model root/rf.node/tree_a (decision_tree_regression) → root/rf.node/tree_a/tree.pb: "
        "node 0 at byte 0: node is neither internal nor leaf (invalid tree)"
    )


def test_file_missing_in_both_formats(tmp_path):
    path = linear_pb_bundle(tmp_path, model_pb("linear_regression"))
    os.remove(os.path.join(path, "root", "model.pb"))
    assert load_error(path) == f"bundle {path}: missing file root/model.pb"
