"""The README's list of supported ops is the op registry: every registered op is listed once, nothing
else is, and the ops it says are refused are the ones the registry refuses by name."""

from __future__ import annotations

import os
import re
from collections import Counter

from flink_ml_udf.mleap.ops import OPS, UNSUPPORTED_OPS
from tests.conftest import REPO

OP_NAME = re.compile(r"`([a-z][a-z0-9_]*)`")


def ops_section() -> str:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    return text[text.index("**Ops.**") : text.index("**Formats.**")]


def test_readme_lists_exactly_the_registered_ops():
    intro, *bullets = ops_section().split("\n- ")  # one bullet per family; its names follow "<family>:"
    listed = [name for bullet in bullets for name in OP_NAME.findall(bullet.split(":", 1)[1])]
    assert len(bullets) >= 4 and "except" in intro, "the README's **Ops.** paragraph changed shape"
    assert [name for name, count in Counter(listed).items() if count > 1] == []
    assert sorted(set(listed) - set(OPS)) == [], "listed in the README but not registered"
    assert sorted(set(OPS) - set(listed)) == [], "registered but missing from the README"


def test_readme_names_the_refused_ops():
    first = ops_section().split("\n- ", 1)[0]
    assert "except" in first
    assert OP_NAME.findall(first.split("except", 1)[1]) == list(UNSUPPORTED_OPS)
