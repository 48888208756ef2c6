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
from hypothesis import HealthCheck, given, settings
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


def score_or_fail(path, seed):
    model = load_bundle(path)
    columns = fz.input_columns(model, seed, 13)
    fz.assert_batch_independent(model, columns, [1, 4, 9])
    if model.row_bytes:  # the same rows, scored in the slices a three-row batch budget forces
        small = load_bundle(path, max_batch_bytes=3 * model.row_bytes)
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
