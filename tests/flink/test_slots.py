"""Model slots and the store poller, without a JVM: pinned versions hold or fail clearly, a new
version swaps in whole, every bad update keeps the serving model and is counted and logged once."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import ReloadSettings, UdfEntry
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.flink.signature import derive_signature
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.flink.updates import ModelUpdate, StorePoller, parse_update, start_updates
from flink_ml_udf.loaders.file import content_hash
from flink_ml_udf.mleap import load_bundle
from tests.conftest import REPO

FEATURES = {"feature1": [10.0, 50.0, 90.0], "feature2": [1.0, 5.0, 9.0], "feature3": [0.1, -0.5, 0.9]}


def publish(source: str, target: str) -> str:
    """Publish the safe way: write beside the target, then rename over it. Returns the new version."""
    staging = target + ".tmp"
    shutil.copy(source, staging)
    os.replace(staging, target)
    return content_hash(target)


def expected(bundle: str) -> np.ndarray:
    return load_bundle(bundle).transform_columns(FEATURES).get("prediction", "test")


def score(slot: ModelSlot) -> pd.DataFrame:
    arguments = [pd.Series(FEATURES[name]) for name in ("feature1", "feature2", "feature3")]
    return slot.current.scorer(arguments).result


def make_slot(path: str, outputs=("prediction", "model_version", "model_uri"), **extra) -> ModelSlot:
    entry = UdfEntry("Fraud", path, outputs=outputs, **extra)
    return ModelSlot(entry, derive_signature(entry, load_entry_model(entry).model))


@pytest.fixture
def store(tmp_path, model_versions):
    """A model store folder whose `fraud.zip` starts at v1."""
    path = str(tmp_path / "fraud.zip")
    publish(model_versions.v1, path)
    return path


def test_pinned_version_loads_and_a_changed_file_is_a_clear_error(store, model_versions):
    slot = make_slot(store)
    v1 = content_hash(store)
    served = slot.load(None, v1)
    assert (served.uri, served.version) == (store, v1)
    v2 = publish(model_versions.v2, store)
    with pytest.raises(LoaderError) as info:
        make_slot(store).load(None, v1)  # a worker restarted after the file changed
    assert str(info.value) == (
        f"UDF 'Fraud' → bundle {store}: version {v1} was pinned (resolved when the job was submitted), but the store "
        f"now has version {v2}; publish model updates through 'reload' or 'control' instead of replacing a pinned bundle"
    )


def test_rows_carry_the_version_and_values_of_the_model_that_scored_them(store, model_versions):
    slot = make_slot(store)
    slot.load()
    first = score(slot)
    assert list(first.columns) == ["prediction", "model_version", "model_uri"]
    np.testing.assert_array_equal(first.prediction, expected(model_versions.v1))
    assert set(first.model_version) == {content_hash(model_versions.v1)}
    assert set(first.model_uri) == {store}
    v2 = publish(model_versions.v2, store)
    assert slot.propose(store, v2)
    second = score(slot)
    np.testing.assert_array_equal(second.prediction, expected(model_versions.v2))
    assert set(second.model_version) == {v2}
    assert (slot.stats.reloads, slot.stats.reload_failures) == (1, 0)


def test_every_bad_update_keeps_the_serving_model_counted_and_logged_once(store, model_versions, caplog):
    slot = make_slot(store)
    v1 = slot.load().version
    caplog.set_level(logging.WARNING, logger="flink_ml_udf.reload")
    outcomes = []
    for bad in (model_versions.incompatible, model_versions.corrupt, model_versions.hostile):
        version = publish(bad, store)
        outcomes.append(slot.propose(store, version))
        outcomes.append(slot.propose(store, version))  # the same bad version again: not even loaded
    assert outcomes == [False] * 6
    assert (slot.current.version, slot.stats.reloads, slot.stats.reload_failures) == (v1, 0, 3)
    np.testing.assert_array_equal(score(slot).prediction, expected(model_versions.v1))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert all(line.startswith("UDF 'Fraud': reload rejected version sha256:") for line in lines)
    assert all(line.endswith(f"; keeping {store} @ {v1}") for line in lines)
    assert "incompatible with the registered function: registered Fraud(feature1 DOUBLE, feature2 DOUBLE, " in lines[0]
    assert "this bundle gives Fraud(feature1 DOUBLE) -> ROW<prediction DOUBLE, model_version STRING" in lines[0]
    assert f"bundle {store}: not a folder and not a zip file" in lines[1]
    assert "path '../escape.json' escapes the bundle" in lines[2]


def test_poller_follows_the_store_and_reports_an_outage_once(store, model_versions, caplog):
    slot = make_slot(store, reload=ReloadSettings(60.0))
    sources = start_updates(slot, None)
    try:
        poller = next(source for source in sources if isinstance(source, StorePoller))
        caplog.set_level(logging.INFO, logger="flink_ml_udf.reload")
        poller.poll_once()  # nothing new
        assert slot.stats.reloads == 0
        v2 = publish(model_versions.v2, store)
        poller.poll_once()
        assert (slot.current.version, slot.stats.reloads) == (v2, 1)
        os.remove(store)  # the store "goes away"
        for _ in range(3):
            poller.poll_once()
        assert (slot.current.version, slot.stats.reload_failures) == (v2, 1)
        publish(model_versions.v1, store)  # back, at v1 again: a rollback
        poller.poll_once()
        assert (slot.current.version, slot.stats.reloads) == (content_hash(model_versions.v1), 2)
    finally:
        for source in sources:
            source.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["UDF 'Fraud'"] * 3
    assert f"now serving {store} @ {v2}" in messages[0]
    assert messages[1] == (
        f"UDF 'Fraud': reload rejected version (current): UDF 'Fraud' → bundle {store}: cannot ask the store for the "
        f"current version: bundle {store}: not found (no such file or folder); keeping {store} @ {v2}"
    )


def test_control_records_name_their_udf_and_variant():
    update = parse_update(b'{"udf_name": "fraud", "bundle_path": "b.zip", "variant": "challenger"}', "r")
    assert update.is_for("Fraud", "challenger") and not update.is_for("Fraud", None)
    assert not update.is_for("Fraud", "champion") and not update.is_for("Churn", "challenger")
    assert parse_update(update.to_json(), "r") == update


def test_control_records_are_parsed_strictly():
    assert parse_update(b'{"udf_name": "Fraud", "bundle_path": "s3://m/f.zip", "version": 7}', "r") == ModelUpdate(
        "Fraud", "s3://m/f.zip", "7"
    )
    cases = {
        b"not json": "r: not a JSON object (Expecting value: line 1 column 1 (char 0))",
        b"[1]": "r: expected a JSON object, found list",
        b'{"udf_name": "F"}': "r: key 'bundle_path' must be a non-empty string",
        b'{"udf_name": "F", "bundle_path": "x", "extra": 1}': "r: unknown keys ['extra'] (allowed: udf_name, bundle_path, version, variant)",
        b'{"udf_name": "F", "bundle_path": "x", "variant": ""}': "r: key 'variant' must be a non-empty string",
        b'{"udf_name": "F", "bundle_path": "x", "version": true}': "r: key 'version' must be a string",
    }
    for value, message in cases.items():
        with pytest.raises(Exception) as info:
            parse_update(value, "r")
        assert str(info.value) == message


def test_the_old_model_is_released_after_the_swap(store, model_versions):
    import gc
    import weakref

    slot = make_slot(store)
    old = weakref.ref(slot.load().scorer.model)
    assert slot.propose(store, publish(model_versions.v2, store))
    gc.collect()
    assert old() is None  # nothing kept the first model alive


def test_a_reload_that_outlives_its_time_bound_is_stopped_and_rejected(store, model_versions):
    from flink_ml_udf.flink.load_process import load_in_child

    slot = make_slot(store)
    slot.load()
    slot.loader = lambda entry, uri, version: load_in_child(entry, uri, version, timeout_s=0.01)
    version = publish(model_versions.v2, store)
    assert not slot.propose(store, version)
    assert slot.stats.last_failure == f"UDF 'Fraud' → bundle {store}: not loaded within 0.01 s (the load was stopped)"


def compiled_kernels(root) -> list:
    """The numba dispatchers a model holds (instance attributes, containers and closures; not
    module globals), found by walking it."""
    import types

    from numba.core.dispatcher import Dispatcher

    found, seen, stack = [], {}, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray, type, types.ModuleType)):
            continue
        seen[id(obj)] = obj  # kept alive, so that no later object reuses its id
        if isinstance(obj, Dispatcher):
            found.append(obj)
        elif isinstance(obj, (dict, types.MappingProxyType)):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, types.FunctionType):
            stack.extend(cell.cell_contents for cell in obj.__closure__ or ())
        elif isinstance(obj, types.MethodType):
            stack.append(obj.__self__)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
            stack.append(type(obj).__dict__)  # class-level kernels (ForestSum.kernels)
    return found


@pytest.mark.parametrize("bundle", ["models/example-1.zip", "tests/data/spark/airbnb.model.rf.zip"])
def test_a_model_loaded_in_the_update_child_arrives_with_its_kernels_compiled(bundle):
    """A numba dispatcher pickled in the loader child comes back in the worker as a new,
    uncompiled one unless the model re-resolves it: its first batch then compiled on the scoring
    path (a ~1 s stall after every hot reload). Every kernel the model holds must be the module's
    own dispatcher, already compiled."""
    import sys

    from flink_ml_udf.flink.load_process import load_in_child

    path = os.path.join(REPO, bundle)
    model = load_in_child(UdfEntry("Fraud", path), path, None).model
    kernels = {kernel.py_func.__name__: kernel for kernel in compiled_kernels(model)}
    assert {"_perfect_sum", "_nodes_sum"} <= set(kernels)  # the forest's walks are among them
    for kernel in kernels.values():
        assert getattr(sys.modules[kernel.py_func.__module__], kernel.py_func.__name__) is kernel
    assert kernels["_perfect_sum"].signatures  # the layout these forests walk, compiled before any batch
