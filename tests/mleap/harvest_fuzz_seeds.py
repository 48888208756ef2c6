"""Harvest the fuzz seed corpus (tests/data/fuzz/seed_nodes.json): a pytest plugin recording the
root node of every bundle the runtime tests write, at most two per set of ops.

    python -m pytest -q -p tests.mleap.harvest_fuzz_seeds tests/mleap -k "not fuzz"
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os

from tests import bundle_writer as bw

SEEDS_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fuzz", "seed_nodes.json")
_seen = {}
_write_bundle = bw.write_bundle


def _ops(node):
    yield node["op"]
    for child in node["children"]:
        yield from _ops(child)
    for sub in node["submodels"].values():
        yield from _ops(sub)


def _recording(path, root, fmt="json"):
    document = dataclasses.asdict(root)
    text = json.dumps(document, allow_nan=True)
    kept = _seen.setdefault(tuple(sorted(set(_ops(document)))), [])
    if len(text) < 20000 and len(kept) < 2 and text not in kept:
        kept.append(text)
    return _write_bundle(path, root, fmt)


bw.write_bundle = _recording


@atexit.register
def _dump():
    with open(SEEDS_PATH, "w") as handle:
        json.dump(
            [json.loads(text) for texts in _seen.values() for text in texts], handle, allow_nan=True, sort_keys=True
        )
