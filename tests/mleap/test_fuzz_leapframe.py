"""Fuzzing the LeapFrame parser: arbitrary JSON documents, and frames built from the LeapFrame
vocabulary (every type form, hostile cells). Only ScoringError escapes, within the time and memory
bound; a parsed frame scores on a real bundle with only project errors, batch-independently."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.leapframe import frame_from_json, frame_to_json
from tests import fuzzing as fz
from tests.conftest import REPO

pytestmark = pytest.mark.fuzz
MODEL = load_bundle(f"{REPO}/models/example-1.zip")
MODELS = [MODEL, load_bundle(f"{REPO}/models/example-2")]

types = st.one_of(
    st.sampled_from(["double", "float", "integer", "long", "byte", "short", "boolean", "string", "byte_string", "int"]),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["basic", "list", "tensor", "map"]), "base": st.sampled_from(["double", "int", "integer", "string", "boolean", "long"])},
        optional={"isNullable": fz.scalars, "dimensions": st.one_of(fz.json_values, st.lists(st.integers(-2, 5), max_size=3))},
    ),
    fz.json_values,
)  # fmt: skip
tensors = st.fixed_dictionaries(
    {"values": st.lists(fz.scalars, max_size=5), "dimensions": st.one_of(st.lists(st.integers(-1, 6), max_size=2), fz.json_values)},
    optional={"indices": st.one_of(st.lists(st.lists(st.integers(-2, 7), max_size=2), max_size=5), fz.json_values)},
)  # fmt: skip
cells = st.one_of(fz.scalars, tensors, st.lists(fz.scalars, max_size=4), fz.json_values)
names = st.sampled_from(["feature1", "feature2", "feature3", "x", "features"]) | st.text(max_size=5)
frames = st.fixed_dictionaries(
    {
        "schema": st.fixed_dictionaries(
            {"fields": st.lists(st.fixed_dictionaries({"name": names, "type": types}), max_size=5)}
        ),
        "rows": st.lists(st.lists(cells, max_size=6), max_size=6),
    }
)


def parse_and_score(document):
    frame = frame_from_json(document, max_batch_bytes=1 << 20)
    frame_to_json(frame)
    if all(name in frame for name in ("feature1", "feature2", "feature3")):
        columns = {c.name: (frame.get(c.name, "t"), c.dtype) for c in MODEL.input_schema}
        if all(values.ndim == 1 and values.dtype != object for values, _ in columns.values()):
            scored = MODEL.transform(Frame.from_columns(columns, "mark"))
            frame_to_json(scored)
    return frame


@given(document=st.one_of(fz.json_values, frames))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_frames_parse_or_fail_cleanly(document):
    result = fz.outcome_of(lambda: parse_and_score(document))
    assert isinstance(result, (Frame, FlinkMlUdfError))


@given(text=st.text(alphabet='{}[]":,0123456789.-eE truflasnNI\\\\xab', max_size=200))
@settings(deadline=None)
def test_frame_text(text):
    """Raw text through the CLI's parser (JSON first, then the frame)."""
    from flink_ml_udf.errors import ScoringError
    from flink_ml_udf.mleap.json_document import parse_json

    result = fz.outcome_of(lambda: frame_from_json(parse_json(text, "frame", ScoringError)))
    assert isinstance(result, (Frame, FlinkMlUdfError))


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 40), splits=st.lists(st.integers(1, 39), max_size=4))
@settings(deadline=None)
def test_example_models_score_rows_independently_of_their_batch(seed, rows, splits):
    for model in MODELS:
        fz.outcome_of(
            lambda model=model: fz.assert_batch_independent(model, fz.input_columns(model, seed, rows), splits)
        )
