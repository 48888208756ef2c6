"""Label ops (string_map, regex_indexer, reverse_string_indexer, multinomial_labeler,
map_entry_selector) and categorical_drilldown, on hand-written bundles and the ``mleap`` package's
StringMap. Expected values are computed here from the attributes."""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict

import numpy as np
import pytest

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.types import DataType
from tests import bundle_writer as bw
from tests.mleap.test_feature_ops_text import one_node, out, run, tokens_column

TEXT = DataType("string")


def strings(*values):
    return np.array(values, dtype=object)


# -- string_map ----------------------------------------------------------------------------------------


def string_map(tmp_path, labels, values, **extra):
    attributes = {"labels": bw.string_list(labels), "values": bw.double_list(values), **extra}
    return one_node(tmp_path, "string_map", attributes)


def test_string_map_from_the_mleap_package():
    import mleap.sklearn.pipeline  # noqa: F401
    from mleap.sklearn.preprocessing.data import StringMap
    from sklearn.pipeline import Pipeline

    mapping = OrderedDict([("paris", 1.0), ("rome", 2.5), ("oslo", -3.0)])
    step = StringMap(input_features=["city"], output_features="city_code", labels=mapping)
    pipeline = Pipeline([(step.name, step)])
    pipeline.mlinit()
    folder = tempfile.mkdtemp(prefix="mleap-stringmap-")
    pipeline.serialize_to_bundle(folder, "bundle", init=True)
    model = load_bundle(os.path.join(folder, "bundle"))
    assert [str(c.dtype) for c in model.output_schema] == ["double not null"]
    cities = ["rome", "oslo", "paris", "rome"]
    frame = run(model, city=(strings(*cities), TEXT))
    assert out(frame, "city_code") == [mapping[c] for c in cities]
    # The writer stores no handle_invalid: an unknown label is an error, as in MLeap.
    with pytest.raises(ScoringError) as info:
        run(model, city=(strings("rome", "lima"), TEXT))
    assert str(info.value).endswith(
        "unseen label in column 'city' (handle_invalid is 'error'; 'keep' maps it to default_value) (row 1)"
    )


def test_string_map_keep_uses_default_for_unknown_and_null(tmp_path):
    model = string_map(
        tmp_path, ["a", "b", "a"], [1.0, 2.0, 3.0], handle_invalid=bw.string("keep"), default_value=bw.double(-1.0)
    )
    frame = run(model, **{"in": (strings("a", "b", "zz", None), TEXT)})
    assert out(frame) == [3.0, 2.0, -1.0, -1.0]  # duplicate label: the last value wins


def test_string_map_error_rejects_null(tmp_path):
    model = string_map(tmp_path, ["a"], [1.0])
    frame = run(model, on_invalid="mark", **{"in": (strings("a", None), TEXT)})
    assert frame.rejected.tolist() == [False, True]
    assert frame.reasons == ["node n (string_map): input column 'in' is null (1 rows)"]


def test_string_map_rejects_skip(tmp_path):
    with pytest.raises(BundleError, match="attribute handle_invalid: 'skip' is not one of error, keep"):
        string_map(tmp_path, ["a"], [1.0], handle_invalid=bw.string("skip"))


# -- regex_indexer -----------------------------------------------------------------------------------------


def regex_indexer(tmp_path, regexes, indices, default=None):
    attributes = {"regexes": bw.string_list(regexes), "indices": {"type": "list", "int": indices}}
    if default is not None:
        attributes["default_value"] = {"int": default}
    return one_node(tmp_path, "regex_indexer", attributes)


def test_regex_indexer_first_regex_found_anywhere(tmp_path):
    model = regex_indexer(tmp_path, [r"^a", r"b+", r"\d{2}"], [10, 20, 30], default=-1)
    assert [str(c.dtype) for c in model.output_schema] == ["integer not null"]
    frame = run(model, **{"in": (strings("abb", "xbbx", "x12", "b1", "zz", "ab"), TEXT)})
    assert out(frame) == [10, 20, 30, 20, -1, 10]


def test_regex_indexer_without_default_rejects_unmatched(tmp_path):
    model = regex_indexer(tmp_path, ["x"], [1])
    with pytest.raises(ScoringError) as info:
        run(model, **{"in": (strings("x", "y"), TEXT)})
    assert str(info.value) == (
        f"bundle {tmp_path / 'b'} → node n (regex_indexer): no regex matches the value in column 'in' "
        "and there is no default_value (row 1)"
    )


# -- reverse_string_indexer ---------------------------------------------------------------------------------


def test_reverse_string_indexer_scalar(tmp_path):
    model = one_node(tmp_path, "reverse_string_indexer", {"labels": bw.string_list(["a", "b", "c"])})
    assert [str(c.dtype) for c in model.input_schema] == ["double not null"]
    assert [str(c.dtype) for c in model.output_schema] == ["string"]
    frame = run(model, **{"in": (np.array([2.0, 0.0, 1.9, np.nan]), DataType("double", nullable=False))})
    assert out(frame) == ["c", "a", "b", "a"]  # Java (int) truncates; NaN is 0
    with pytest.raises(ScoringError, match=r"index out of range for 3 labels in column 'in' \(row 0 and 1 more\)"):
        run(model, **{"in": (np.array([3.0, -1.0]), DataType("double", nullable=False))})


def test_reverse_string_indexer_list_and_tensor_shapes(tmp_path):
    labels = bw.string_list(["a", "b", "c"])
    list_shape = {"data_shape": {"base": "list", "isNullable": False}}
    model = one_node(tmp_path, "reverse_string_indexer", {"labels": labels, "input_shape": list_shape})
    frame = run(model, **{"in": (tokens_column([0.0, 2.0], [], [1.0]), DataType("double", "list", nullable=False))})
    assert out(frame) == [["a", "c"], [], ["b"]]
    tensor_shape = {"data_shape": {"base": "tensor", "isNullable": False, "tensorShape": {"dimensions": [{"size": 2}]}}}
    model = one_node(tmp_path / "t", "reverse_string_indexer", {"labels": labels, "input_shape": tensor_shape})
    assert [str(c.dtype) for c in model.output_schema] == ["tensor<string>[2]"]
    frame = run(model, **{"in": (np.array([[0.0, 1.0], [2.0, 2.0]]), DataType("double", "tensor", (2,)))})
    assert out(frame) == [["a", "b"], ["c", "c"]]


def test_reverse_string_indexer_nullable_shape_is_a_load_error(tmp_path):
    shape = {"data_shape": {"base": "scalar", "isNullable": True}}
    with pytest.raises(BundleError, match="attribute input_shape: must not be nullable"):
        one_node(tmp_path, "reverse_string_indexer", {"labels": bw.string_list(["a"]), "input_shape": shape})


# -- multinomial_labeler -----------------------------------------------------------------------------------


def test_multinomial_labeler(tmp_path):
    model = one_node(
        tmp_path,
        "multinomial_labeler",
        {"threshold": bw.double(0.3), "labels": bw.string_list(["x", "y", "z"])},
        inputs=[("features", "p")],
        outputs=[("probabilities", "probs"), ("labels", "names")],
    )
    p = np.array([[0.5, 0.1, 0.4], [0.3, 0.3, 0.3], [0.0, 0.0, 0.1]])
    frame = run(model, p=(p, DataType("double", "tensor", (3,))))
    assert out(frame, "probs") == [[0.5, 0.4], [0.3, 0.3, 0.3], []]
    assert out(frame, "names") == [["x", "z"], ["x", "y", "z"], []]


def test_multinomial_labeler_value_without_label(tmp_path):
    model = one_node(
        tmp_path,
        "multinomial_labeler",
        {"threshold": bw.double(0.5), "labels": bw.string_list(["x"])},
        inputs=[("features", "p")],
        outputs=[("labels", "names")],
    )
    frame = run(model, on_invalid="mark", p=(np.array([[0.9, 0.1], [0.1, 0.9]]), DataType("double", "tensor", (2,))))
    assert frame.rejected.tolist() == [False, True]
    assert out(frame, "names")[0] == ["x"]


# -- map_entry_selector --------------------------------------------------------------------------------------


def map_selector(tmp_path, value_type, default):
    attributes = {
        "key_type": {"basic_type": "string"},
        "value_type": {"basic_type": value_type},
        "default_value": default,
    }
    return one_node(
        tmp_path, "map_entry_selector", attributes, inputs=[("input", "m"), ("key", "k")], outputs=[("output", "v")]
    )


def test_map_entry_selector_double_and_string(tmp_path):
    maps = tokens_column({"a": 1.5, "b": 2.0}, {"a": -1.0}, {})
    keys = strings("b", "b", "a")
    model = map_selector(tmp_path, "double", {"double": 9.0})
    assert [str(c.dtype) for c in model.output_schema] == ["double not null"]
    assert out(run(model, m=(maps, DataType("double", "map")), k=(keys, TEXT)), "v") == [2.0, 9.0, 9.0]
    model = map_selector(tmp_path / "s", "string", {})  # "" omitted by the JVM writer
    maps = tokens_column({"a": "x"}, {"b": "y"})
    assert out(run(model, m=(maps, DataType("string", "map")), k=(strings("a", "a"), TEXT)), "v") == ["x", ""]


def test_map_entry_selector_rejects_null_map_and_unsupported_types(tmp_path):
    model = map_selector(tmp_path, "double", {"double": 0.0})
    with pytest.raises(ScoringError, match=r"node n \(map_entry_selector\): input column 'm' is null \(row 1\)"):
        run(model, m=(tokens_column({"a": 1.0}, None), DataType("double", "map")), k=(strings("a", "a"), TEXT))
    with pytest.raises(BundleError, match="cannot load a map_entry_selector of types string, tensor"):
        map_selector(tmp_path / "x", "tensor", {})


# -- categorical_drilldown -------------------------------------------------------------------------------------


def drilldown(tmp_path, labels, submodels):
    node = bw.Node(
        "drill",
        "categorical_drilldown",
        {"labels": bw.string_list(labels)},
        inputs=[("label", "segment"), ("drilldown.input", "city")],
        outputs=[("drilldown.output", "code")],
        submodels={f"model{i}": m for i, m in enumerate(submodels)},
    )
    return load_bundle(bw.write_bundle(tmp_path / "b", node))


def sub_string_map(labels, values, default=None):
    attributes = {"labels": bw.string_list(labels), "values": bw.double_list(values)}
    if default is not None:
        attributes["handle_invalid"] = bw.string("keep")
        attributes["default_value"] = bw.double(default)
    return bw.Node("sub", "string_map", attributes)


def test_categorical_drilldown_routes_rows_by_label(tmp_path):
    model = drilldown(
        tmp_path, ["eu", "us"], [sub_string_map(["paris", "rome"], [1.0, 2.0]), sub_string_map(["nyc"], [10.0], -5.0)]
    )
    assert [c.name for c in model.input_schema] == ["segment", "city"]
    assert [(c.name, str(c.dtype)) for c in model.output_schema] == [("code", "double not null")]
    frame = run(
        model,
        segment=(strings("us", "eu", "eu", "us"), TEXT),
        city=(strings("nyc", "rome", "paris", "sf"), TEXT),
    )
    assert out(frame, "code") == [10.0, 2.0, 1.0, -5.0]


def test_categorical_drilldown_unknown_label_and_sub_model_errors(tmp_path):
    model = drilldown(tmp_path, ["eu"], [sub_string_map(["paris"], [1.0])])
    frame = run(
        model,
        on_invalid="mark",
        segment=(strings("eu", "asia", "eu"), TEXT),
        city=(strings("paris", "tokyo", "berlin"), TEXT),
    )
    assert frame.rejected.tolist() == [False, True, True]
    assert out(frame, "code")[0] == 1.0
    assert frame.reasons == [
        "node drill (categorical_drilldown): sub-model for label 'eu': node drill/model0 (string_map): unseen label "
        "in column 'city' (handle_invalid is 'error'; 'keep' maps it to default_value) (1 rows)",
        "node drill (categorical_drilldown): label in column 'segment' has no sub-model (labels: eu) (1 rows)",
    ]


def test_categorical_drilldown_needs_prefixed_ports(tmp_path):
    node = bw.Node(
        "drill",
        "categorical_drilldown",
        {"labels": bw.string_list(["a"])},
        inputs=[("label", "segment"), ("input", "city")],
        outputs=[("output", "code")],
        submodels={"model0": sub_string_map(["x"], [1.0])},
    )
    with pytest.raises(BundleError, match="has no 'drilldown.<port>' inputs"):
        load_bundle(bw.write_bundle(tmp_path / "b", node))
