"""Experiments without a JVM: routing by key hash (stable, proportional, reproducible in Spark SQL),
weights that move only the keys they must, the shadow's sample, values per variant, shadow
comparison counts, and every experiment config error with its exact message."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.config import load_config
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.flink.router import BUCKETS, Router, assign, key_hashes, sampled, serving_plan
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.loaders.file import content_hash
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.murmur3 import hash_bytes

KEYS = pd.Series([f"customer-{i}" for i in range(10_000)])


def write(tmp_path, text: str) -> str:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_bucket_is_sparks_hash_of_the_key_string():
    """pmod(hash(CAST(key AS STRING)), 10000) in Spark SQL: Murmur3 x86_32, seed 42, Spark's string variant."""
    keys = pd.Series(["a", "customer-17", "ünïcödé", "", "0123456789abcdef"])
    hashes, nulls = key_hashes(keys)
    assert not nulls.any()
    assert list(hashes) == [hash_bytes(k.encode(), version=1, seed=42) for k in keys]
    numbers = pd.Series([0, 42, -7, 2**40], dtype="int64")
    assert list(key_hashes(numbers)[0]) == list(key_hashes(numbers.astype(str))[0])  # BIGINT: its decimal digits


def test_split_is_proportional_stable_and_moves_only_what_must_move():
    hashes, nulls = key_hashes(KEYS)
    before = assign(hashes, nulls, [90, 10])
    share = (before == 1).mean()
    assert abs(share - 0.10) <= 0.02
    assert np.array_equal(assign(*key_hashes(KEYS.sample(frac=1, random_state=3).sort_index()), [90, 10]), before)
    assert np.array_equal(assign(hashes, nulls, [9, 1]), before)  # same proportions: nothing moves
    after = assign(hashes, nulls, [80, 20])
    moved = before != after
    buckets = np.mod(hashes, BUCKETS)
    assert np.array_equal(moved, (buckets >= 8000) & (buckets < 9000))  # exactly the shifted boundary
    assert set(before[moved]) == {0} and set(after[moved]) == {1}
    with_nulls = pd.Series(["x", None, "y"])
    assert assign(*key_hashes(with_nulls), [1, 99])[1] == 0  # a NULL key: the first variant


def test_shadow_sample_is_a_fraction_of_keys_independent_of_the_variant():
    hashes, nulls = key_hashes(KEYS)
    chosen = sampled(hashes, nulls, 0.25)
    assert abs(chosen.mean() - 0.25) <= 0.02
    variant = assign(hashes, nulls, [90, 10])
    assert abs(chosen[variant == 1].mean() - 0.25) <= 0.05  # the challenger's keys are sampled alike
    assert sampled(hashes, nulls, 1.0).all()


@pytest.fixture
def experiment(tmp_path, model_versions):
    return write(tmp_path, f"""
        mleap:
          udf_registry:
            - udf_name: Fraud
              split_key: customer_id
              variants:
                - {{name: champion, bundle_path: {model_versions.v1}, weight: 90}}
                - {{name: challenger, bundle_path: {model_versions.v2}, weight: 10}}
              shadow: {{name: candidate, bundle_path: {model_versions.v2}, sample: 0.5}}
              outputs: [prediction, model_variant, model_version, shadow_prediction]
    """)  # fmt: skip


def router_for(path: str) -> Router:
    plan = serving_plan(load_config(path).entry("Fraud"))
    slots = [ModelSlot(arm.variant.entry, arm.signature) for arm in plan.arms]
    for slot, arm in zip(slots, plan.arms):
        slot.load(None, arm.version)
    shadow = ModelSlot(plan.shadow.variant.entry, plan.shadow.signature)
    shadow.load()
    return Router(plan, slots, shadow)


def test_each_row_is_scored_by_its_variant_and_shadowed_by_sample(experiment, model_versions):
    router = router_for(experiment)
    assert router.plan.signature.describe("Fraud") == (
        "Fraud(customer_id STRING, feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> "
        "ROW<prediction DOUBLE, model_variant STRING, model_version STRING, shadow_prediction DOUBLE>"
    )
    rng = np.random.default_rng(5)
    n = 2000
    features = {"feature1": rng.uniform(0, 100, n), "feature2": rng.integers(0, 11, n).astype(float),
                "feature3": rng.uniform(-1, 1, n)}  # fmt: skip
    keys = pd.Series([f"k{i}" for i in range(n)])
    result, batches = router.score([keys] + [pd.Series(v) for v in features.values()])
    hashes, nulls = key_hashes(keys)
    variant = assign(hashes, nulls, [90, 10])
    expected = {name: load_bundle(path).transform_columns(features).get("prediction", "t")
                for name, path in (("champion", model_versions.v1), ("challenger", model_versions.v2))}  # fmt: skip
    names = np.array(["champion", "challenger"])[variant]
    assert list(result.model_variant) == list(names)
    np.testing.assert_array_equal(
        result.prediction, np.where(variant == 0, expected["champion"], expected["challenger"])
    )
    assert set(result.model_version[variant == 0]) == {content_hash(model_versions.v1)}
    shadowed = sampled(hashes, nulls, 0.5)
    np.testing.assert_array_equal(result.shadow_prediction[shadowed], expected["challenger"][shadowed])
    assert result.shadow_prediction[~shadowed].isna().all()
    assert [(b.index, b.rows) for b in batches] == [(0, int((variant == 0).sum())), (1, int((variant == 1).sum()))]
    stats = router.shadow_stats
    main = result.prediction.to_numpy()[shadowed]
    assert (stats.rows, stats.compared, stats.failures) == (int(shadowed.sum()), int(shadowed.sum()), 0)
    assert stats.abs_diff_sum == pytest.approx(np.abs(main - expected["challenger"][shadowed]).sum(), rel=1e-12)
    assert stats.disagreements == 0  # regression: compared by distance


def test_a_failing_shadow_changes_nothing_returned_and_is_counted(experiment, model_versions, caplog):
    router = router_for(experiment)
    router.shadow._current = None  # as if its bundle could not be loaded on this worker
    n = 300
    args = [pd.Series([f"k{i}" for i in range(n)]), pd.Series(np.full(n, 50.0)), pd.Series(np.full(n, 5.0)),
            pd.Series(np.zeros(n))]  # fmt: skip
    result, _ = router.score(args)
    hashes, nulls = key_hashes(args[0])
    shadowed = int(sampled(hashes, nulls, 0.5).sum())
    assert router.shadow_stats.failures == shadowed and router.shadow_stats.rows == shadowed
    assert result.shadow_prediction.isna().all()
    assert result.prediction.notna().all()
    assert (
        caplog.text.count(
            "UDF 'Fraud' → shadow 'candidate': scoring failed (counted in shadow_failures, logged once): "
        )
        == 1
    )
    router.score(args)
    assert caplog.text.count("shadow 'candidate': scoring failed") == 1 and router.shadow_stats.failures == 2 * shadowed


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            """
         split_key: k
         variants: [{name: a, bundle_path: V1, weight: 0}, {name: b, bundle_path: V2, weight: 1.5}]""",
            [
                "variants[0] (a) → key 'weight': expected a positive whole number, found 0",
                "variants[1] (b) → key 'weight': expected a positive whole number, found 1.5",
            ],
        ),
        (
            """
         split_key: k
         variants: [{name: a, weight: 1}, {name: b, bundle_path: V2, weight: 1}]""",
            ["variants[0] (a) → key 'bundle_path': required key is missing"],
        ),
        (
            """
         split_key: k
         variants: [{name: a, bundle_path: V1, weight: 1}, {name: a, bundle_path: V2, weight: 1}]""",
            ["key 'variants': duplicate variant names 'a'"],
        ),
        (
            """
         split_key: k
         bundle_path: V1""",
            ["key 'split_key': routes rows to variants, but the entry has no 'variants'"],
        ),
        (
            """
         bundle_path: V1
         shadow: {name: s, bundle_path: V2, sample: 1.5}""",
            ["shadow (s) → key 'sample': expected a fraction in (0, 1], found 1.5"],
        ),
        (
            """
         bundle_path: V1
         shadow: {name: s, bundle_path: V2, sample: 0.5}""",
            ["shadow → key 'sample': sampling keys needs a 'split_key'"],
        ),
        (
            """
         variants: [{name: a, bundle_path: V1, weight: 1}, {name: b, bundle_path: V2, weight: 1}]""",
            ["key 'split_key': required with variants (the SQL argument that routes a row)"],
        ),
    ],
)
def test_experiment_config_errors(tmp_path, model_versions, entry, message):
    text = "mleap:\n  udf_registry:\n    - udf_name: Fraud" + textwrap.indent(textwrap.dedent(entry), "      ")
    path = write(tmp_path, text.replace("V1", model_versions.v1).replace("V2", model_versions.v2))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [f"{path} → mleap.udf_registry[0] (Fraud) → {line}" for line in message]


def test_variants_must_share_one_signature_named_at_registration(tmp_path, model_versions):
    path = write(tmp_path, f"""
        mleap:
          udf_registry:
            - udf_name: Fraud
              split_key: customer_id
              variants:
                - {{name: champion, bundle_path: {model_versions.v1}, weight: 1}}
                - {{name: odd, bundle_path: {model_versions.incompatible}, weight: 1}}
    """)  # fmt: skip
    with pytest.raises(ConfigError) as info:
        serving_plan(load_config(path).entry("Fraud"))
    assert str(info.value) == (
        f"UDF 'Fraud' → variant 'odd' → bundle {model_versions.incompatible}: gives Fraud(feature1 DOUBLE) -> DOUBLE, "
        "but variant 'champion' gives Fraud(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE; every "
        "variant and the shadow must have the same arguments and result"
    )


def test_compare_scores_every_model_on_the_same_rows(experiment, model_versions, tmp_path):
    import io
    import json

    from flink_ml_udf.cli import main as cli

    rng = np.random.default_rng(11)
    features = {"feature1": rng.uniform(0, 100, 50), "feature2": rng.integers(0, 11, 50).astype(float),
                "feature3": rng.uniform(-1, 1, 50)}  # fmt: skip
    double = {"type": "basic", "base": "double", "isNullable": True}
    frame = {"schema": {"fields": [{"name": name, "type": double} for name in features]},
             "rows": [[features[name][i] for name in features] for i in range(50)]}  # fmt: skip
    (tmp_path / "rows.json").write_text(json.dumps(frame))
    out = io.StringIO()
    assert (
        cli(["compare", "--config", experiment, "--udf", "Fraud", "--frame", str(tmp_path / "rows.json")], out=out) == 0
    )
    champion = load_bundle(model_versions.v1).transform_columns(features).get("prediction", "t")
    challenger = load_bundle(model_versions.v2).transform_columns(features).get("prediction", "t")
    diff = np.abs(challenger - champion)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Fraud: every model on the same rows, differences from champion"
    assert lines[1].split() == ["variant", "role", "version", "rows", "mean", "|diff|", "max", "|diff|", "disagreement"]
    v1, v2 = content_hash(model_versions.v1), content_hash(model_versions.v2)
    assert lines[2].split() == ["champion", "variant", v1, "50", "0", "0", "0.00%"]
    assert lines[3].split() == ["challenger", "variant", v2, "50", f"{diff.mean():.6g}", f"{diff.max():.6g}", "0.00%"]
    assert lines[4].split() == ["candidate", "shadow", v2, "50", f"{diff.mean():.6g}", f"{diff.max():.6g}", "0.00%"]


def test_promote_names_the_variant_of_an_experiment(experiment):
    from flink_ml_udf.errors import FlinkMlUdfError
    from flink_ml_udf.flink.promote import promote

    config = load_config(experiment)
    with pytest.raises(FlinkMlUdfError) as info:
        promote(config, "Fraud", "x.zip")
    assert (
        str(info.value)
        == "UDF 'Fraud': is an experiment; name the variant to promote (--variant champion, challenger, candidate)"
    )
    with pytest.raises(FlinkMlUdfError) as info:
        promote(config, "Fraud", "x.zip", variant="nope")
    assert str(info.value) == "UDF 'Fraud': has no variant 'nope' (variants: champion, challenger, candidate)"
    with pytest.raises(FlinkMlUdfError) as info:
        promote(config, "Fraud", "x.zip", variant="challenger")
    assert str(info.value) == (
        "UDF 'Fraud' → variant 'challenger': has no control topic (add control: {topic, bootstrap_servers} to its entry)"
    )


def test_an_experiment_keeps_its_result_type_override(tmp_path, model_versions):
    """``result_type: INT`` on a routed experiment: the rows gathered from both variants come back as
    the declared INT (Int32), not as the bundle column's DOUBLE."""
    path = write(tmp_path, f"""
        mleap:
          udf_registry:
            - udf_name: Fraud
              split_key: customer_id
              result_type: INT
              variants:
                - {{name: champion, bundle_path: {model_versions.v1}, weight: 50}}
                - {{name: challenger, bundle_path: {model_versions.v2}, weight: 50}}
              shadow: {{name: candidate, bundle_path: {model_versions.v2}, sample: 0.5}}
    """)  # fmt: skip
    router = router_for(path)
    assert router.plan.signature.describe("Fraud").endswith(" -> INT")
    n = 40
    features = {"feature1": np.linspace(0, 100, n), "feature2": np.full(n, 5.0), "feature3": np.zeros(n)}
    keys = pd.Series([f"k{i}" for i in range(n)])
    result, _ = router.score([keys] + [pd.Series(v) for v in features.values()])
    variant = assign(*key_hashes(keys), [50, 50])
    assert 0 < variant.sum() < n  # both variants scored some rows
    expected = {path: load_bundle(path).transform_columns(features).get("prediction", "t")
                for path in (model_versions.v1, model_versions.v2)}  # fmt: skip
    assert str(result.dtype) == "Int32"
    assert (
        result.tolist()
        == np.round(np.where(variant == 0, expected[model_versions.v1], expected[model_versions.v2]))
        .astype(int)
        .tolist()
    )
