"""Bundles written by earlier MLeap releases (0.8 on) load and score like their current twins.

Each test hand-writes one attribute generation that a released MLeap wrote (from the history of
combust/mleap's serializers, ``mleap-runtime``/``mleap-spark`` ``bundle/ops`` and
``python/mleap``, and of combust/bundle-protobuf) and checks it scores exactly like the form the
current release writes:

=========================================  =============  ==========================================
generation                                  written by     read as
=========================================  =============  ==========================================
protobuf BasicType BOOLEAN=0 .. DOUBLE=6    0.8.x          UNDEFINED=0, BOOLEAN=1 .. DOUBLE=7 (0.9+)
binarizer ``input_shape``                    0.8.x          ``input_shapes`` (0.9+)
tensor shape ``[{"size": [k, n]}]``          Python < 0.16  one dimension per axis
string_indexer ``labels``                   < 0.18         ``labels_length`` + ``labels_array_i``
one_hot_encoder ``size``                    < 0.12         ``category_sizes`` + ``handle_invalid``
ports ``input``/``output`` (multi-column)   < 0.23.3       ``input0``/``output0``
logistic_regression without matrix         Spark 2.0      binary ``coefficients``/``intercept``
min_max_scaler without minValue/maxValue   < 0.16         0.0 / 1.0
hashing_term_frequency without binary and  < 0.16/0.18    binary false, murmur3 v1
  hashUnsafeBytesVersion
bucketizer/vector_indexer w/o handle_invalid  < 0.16      error
string_map without default_value/handle…   < 0.15         0.0 / error
reverse_string_indexer without input_shape < 0.9.4        non-null scalar
word_to_vector without kernel              < 0.11         default (average)
classifiers without thresholds              < 0.14         none
=========================================  =============  ==========================================
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from flink_ml_udf.mleap import load_bundle
from tests import bundle_writer as bw
from tests.bundle_protobuf import to_protobuf


def write(tmp_path, name, node, version="0.25.2"):
    path = bw.write_bundle(tmp_path / name, node)
    with open(os.path.join(path, "bundle.json")) as handle:
        info = json.load(handle)
    info["version"] = version
    with open(os.path.join(path, "bundle.json"), "w") as handle:
        json.dump(info, handle)
    return path


def score(path, columns, output):
    return load_bundle(path).transform_columns(columns).get(output, "t")


def test_protobuf_from_mleap_0_8_numbers_basic_types_from_zero(tmp_path):
    """0.8's DOUBLE is 6, which 0.9+ reads as FLOAT: big-endian doubles decoded as floats would give
    garbage silently. The bundle's own version says which numbering applies."""
    node = bw.Node("lr", "linear_regression", {"coefficients": bw.tensor([0.5, -2.0]), "intercept": bw.double(3.0)},
                   inputs=[("features", "f")], outputs=[("prediction", "y")])  # fmt: skip
    old = to_protobuf(write(tmp_path, "json08", node, version="0.8.1"), str(tmp_path / "pb08"))
    new = to_protobuf(write(tmp_path, "json", node), str(tmp_path / "pb"))
    with open(os.path.join(old, "root", "model.pb"), "rb") as a, open(os.path.join(new, "root", "model.pb"), "rb") as b:
        assert a.read() != b.read()  # the tensor's base differs: 6 (0.8) vs 7 (0.9+)
    x = {"f": [[1.0, 1.0], [2.0, -1.0]]}
    np.testing.assert_array_equal(score(old, x, "y"), [1.5, 6.0])
    np.testing.assert_array_equal(score(new, x, "y"), [1.5, 6.0])


@pytest.mark.parametrize("version", ["0.8.0", "0.8.1", "0.8.0-SNAPSHOT", "v0.8"])
def test_versions_read_with_the_0_8_numbering(version):
    from flink_ml_udf.mleap.protobuf_schema import BASIC_TYPES, BASIC_TYPES_BEFORE_0_9
    from flink_ml_udf.mleap.reader import basic_types_of

    expected = BASIC_TYPES if version == "v0.8" else BASIC_TYPES_BEFORE_0_9  # not a version string: current
    assert basic_types_of(version) is expected
    assert basic_types_of("0.9.0") is BASIC_TYPES and basic_types_of(None) is BASIC_TYPES
    assert basic_types_of(["0.8"]) is BASIC_TYPES and basic_types_of("1.0") is BASIC_TYPES


def binarizer(shape_key, shape_value):
    return bw.Node("b", "binarizer", {"threshold": bw.double(0.5), shape_key: shape_value},
                   inputs=[("input", "x")], outputs=[("output", "y")])  # fmt: skip


def test_binarizer_input_shape_of_mleap_0_8(tmp_path):
    shape = {"data_shape": {"base": "scalar", "isNullable": False}}
    x = {"x": [0.2, 0.5, 0.7]}
    old = score(write(tmp_path, "old", binarizer("input_shape", shape), "0.8.1"), x, "y")
    new = score(write(tmp_path, "new", binarizer("input_shapes", shape)), x, "y")
    np.testing.assert_array_equal(old, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(old, new)


def test_python_writer_shape_list_before_0_16(tmp_path):
    """MLeap's Python writer wrote ``"dimensions": [{"size": [3, 2]}]`` for a 3x2 array until 0.16."""
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    old_tensor = {"type": "tensor", "double": values, "shape": {"dimensions": [{"size": [3, 2], "name": ""}]}}

    def pca(components):
        return bw.Node(
            "pca", "pca", {"principal_components": components}, inputs=[("input", "x")], outputs=[("output", "y")]
        )

    x = {"x": [[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]]}
    old = score(write(tmp_path, "old", pca(old_tensor), "0.13.0"), x, "y")
    new = score(write(tmp_path, "new", pca(bw.tensor(values, [3, 2]))), x, "y")
    np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(new, np.array(x["x"]) @ np.array(values).reshape((3, 2), order="F"))


def indexer(attributes, ports=("input", "output")):
    return bw.Node("si", "string_indexer", {"handle_invalid": bw.string("keep"), **attributes},
                   inputs=[(ports[0], "s")], outputs=[(ports[1], "i")])  # fmt: skip


@pytest.mark.parametrize(
    "attributes,ports,version",
    [
        ({"labels": bw.string_list(["a", "b", "c"])}, ("input", "output"), "0.8.1"),
        ({"labels": bw.string_list(["a", "b", "c"])}, ("input0", "output0"), "0.17.0"),
        (
            {"labels_length": {"int": 1}, "labels_array_0": bw.string_list(["a", "b", "c"])},
            ("input", "output"),
            "0.18.0",
        ),
        (
            {"labels_length": bw.long(1), "labels_array_0": bw.string_list(["a", "b", "c"])},
            ("input0", "output0"),
            "0.25.2",
        ),
    ],
)
def test_string_indexer_generations(tmp_path, attributes, ports, version):
    path = write(tmp_path, "b", indexer(attributes, ports), version)
    s = np.array(["c", "a", "z", None], dtype=object)
    np.testing.assert_array_equal(score(path, {"s": s}, "i"), [2.0, 0.0, 3.0, 3.0])


@pytest.mark.parametrize(
    "attributes,ports,expected",
    [
        # < 0.12: size, drop_last; handle_invalid absent means keep with drop_last, error without
        ({"size": bw.long(3), "drop_last": bw.boolean(True)}, ("input", "output"), [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        ({"size": bw.long(3), "drop_last": bw.boolean(False)}, ("input", "output"), [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
        (
            {"category_sizes": bw.long_list([3]), "drop_last": bw.boolean(False), "handle_invalid": bw.string("error")},
            ("input0", "output0"),
            [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
    ],
)
def test_one_hot_generations(tmp_path, attributes, ports, expected):
    node = bw.Node("ohe", "one_hot_encoder", attributes, inputs=[(ports[0], "c")], outputs=[(ports[1], "v")])
    np.testing.assert_array_equal(score(write(tmp_path, "b", node), {"c": [1.0, 2.0]}, "v"), expected)


def test_logistic_regression_of_spark_2_0(tmp_path):
    """Spark 2.0's writer (LogisticRegressionOpV20): coefficients, intercept, num_classes, threshold only."""
    old = bw.Node("lr", "logistic_regression",
                  {"coefficients": bw.tensor([1.0, -1.0]), "intercept": bw.double(0.25), "num_classes": bw.long(2),
                   "threshold": bw.double(0.6)},
                  inputs=[("features", "f")], outputs=[("prediction", "p"), ("probability", "prob")])  # fmt: skip
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.1]])
    frame = load_bundle(write(tmp_path, "b", old, "0.8.1")).transform_columns({"f": x})
    p1 = 1.0 / (1.0 + np.exp(-(x @ [1.0, -1.0] + 0.25)))
    np.testing.assert_allclose(frame.get("prob", "t")[:, 1], p1, rtol=1e-15)
    np.testing.assert_array_equal(frame.get("p", "t"), (p1 > 0.6).astype(float))


def test_min_max_scaler_before_0_16(tmp_path):
    attributes = {"min": bw.tensor([0.0, 10.0]), "max": bw.tensor([2.0, 20.0])}

    def node(extra):
        return bw.Node(
            "mm", "min_max_scaler", {**attributes, **extra}, inputs=[("input", "x")], outputs=[("output", "y")]
        )

    x = {"x": [[1.0, 15.0], [2.0, 10.0]]}
    old = score(write(tmp_path, "old", node({}), "0.15.0"), x, "y")
    new = score(write(tmp_path, "new", node({"minValue": bw.double(0.0), "maxValue": bw.double(1.0)})), x, "y")
    np.testing.assert_array_equal(old, [[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_array_equal(old, new)


def test_hashing_term_frequency_before_0_16_hashes_like_spark_2(tmp_path):
    def node(extra):
        return bw.Node("h", "hashing_term_frequency", {"num_features": bw.long(16), **extra},
                       inputs=[("input", "t")], outputs=[("output", "v")])  # fmt: skip

    tokens = np.empty(2, dtype=object)
    tokens[0], tokens[1] = ["a", "b", "a"], ["zebra"]
    old = score(write(tmp_path, "old", node({}), "0.15.0"), {"t": tokens}, "v")
    v1 = score(
        write(tmp_path, "v1", node({"binary": bw.boolean(False), "hashUnsafeBytesVersion": bw.long(1)})),
        {"t": tokens},
        "v",
    )
    v2 = score(
        write(tmp_path, "v2", node({"binary": bw.boolean(False), "hashUnsafeBytesVersion": bw.long(2)})),
        {"t": tokens},
        "v",
    )
    np.testing.assert_array_equal(old, v1)
    assert old.sum() == 4.0 and not np.array_equal(v1, v2)


def test_handle_invalid_absent_means_error(tmp_path):
    from flink_ml_udf.errors import ScoringError

    node = bw.Node(
        "bk",
        "bucketizer",
        {"splits": bw.double_list([0.0, 1.0, 2.0])},
        inputs=[("input", "x")],
        outputs=[("output", "y")],
    )
    path = write(tmp_path, "b", node, "0.15.0")
    np.testing.assert_array_equal(score(path, {"x": [0.5, 1.5]}, "y"), [0.0, 1.0])
    with pytest.raises(ScoringError, match=r"\(row 1\)$"):
        score(path, {"x": [0.5, 7.0]}, "y")


def test_string_map_before_0_15(tmp_path):
    from flink_ml_udf.errors import ScoringError

    node = bw.Node("sm", "string_map", {"labels": bw.string_list(["a", "b"]), "values": bw.double_list([1.0, 2.0])},
                   inputs=[("input", "s")], outputs=[("output", "d")])  # fmt: skip
    path = write(tmp_path, "b", node, "0.14.0")
    np.testing.assert_array_equal(score(path, {"s": np.array(["b", "a"], dtype=object)}, "d"), [2.0, 1.0])
    with pytest.raises(ScoringError):
        score(path, {"s": np.array(["c"], dtype=object)}, "d")


def test_reverse_string_indexer_before_0_9_4(tmp_path):
    node = bw.Node(
        "r",
        "reverse_string_indexer",
        {"labels": bw.string_list(["x", "y"])},
        inputs=[("input", "i")],
        outputs=[("output", "s")],
    )
    path = write(tmp_path, "b", node, "0.9.3")
    assert list(score(path, {"i": [1.0, 0.0]}, "s")) == ["y", "x"]
    assert str(load_bundle(path).input_schema[0].dtype) == "double not null"


def test_word_to_vector_before_0_11(tmp_path):
    attributes = {
        "words": bw.string_list(["a", "b"]),
        "indices": bw.long_list([0, 1]),
        "word_vectors": bw.double_list([1.0, 0.0, 0.0, 1.0]),
    }
    old = bw.Node("w", "word_to_vector", attributes, inputs=[("input", "t")], outputs=[("output", "v")])
    new = bw.Node(
        "w",
        "word_to_vector",
        {**attributes, "kernel": bw.string("default")},
        inputs=[("input", "t")],
        outputs=[("output", "v")],
    )
    tokens = np.empty(1, dtype=object)
    tokens[0] = ["a", "b", "b"]
    result = score(write(tmp_path, "old", old, "0.10.0"), {"t": tokens}, "v")
    np.testing.assert_array_equal(result, score(write(tmp_path, "new", new), {"t": tokens}, "v"))
    np.testing.assert_allclose(result, [[1.0 / 3.0, 2.0 / 3.0]], rtol=1e-15)


def test_classifiers_before_thresholds_existed(tmp_path):
    tree = bw.tree_lines([bw.split(0, 0.5), bw.leaf(3.0, 1.0), bw.leaf(0.0, 2.0)])
    node = bw.Node("dt", "decision_tree_classifier", {"num_features": bw.long(1), "num_classes": bw.long(2)},
                   inputs=[("features", "f")], outputs=[("prediction", "p"), ("probability", "q")], files={"tree.json": tree})  # fmt: skip
    frame = load_bundle(write(tmp_path, "b", node, "0.13.0")).transform_columns({"f": [[0.0], [1.0]]})
    np.testing.assert_array_equal(frame.get("p", "t"), [0.0, 1.0])
    np.testing.assert_array_equal(frame.get("q", "t"), [[0.75, 0.25], [0.0, 1.0]])
