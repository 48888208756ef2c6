"""Fuzzing the bundle reader: JSON, protobuf, zip and tree files of small real bundles, mutated.

Every mutated bundle either loads or fails with a BundleError, within the time and memory bound of
:func:`tests.fuzzing.outcome_of`; a bundle that loads scores rows the same in any batch (whole, one
by one, in slices, and in the slices a small batch budget forces). See ``tests/fuzzing.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flink_ml_udf.errors import BundleError, FlinkMlUdfError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.frame import Frame
from tests import bundle_writer as bw
from tests import fuzzing as fz
from tests.bundle_protobuf import read_bundle_files, to_protobuf

pytestmark = pytest.mark.fuzz
TEMPLATES = fz.templates()

byte_edits = st.tuples(
    st.sampled_from(["flip", "truncate", "insert", "overwrite"]),
    st.floats(min_value=0.0, max_value=1.0),
    st.binary(min_size=1, max_size=16),
)
json_edits = st.tuples(st.sampled_from(["set", "drop", "replace"]), st.integers(0, 1000), fz.json_values)


def edit_bytes(data: bytes, edit) -> bytes:
    kind, where, payload = edit
    at = int(where * len(data))
    if kind == "flip" and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([data[at] ^ (payload[0] or 1)]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    return data[:at] + payload + data[at + len(payload) :]


def edit_json(data: bytes, edit) -> bytes:
    """Set, drop or replace a value somewhere in a JSON document (the n-th object, mod their number)."""
    kind, pick, value = edit
    try:
        document = json.loads(data)
    except ValueError:
        return data
    if kind == "replace":
        return json.dumps(value).encode()
    objects = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            objects.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    if not objects:
        return data
    target = objects[pick % len(objects)]
    keys = sorted(target)
    if kind == "drop" and keys:
        del target[keys[pick % len(keys)]]
    elif keys:
        target[keys[pick % len(keys)]] = value
    return json.dumps(document, allow_nan=True).encode()


#: Budgets of the fuzzed loads: a mutated size must fail (or fit) within what a test may allocate.
BUDGETS = {"max_unpacked_bytes": 64 << 20, "max_batch_bytes": 8 << 20}


def score_or_fail(path, seed):
    model = load_bundle(path, **BUDGETS)
    columns = fz.input_columns(model, seed, 13)
    fz.assert_batch_independent(model, columns, [1, 4, 9])
    if model.row_bytes:  # the same rows, scored in the slices a three-row batch budget forces
        small = load_bundle(path, max_unpacked_bytes=BUDGETS["max_unpacked_bytes"], max_batch_bytes=3 * model.row_bytes)
        names = [c.name for c in model.output_schema]
        whole = model.transform_columns(columns, on_invalid="mark")
        frame = Frame.from_columns({c.name: (np.asarray(columns[c.name]), c.dtype) for c in model.input_schema}, "mark")
        small.transform(frame, keep=names)
        assert np.array_equal(frame.kept, whole.kept)
        for name in names:
            assert fz.same_values(frame.get(name, "t")[frame.kept], whole.get(name, "t")[whole.kept]), name
    return model


@given(
    template=st.sampled_from(sorted(TEMPLATES)),
    form=st.sampled_from(["folder", "zip", "protobuf"]),
    target=st.integers(0, 100),
    edits=st.lists(
        st.one_of(json_edits.map(lambda e: ("json", e)), byte_edits.map(lambda e: ("bytes", e))), min_size=1, max_size=3
    ),
    seed=st.integers(0, 2**32 - 1),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_mutated_bundles_load_or_fail_cleanly(template, form, target, edits, seed):
    with tempfile.TemporaryDirectory() as folder:
        source = bw.write_bundle(os.path.join(folder, "source"), TEMPLATES[template])
        if form == "protobuf":
            source = to_protobuf(source, os.path.join(folder, "pb"))
        files = read_bundle_files(source)
        names = sorted(files)
        name = names[target % len(names)]
        for kind, edit in edits:
            files[name] = edit_json(files[name], edit) if kind == "json" else edit_bytes(files[name], edit)
        path = fz.write_files(os.path.join(folder, "mutated"), files)
        if form == "zip":
            path = os.path.join(folder, "mutated.zip")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for relative, data in sorted(files.items()):
                    archive.writestr(relative, data)
        result = fz.outcome_of(lambda: score_or_fail(path, seed))
        assert isinstance(result, FlinkMlUdfError) or hasattr(result, "transform")


@given(
    template=st.sampled_from(sorted(TEMPLATES)),
    edits=st.lists(byte_edits, min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_zip_bytes(template, edits, seed):
    with tempfile.TemporaryDirectory() as folder:
        source = bw.write_bundle(os.path.join(folder, "source"), TEMPLATES[template])
        path = os.path.join(folder, "b.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for relative, data in sorted(read_bundle_files(source).items()):
                archive.writestr(relative, data)
        data = open(path, "rb").read()
        for edit in edits:
            data = edit_bytes(data, edit)
        with open(path, "wb") as handle:
            handle.write(data)
        result = fz.outcome_of(lambda: score_or_fail(path, seed))
        assert isinstance(result, FlinkMlUdfError) or hasattr(result, "transform")


@given(
    lines=st.lists(
        st.one_of(
            fz.json_values,
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["internal", "leaf"]),
                    "split": st.fixed_dictionaries(
                        {
                            "type": st.sampled_from(["continuous", "categorical"]),
                            "featureIndex": fz.scalars,
                            "threshold": fz.scalars,
                            "categories": st.lists(fz.scalars, max_size=3),
                            "isLeft": fz.scalars,
                            "numCategories": fz.scalars,
                        }
                    ),
                    "values": st.lists(fz.scalars, max_size=3),
                }
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32 - 1),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tree_files(lines, seed):
    """Tree lines built from the tree vocabulary with hostile values: load or BundleError, then batch-independent."""
    text = "\n".join(json.dumps(line, allow_nan=True) for line in lines)
    node = bw.Node("dt", "decision_tree_regression", {"num_features": bw.long(3)}, inputs=[("features", "f")],
                   outputs=[("prediction", "y")], files={"tree.json": text})  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = bw.write_bundle(os.path.join(folder, "b"), node)
        result = fz.outcome_of(lambda: score_or_fail(path, seed))
        assert isinstance(result, BundleError) or hasattr(result, "transform")


def _attribute_names():
    """Every attribute name an op reads, from the ops' own source (so new ops are fuzzed too)."""
    import glob
    import re

    import flink_ml_udf.mleap.ops as ops

    names = set()
    for path in glob.glob(os.path.join(os.path.dirname(ops.__file__), "*.py")):
        with open(path) as handle:
            names.update(re.findall(r'attr(?:s|ibutes)\.\w+\(\s*f?"([a-z_A-Z0-9]+)"', handle.read()))
    return sorted(names | {"labels_array_0", "num_features0", "num_features1", "key_0_keys", "key_0_values"})


ATTRIBUTE_NAMES = _attribute_names()
numbers = st.sampled_from([0, 1, 2, 3, -1, 7, 1 << 20, 10**12]) | st.integers(-5, 40)
reals = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 0.5, 1.0, -1.0])
typed_values = st.one_of(
    numbers.map(lambda n: {"long": n}),
    reals.map(lambda x: {"double": x}),
    st.booleans().map(lambda b: {"boolean": b}),
    st.sampled_from(["error", "keep", "skip", "default", "sqrt", "logistic", "multinomial", "bernoulli", "x0,x1,x0^2", "\\s+", "string", "double", "add", "log"]).map(lambda s: {"string": s}),
    st.lists(reals, max_size=6).map(lambda v: {"type": "list", "double": v}),
    st.lists(numbers, max_size=6).map(lambda v: {"type": "list", "long": v}),
    st.lists(st.sampled_from(["a", "b", "c", "x"]), max_size=5).map(lambda v: {"type": "list", "string": v}),
    st.tuples(st.lists(reals, max_size=9), st.lists(st.integers(-1, 4), max_size=3)).map(
        lambda t: {"type": "tensor", "double": t[0], "shape": {"dimensions": [{"size": d} for d in t[1]]}}
    ),
    st.lists(st.sampled_from([{"base": "scalar", "isNullable": False}, {"base": "tensor", "isNullable": False, "tensorShape": {"dimensions": [{"size": 3}]}}, {"base": "list", "isNullable": True}]), max_size=3).map(lambda v: {"type": "list", "data_shape": v}),
    fz.json_values,
)  # fmt: skip
PORTS_IN = ["input", "input0", "input1", "input2", "features", "label"]
PORTS_OUT = ["output", "output0", "output1", "prediction", "probability", "raw_prediction"]


@given(
    op=st.sampled_from(sorted(__import__("flink_ml_udf.mleap.ops", fromlist=["OPS"]).OPS)),
    attributes=st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), typed_values, max_size=8),
    inputs=st.lists(st.sampled_from(PORTS_IN), min_size=1, max_size=3, unique=True),
    outputs=st.lists(st.sampled_from(PORTS_OUT), min_size=1, max_size=3, unique=True),
    seed=st.integers(0, 2**32 - 1),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_every_op_with_hostile_attributes(op, attributes, inputs, outputs, seed):
    """Any registered op, any attributes its code reads, any values: BundleError at load or a model
    that scores rows the same in any batch, with only project errors."""
    columns = {"input": "a", "input0": "a", "input1": "b", "input2": "c", "features": "v", "label": "s"}
    node = bw.Node(
        "n", op, attributes, inputs=[(p, columns[p]) for p in inputs], outputs=[(p, f"out_{p}") for p in outputs]
    )
    load_and_score_anywhere(node, seed)


def load_and_score_anywhere(root, seed: int) -> None:
    """Write ``root`` as a bundle, load it and score it in batches of 1 and 4: a project error at load
    or scoring, or a model whose rows score the same in any batch; nothing else may escape."""
    with tempfile.TemporaryDirectory() as folder:
        path = bw.write_bundle(os.path.join(folder, "b"), root)

        def load_and_score():
            model = load_bundle(path, **BUDGETS)
            fz.assert_batch_independent(model, fz.input_columns(model, seed, 9), [1, 4])
            return model

        result = fz.outcome_of(load_and_score)
        event(
            "refused"
            if isinstance(result, BundleError)
            else "scoring error"
            if isinstance(result, FlinkMlUdfError)
            else "scored"
        )
        assert isinstance(result, FlinkMlUdfError) or hasattr(result, "transform")


SEEDS_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fuzz", "seed_nodes.json")
with open(SEEDS_PATH) as _handle:
    SEEDS = json.load(_handle)  # valid bundles of 62 ops, harvested by tests/mleap/harvest_fuzz_seeds.py


def _node(document) -> bw.Node:
    return bw.Node(
        document["name"], document["op"], dict(document["attributes"]),
        inputs=[tuple(p) for p in document["inputs"]], outputs=[tuple(p) for p in document["outputs"]],
        files=dict(document["files"]), submodels={k: _node(v) for k, v in document["submodels"].items()},
        children=[_node(c) for c in document["children"]],
    )  # fmt: skip


def _nodes(node: bw.Node):
    yield node
    for child in node.children:
        yield from _nodes(child)
    for sub in node.submodels.values():
        yield from _nodes(sub)


@given(
    seed_index=st.integers(0, len(SEEDS) - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 50), st.one_of(st.integers(0, 50), st.sampled_from(ATTRIBUTE_NAMES)), st.one_of(typed_values, st.none())),
        min_size=1, max_size=3,
    ),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_seed_bundles_with_one_attribute_changed(seed_index, edits, seed):
    """Valid bundles of every op (the seed corpus), one to three attributes replaced by hostile
    values or removed: BundleError at load, or a model scoring rows the same in any batch."""
    root = _node(SEEDS[seed_index])
    nodes = list(_nodes(root))
    for which, name, value in edits:
        node = nodes[which % len(nodes)]
        if isinstance(name, int):
            names = sorted(node.attributes)
            if not names:
                continue
            name = names[name % len(names)]
        if value is None:
            node.attributes.pop(name, None)
        else:
            node.attributes[name] = value
    load_and_score_anywhere(root, seed)
