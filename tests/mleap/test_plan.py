"""The execution plan's fast steps against the reference path (every op's own ``transform``): the
same columns, values (bit for bit), types, rejected and skipped rows and reasons, or the same error,
on random batches of 1, 7, 1000 and 100,000 rows, plain and with nulls, NaN, unseen labels and
categories out of range, under every ``handle_invalid`` and both ``on_invalid`` policies."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap import Frame, load_bundle
from flink_ml_udf.mleap.leapframe import frame_from_json
from flink_ml_udf.mleap.plan import leaf_ops
from flink_ml_udf.mleap.types import DOUBLE, STRING
from tests import bundle_writer as bw

SPARK = Path(__file__).resolve().parent.parent / "data" / "spark"
CITIES = ["paris", "berlin", "rome", "paris", "oslo"]  # "paris" twice: MLeap keeps the last position
COLORS = ["red", "green", "blue"]
ROWS = [1, 7, 1000, 100_000]


def feature_pipeline(tmp_path, indexer_invalid: str, drop_last: bool, encoder_invalid: str):
    indexer = bw.Node(
        "indexer",
        "string_indexer",
        {
            "labels_length": {"int": 2},
            "labels_array_0": bw.string_list(CITIES),
            "labels_array_1": bw.string_list(COLORS),
            "handle_invalid": bw.string(indexer_invalid),
        },
        inputs=[("input0", "city"), ("input1", "color")],
        outputs=[("output0", "city_index"), ("output1", "color_index")],
    )
    encoder = bw.Node(
        "encoder",
        "one_hot_encoder",
        {
            "category_sizes": bw.long_list([5, 3]),  # city positions are 1 to 4 (paris: 3, the last)
            "drop_last": bw.boolean(drop_last),
            "handle_invalid": bw.string(encoder_invalid),
        },
        inputs=[("input0", "city_index"), ("input1", "x1")],
        outputs=[("output0", "city_vec"), ("output1", "x1_vec")],
    )
    widths = [5 + (encoder_invalid == "keep") - drop_last, 3 + (encoder_invalid == "keep") - drop_last]
    shape = {"base": "tensor", "isNullable": False, "tensorShape": {"dimensions": [{"size": 0}]}}
    shapes = [dict(shape, tensorShape={"dimensions": [{"size": w}]}) for w in widths]
    assembler = bw.Node(
        "assembler",
        "vector_assembler",
        {
            "input_shapes": {
                "type": "list",
                "data_shape": shapes
                + [{"base": "scalar", "isNullable": True}, {"base": "scalar", "isNullable": False}],
            }
        },
        inputs=[("input0", "city_vec"), ("input1", "x1_vec"), ("input2", "x0"), ("input3", "color_index")],
        outputs=[("output", "features")],
    )
    return load_bundle(bw.write_bundle(tmp_path / "b", bw.pipeline("features", [indexer, encoder, assembler])))


def random_columns(n_rows: int, seed: int, faults: bool) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    city = np.array(rng.choice(CITIES, n_rows), dtype=object)
    color = np.array(rng.choice(COLORS, n_rows), dtype=object)
    x0 = rng.normal(size=n_rows)
    x1 = rng.integers(0, 3, n_rows).astype(np.float64)
    if faults:
        bad = lambda p: rng.random(n_rows) < p  # noqa: E731
        city[bad(0.05)] = None
        city[bad(0.05)] = "lisbon"  # unseen
        color[bad(0.02)] = None
        x0[bad(0.05)] = np.nan  # a NaN value (a null when the mask says so)
        x1[bad(0.03)] = rng.choice([np.nan, 3.0, 1.5, -1.0, 7.0])
    return {"city": city, "color": color, "x0": x0, "x1": x1}


def make_frame(columns: Dict[str, np.ndarray], on_invalid: str, null_x0: bool) -> Frame:
    frame = Frame(len(columns["x0"]), on_invalid)
    for name in ("city", "color"):
        frame.add(name, columns[name].copy(), STRING)
    frame.add("x0", columns["x0"].copy(), DOUBLE, nulls=np.isnan(columns["x0"]) if null_x0 else None)
    frame.add("x1", columns["x1"].copy(), DOUBLE)
    return frame


def assert_fast_steps_compute_plain_batches(model, frame: Frame) -> None:
    """A plain batch never reaches an op's own ``transform`` through a fast step."""

    def refuse(frame):
        raise AssertionError("a fast step fell back to the reference path on a plain batch")

    try:
        for op in model.plan.ops:
            op.transform = refuse
        model.plan.run(frame)
    finally:
        for op in model.plan.ops:
            del op.transform


def run_both(model, make, *arguments):
    """(frame or error message) from the plan and from the reference path, each on ``make(*arguments)``."""
    outcomes = []
    for run in (model.plan.run, model.plan.run_reference):
        frame = make(*arguments)
        try:
            run(frame)
        except ScoringError as exc:
            outcomes.append(str(exc))
        else:
            outcomes.append(frame)
    return outcomes


def assert_same_outcome(fast, reference) -> None:
    if isinstance(reference, str):
        assert fast == reference
        return
    assert not isinstance(fast, str), fast
    assert fast.names == reference.names
    for name in reference.names:
        expected, actual = reference.get(name, "test"), fast.get(name, "test")
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, name
        assert fast.type_of(name) == reference.type_of(name), name
        if expected.dtype == object:
            assert actual.tolist() == expected.tolist(), name
        else:
            np.testing.assert_array_equal(actual.view(np.int64), expected.view(np.int64), err_msg=name)
    np.testing.assert_array_equal(fast.rejected, reference.rejected)
    np.testing.assert_array_equal(fast.skipped, reference.skipped)
    assert fast.reasons == reference.reasons


@pytest.mark.parametrize("n_rows", ROWS)
@pytest.mark.parametrize("indexer_invalid", ["error", "skip", "keep"])
@pytest.mark.parametrize("drop_last, encoder_invalid", [(True, "error"), (False, "keep"), (True, "keep")])
def test_feature_steps_agree_with_the_reference_path(tmp_path, n_rows, indexer_invalid, drop_last, encoder_invalid):
    model = feature_pipeline(tmp_path, indexer_invalid, drop_last, encoder_invalid)
    assert [type(step).__name__ for step in model.plan.steps] == ["function"] * 3  # all three are fast steps
    for seed, faults in ((1, False), (2, True)):
        columns = random_columns(n_rows, seed, faults)
        for on_invalid in ("raise", "mark"):
            for null_x0 in (False, True):
                fast, reference = run_both(model, make_frame, columns, on_invalid, null_x0)
                assert_same_outcome(fast, reference)
                if not faults:
                    assert not isinstance(reference, str) and not reference.rejected.any()
                    assert_fast_steps_compute_plain_batches(model, make_frame(columns, on_invalid, null_x0))


def airbnb_columns(n_rows: int, seed: int, faults: bool) -> Dict[str, np.ndarray]:
    template = json.loads((SPARK / "frame.airbnb.json").read_text())
    rng = np.random.default_rng(seed)
    labels = {
        "state": ["NY", "CA", "London", "Berlin", "TX", "WA", "Other"],
        "room_type": ["Entire home/apt", "Private room", "Shared room"],
        "host_is_superhost": ["0.0", "1.0"],
        "cancellation_policy": ["strict", "moderate", "flexible"],
        "instant_bookable": ["0.0", "1.0"],
    }
    columns = {}
    for position, field in enumerate(template["schema"]["fields"]):
        name = field["name"]
        if name in labels:
            values = np.array(rng.choice(labels[name], n_rows), dtype=object)
            if faults:
                values[rng.random(n_rows) < 0.02] = "Atlantis"
                values[rng.random(n_rows) < 0.02] = None
        else:
            values = float(template["rows"][0][position]) * rng.uniform(0.5, 1.5, n_rows)
            if faults:
                values[rng.random(n_rows) < 0.02] = np.nan
        columns[name] = values
    return columns


def input_frame(model, columns: Dict[str, np.ndarray], on_invalid: str) -> Frame:
    """The model's input columns; NaN in a numeric column is a null, as the UDF passes it."""
    frame = Frame(len(next(iter(columns.values()))), on_invalid)
    for column in model.input_schema:
        values = columns[column.name].copy()
        nulls = np.isnan(values) if values.dtype == np.float64 else None
        frame.add(column.name, values, column.dtype, nulls=nulls)
    return frame


@pytest.mark.parametrize("n_rows", ROWS)
@pytest.mark.parametrize("bundle", ["airbnb.model.lr.zip", "airbnb.model.rf.zip"])
def test_spark_pipelines_agree_with_the_reference_path(n_rows, bundle):
    model = load_bundle(str(SPARK / bundle))
    for seed, faults in ((3, False), (4, True)):
        columns = airbnb_columns(n_rows, seed, faults)
        for on_invalid in ("raise", "mark"):
            fast, reference = run_both(model, input_frame, model, columns, on_invalid)
            assert_same_outcome(fast, reference)


def test_the_airbnb_frame_scores_through_fast_steps_as_the_jvm_does():
    model = load_bundle(str(SPARK / "airbnb.model.rf.zip"))
    fast_ops = [op.op for op, step in zip(model.plan.ops, model.plan.steps) if step != op.transform]
    assert fast_ops == ["vector_assembler"] + ["string_indexer"] * 5 + ["vector_assembler"]
    assert [op.op for op in leaf_ops(model.root)] == [op.op for op in model.ops if op.op != "pipeline"]
    frame = model.transform(frame_from_json(json.loads((SPARK / "frame.airbnb.json").read_text())))
    assert frame.get("price_prediction", "test")[0] == 218.2767196535019


@pytest.mark.parametrize("bundle", ["airbnb.model.lr.zip", "airbnb.model.rf.zip"])
def test_a_pickled_model_rebuilds_its_plan_and_scores_the_same(bundle):
    # Models are loaded in a child process and handed back pickled (flink/load_process.py).
    model = load_bundle(str(SPARK / bundle))
    copy = pickle.loads(pickle.dumps(model))
    assert [step.__name__ for step in copy.plan.steps] == [step.__name__ for step in model.plan.steps]
    assert copy.plan.ops[1] is not model.plan.ops[1] and copy.plan.ops[1] is copy.plan.steps[1].__self__  # the scaler
    columns = airbnb_columns(1000, seed=5, faults=False)
    expected = model.transform(input_frame(model, columns, "raise")).get("price_prediction", "test")
    actual = copy.transform(input_frame(copy, columns, "raise")).get("price_prediction", "test")
    np.testing.assert_array_equal(actual.view(np.int64), expected.view(np.int64))
