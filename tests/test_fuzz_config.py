"""Fuzzing the config loader: YAML text from the config's vocabulary and YAML's own punctuation
(anchors, aliases, tags, flow collections), and structured documents with hostile values. Only
ConfigError escapes, within the time and memory bound of tests/fuzzing.py."""

from __future__ import annotations

import os
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flink_ml_udf.config import AppConfig, load_config
from flink_ml_udf.errors import FlinkMlUdfError
from tests import fuzzing as fz

pytestmark = pytest.mark.fuzz

WORDS = ["mleap", "udf_registry", "udf_name", "bundle_path", "on_error", "null", "s3", "gcs", "retries",
         "read_timeout", "max_bundle_bytes", "max_batch_bytes", "version", "inputs", "${A}", "${B:-x}", "${A:-${B}}",
         "&a", "*a", "<<", "!!str", "!!binary", "!!python/object", "~", ".nan", ".inf", "1GiB", "Predict", "a.zip"]  # fmt: skip
ENVIRON = {"A": "secret-value-a", "B": "7"}
keys = st.sampled_from(WORDS[:14]) | st.text(max_size=6)
values = st.recursive(
    fz.scalars | st.sampled_from(WORDS),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(keys, c, max_size=4),
    max_leaves=15,
)
entries = st.lists(st.dictionaries(keys, values, max_size=8), max_size=3)
documents = st.fixed_dictionaries(
    {"mleap": st.fixed_dictionaries({"udf_registry": entries}, optional={"s3": values, "gcs": values})}
)


def load(text: str):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "app.yaml")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text)
        return load_config(path, environ=ENVIRON)


def check(text: str) -> None:
    result = fz.outcome_of(lambda: load(text), seconds=10, megabytes=128)
    assert isinstance(result, (AppConfig, FlinkMlUdfError))
    if isinstance(result, FlinkMlUdfError):
        assert ENVIRON["A"] not in str(result)  # values from the environment are never echoed


@given(document=documents)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_structured_documents(document):
    try:
        text = yaml.safe_dump(document, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    check(text)


@given(
    pieces=st.lists(
        st.sampled_from(
            WORDS + [":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "'", '"', "#", "|", ">", "\t", "?"]
        )
        | st.text(max_size=4),
        max_size=60,
    )
)
@settings(deadline=None)
def test_yaml_text(pieces):
    check("".join(pieces))
