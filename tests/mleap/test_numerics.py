"""``numerics``: each model's ops keep the dot-product kernels chosen when it was loaded.

Two models of one bundle, one ``fast`` and one ``jvm``, score side by side with their own bits; the
choice survives pickling (a model loaded in a child process comes back as it was loaded) and comes
from a UDF entry's ``numerics`` key. The JVM references are scalar re-statements of netlib's
``ddot`` / Spark's sparse loop (tests/mleap/test_model_ops_jvm_order.py).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from flink_ml_udf import config
from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import BundleError
from flink_ml_udf.mleap import describe, load_bundle
from flink_ml_udf.mleap.kernels import rows_times
from flink_ml_udf.mleap.numerics import FAST, JVM, NUMERICS
from tests import bundle_writer as bw
from tests.mleap.model_bundles import model_node, score
from tests.mleap.test_model_ops_jvm_order import awkward_rows, ref_ddot, ref_sdot

WIDTH = 11


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """A linear regression whose weights span many magnitudes, and rows where the order of the sum shows."""
    rng = np.random.default_rng(21)
    w = rng.normal(0, 1, WIDTH) * 10.0 ** rng.integers(-5, 6, WIDTH)
    node = model_node("linear_regression", {"coefficients": bw.tensor(w), "intercept": bw.double(0.25)})
    path = bw.write_bundle(tmp_path_factory.mktemp("numerics") / "b", node)
    x = awkward_rows(rng, 300, WIDTH, sparse_rows=60)
    jvm = np.array([(ref_sdot(row, w) if i < 60 else ref_ddot(row, w)) + 0.25 for i, row in enumerate(x)])
    return path, w, x, jvm


def test_two_models_of_one_bundle_keep_their_own_numerics(linear):
    path, w, x, expected_jvm = linear
    fast, jvm = load_bundle(path), load_bundle(path, numerics="jvm")
    assert (fast.numerics, jvm.numerics) == ("fast", "jvm")
    for _ in range(2):  # interleaved: nothing one model does changes the other
        np.testing.assert_array_equal(score(jvm, x)["prediction"], expected_jvm)
        np.testing.assert_array_equal(score(fast, x)["prediction"], rows_times(x, w) + 0.25)
    assert not np.array_equal(score(fast, x)["prediction"], expected_jvm)  # the choice does show in the bits
    assert describe(jvm)["numerics"] == "jvm" and describe(fast)["numerics"] == "fast"


def test_a_pickled_model_keeps_its_numerics(linear):
    path, _, x, expected_jvm = linear
    model = pickle.loads(pickle.dumps(load_bundle(path, numerics="jvm")))
    assert model.numerics == "jvm"
    assert [op.numerics for op in model.plan.ops if hasattr(op, "numerics")] == [JVM]
    np.testing.assert_array_equal(score(model, x)["prediction"], expected_jvm)
    assert pickle.loads(pickle.dumps(FAST)) is FAST and pickle.loads(pickle.dumps(JVM)) is JVM


def test_an_entry_loads_its_bundle_with_its_numerics(linear):
    path, _, x, expected_jvm = linear
    loaded = load_entry_model(UdfEntry("Predict", str(path), numerics="jvm"))
    assert loaded.model.numerics == "jvm"
    np.testing.assert_array_equal(score(loaded.model, x)["prediction"], expected_jvm)
    assert load_entry_model(UdfEntry("Predict", str(path))).model.numerics == "fast"


def test_an_unknown_numerics_is_refused_naming_the_bundle(linear):
    path = linear[0]
    with pytest.raises(BundleError) as info:
        load_bundle(path, numerics="exact")
    assert str(info.value) == f"bundle {path}: numerics 'exact' is not one of fast, jvm"


def test_config_offers_the_names_of_the_kernel_table():
    """config cannot import the runtime (it sits left of it), so it lists the names itself: the same ones."""
    assert config.NUMERICS == tuple(NUMERICS)
    assert UdfEntry("P", "p.zip").numerics == config.NUMERICS[0] == "fast"
