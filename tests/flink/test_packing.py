"""Scalar SQL arguments packed into a bundle's only tensor input (``inputs_mode: scalars``, the default
for a tensor of known size), without a JVM: signatures, packing order, NULLs, experiments, and the
errors that name the tensor and its size."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry, load_config
from flink_ml_udf.errors import ConfigError, ScoringError
from flink_ml_udf.flink.router import Router, assign, key_hashes, serving_plan
from flink_ml_udf.flink.scoring import BatchScorer
from flink_ml_udf.flink.signature import compatible_signature, derive_signature
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.flink.sql_script import _explain_call
from tests.conftest import REPO
from tests.flink_mleap import fit_forest, runtime_predictions, write_forest_bundle, write_linear_bundle
from tests.mleap.model_bundles import float32_exact


def scorer_for(entry: UdfEntry) -> BatchScorer:
    model = load_entry_model(entry).model
    return BatchScorer(entry.udf_name, model, derive_signature(entry, model), entry.on_error)


def test_their_bundle_takes_one_double_and_scores_as_the_runtime_and_sklearn(tmp_path):
    forest = fit_forest(2, seed=2)
    bundle = write_forest_bundle(str(tmp_path / "mleap-example-2"), forest)
    scorer = scorer_for(UdfEntry("Predictv2", bundle))
    assert scorer.signature.describe("Predictv2") == "Predictv2(x[0] DOUBLE) -> DOUBLE"
    x = float32_exact(np.random.default_rng(4).uniform(0, 12, 500))
    outcome = scorer([pd.Series(x)])
    np.testing.assert_array_equal(outcome.result.to_numpy(), runtime_predictions(bundle, x))
    np.testing.assert_allclose(outcome.result.to_numpy(), forest.predict(x.reshape(-1, 1)), rtol=1e-12)
    assert outcome.rejected == 0


def test_arguments_fill_the_tensor_in_order(tmp_path):
    bundle = write_linear_bundle(str(tmp_path / "lin"), [1.0, 10.0, 100.0])
    scorer = scorer_for(UdfEntry("Lin", bundle))
    assert scorer.signature.describe("Lin") == "Lin(x[0] DOUBLE, x[1] DOUBLE, x[2] DOUBLE) -> DOUBLE"
    a, b, c = pd.Series([1.0, 2.0]), pd.Series([3.0, 4.0]), pd.Series([5, 6], dtype=np.int32)  # an INT column too
    np.testing.assert_array_equal(scorer([a, b, c]).result.to_numpy(), [1 + 30 + 500 + 0.5, 2 + 40 + 600 + 0.5])
    array = scorer_for(UdfEntry("Lin", bundle, inputs_mode="array"))
    assert array.signature.describe("Lin") == "Lin(x ARRAY<DOUBLE>) -> DOUBLE"
    rows = pd.Series([np.array([1.0, 3.0, 5.0]), np.array([2.0, 4.0, 6.0])], dtype=object)
    np.testing.assert_array_equal(array([rows]).result.to_numpy(), [531.5, 642.5])


def test_a_null_argument_is_a_null_tensor(tmp_path):
    bundle = write_linear_bundle(str(tmp_path / "lin"), [1.0, 10.0])
    a, b = pd.Series([1.0, 2.0, 3.0]), pd.Series([1.0, np.nan, 3.0])  # the bridge's NULL DOUBLE
    with pytest.raises(ScoringError) as info:
        scorer_for(UdfEntry("Lin", bundle))([a, b])
    assert (
        str(info.value)
        == f"UDF 'Lin' → bundle {bundle} → node lr (linear_regression): input column 'x' is null (row 1)"
    )
    outcome = scorer_for(UdfEntry("Lin", bundle, on_error="null"))([a, b])
    np.testing.assert_array_equal(outcome.result.to_numpy()[[0, 2]], [11.5, 33.5])
    assert np.isnan(outcome.result.to_numpy()[1]) and outcome.rejected == 1


def test_scalars_need_a_single_tensor_of_known_size():
    bundle = f"{REPO}/models/example-1.zip"
    entry = UdfEntry("Predict", bundle, inputs_mode="scalars")
    with pytest.raises(ConfigError) as info:
        derive_signature(entry, load_entry_model(entry).model)
    assert str(info.value) == (
        f"UDF 'Predict' → bundle {bundle} → key 'inputs_mode': 'scalars' packs the SQL arguments into the bundle's "
        "only input, which must be a numeric tensor of known size; the bundle's inputs are feature1 double, "
        "feature2 double, feature3 double"
    )
    default = UdfEntry("Predict", bundle)  # the default leaves other bundles as they are
    assert derive_signature(default, load_entry_model(default).model).describe("Predict") == (
        "Predict(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE"
    )


def test_a_reload_to_another_tensor_size_is_incompatible(tmp_path):
    registered_entry = UdfEntry("Lin", write_linear_bundle(str(tmp_path / "three"), [1.0, 2.0, 3.0]))
    registered = derive_signature(registered_entry, load_entry_model(registered_entry).model)
    smaller = write_linear_bundle(str(tmp_path / "two"), [1.0, 2.0])
    with pytest.raises(ConfigError) as info:
        compatible_signature(
            registered_entry, load_entry_model(UdfEntry("Lin", smaller)).model, registered, "bundle two"
        )
    assert str(info.value) == (
        "UDF 'Lin' → bundle two: incompatible with the registered function: registered "
        "Lin(x[0] DOUBLE, x[1] DOUBLE, x[2] DOUBLE) -> DOUBLE, this bundle gives Lin(x[0] DOUBLE, x[1] DOUBLE) -> DOUBLE"
    )


def test_variants_of_an_experiment_pack_their_arguments_too(tmp_path):
    champion = write_linear_bundle(str(tmp_path / "champion"), [1.0, 10.0, 100.0])
    challenger = write_linear_bundle(str(tmp_path / "challenger"), [2.0, 20.0, 200.0])
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent(f"""
        mleap:
          udf_registry:
            - udf_name: Lin
              split_key: customer
              variants:
                - {{name: champion, bundle_path: {champion}, weight: 50}}
                - {{name: challenger, bundle_path: {challenger}, weight: 50}}
              outputs: [y, model_variant]
    """))  # fmt: skip
    plan = serving_plan(load_config(str(path)).entry("Lin"))
    assert plan.signature.describe("Lin") == (
        "Lin(customer STRING, x[0] DOUBLE, x[1] DOUBLE, x[2] DOUBLE) -> ROW<y DOUBLE, model_variant STRING>"
    )
    assert plan.signature.explain_arguments() == (
        "takes 4 arguments: the split key customer STRING, 3 DOUBLE values packed in order into the bundle's "
        "tensor input 'x' of size 3"
    )
    slots = [ModelSlot(arm.variant.entry, arm.signature) for arm in plan.arms]
    for slot, arm in zip(slots, plan.arms):
        slot.load(None, arm.version)
    keys = pd.Series([f"c{i}" for i in range(200)])
    a, b, c = (pd.Series(np.arange(200, dtype=float) + k) for k in (0, 1, 2))
    result, _ = Router(plan, slots, None).score([keys, a, b, c])
    variant = assign(*key_hashes(keys), [50, 50])
    base = a + 10 * b + 100 * c
    np.testing.assert_array_equal(result.y, np.where(variant == 0, base + 0.5, 2 * base + 0.5))
    assert list(result.model_variant) == list(np.array(["champion", "challenger"])[variant])


def test_the_planners_no_match_gets_what_the_udf_takes(tmp_path):
    entry = UdfEntry("Predictv2", write_forest_bundle(str(tmp_path / "b"), fit_forest(1, seed=1)))
    signature = derive_signature(entry, load_entry_model(entry).model)
    flink = (
        "org.apache.flink.table.api.ValidationException: SQL validation failed. From line 1, column 8 to line 1, "
        "column 46: No match found for function signature Predictv2(<NUMERIC>, <NUMERIC>, <NUMERIC>)."
    )
    assert _explain_call(flink, {"Predictv2": signature}) == (
        f"{flink} | UDF 'Predictv2' takes 1 argument: 1 DOUBLE value packed in order into the bundle's tensor input "
        "'x' of size 1; the call passes 3"
    )
    assert _explain_call(flink, {"Other": signature}) == flink  # not one of ours: Flink's message as it is
