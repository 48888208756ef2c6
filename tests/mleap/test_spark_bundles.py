"""Parity with the JVM: real MLeap bundles from combust/mleap, scored against the values MLeap's own
JVM tests assert. Provenance of every file and number: tests/data/spark/SOURCES.md."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.leapframe import frame_from_json

DATA = Path(__file__).resolve().parent.parent / "data" / "spark"

# combust/mleap @ 88de54dd, mleap-executor-testkit/.../executor/testkit/TransformServiceSpec.scala,
# lines 228 and 359: `assert(row._1.get.get.getDouble(21) == 218.2767196535019)` for
# airbnb.model.rf.zip on frame.airbnb.json (column 21 is price_prediction).
AIRBNB_RF_PRICE = 218.2767196535019
# combust/mleap @ 88de54dd, mleap-spring-boot/.../springboot/ScoringBase.scala, lines 209, 226, 245,
# 307: `assert(data(0).getDouble(5) == -67.78953193834998)` for demo.zip on TestUtil.validFrame
# (demo:a = 44.5, demo:c = 22.1, demo:d = 98.2).
DEMO_PREDICTION = -67.78953193834998
# combust/mleap-demo @ 1d12bd7b, notebooks/airbnb-price-regression.ipynb prints
# "Price LR: 232.62463916675608" for this frame, but for a model of its own training run (its RF
# printed 219.09900439790786, not 218.2767196535019), so it only bounds this bundle loosely.
AIRBNB_LR_NOTEBOOK_PRICE = 232.62463916675608


def airbnb_frame() -> Frame:
    return frame_from_json(json.loads((DATA / "frame.airbnb.json").read_text()))


def bundle_model_json(bundle: str, node: str) -> Dict[str, Any]:
    with zipfile.ZipFile(DATA / bundle) as archive:
        return json.loads(archive.read(f"root/{node}/model.json"))["attributes"]


def assert_within_one_ulp(actual: float, expected: float) -> None:
    np.testing.assert_array_max_ulp(np.float64(actual), np.float64(expected), maxulp=1)


def test_airbnb_random_forest_matches_the_jvm() -> None:
    model = load_bundle(str(DATA / "airbnb.model.rf.zip"))
    frame = model.transform(airbnb_frame())
    assert frame.names.index("price_prediction") == 21  # the JVM test reads getDouble(21)
    price = frame.get("price_prediction", "test")[0]
    # MLeap averages the trees with a left-to-right sum (Scala `.sum`); numpy's pairwise
    # `sum(axis=1)` lands 2 ulp away (218.27671965350197) on this very row.
    assert_within_one_ulp(price, AIRBNB_RF_PRICE)


def test_demo_bundle_matches_the_jvm() -> None:
    model = load_bundle(str(DATA / "demo.zip"))
    frame = model.transform_columns({"demo:a": [44.5], "demo:c": [22.1], "demo:d": [98.2]})
    assert_within_one_ulp(frame.get("demo:prediction", "test")[0], DEMO_PREDICTION)


def airbnb_lr_jvm_recipe() -> float:
    """The JVM's arithmetic for this row, rebuilt from the bundle's attributes (models.md §6.2, §8.1;
    features.md standard_scaler, one_hot_encoder, vector_assembler)."""
    std = bundle_model_json("airbnb.model.lr.zip", "feature_pipeline.node/continuous_feature_scaler.node")["std"][
        "double"
    ]
    lr = bundle_model_json("airbnb.model.lr.zip", "linear_regression.node")
    coefficients, intercept = lr["coefficients"]["double"], lr["intercept"]["double"]
    # bathrooms, bedrooms, security_deposit, cleaning_fee, extra_people, number_of_reviews,
    # square_feet, review_scores_rating (the continuous assembler's port order), times 1/std.
    continuous = [2.0, 3.0, 50.0, 30.0, 2.0, 56.0, 1250.0, 90.0]
    scaled = [v * (1.0 / s) for v, s in zip(continuous, std)]
    # room_type "Entire home/apt" = index 0 of 2 -> [1, 0]; host_is_superhost "1.0" = index 1 of a
    # size-1 drop_last encoder -> [0]; cancellation_policy "strict" = 0 of 6 -> [1, 0, 0, 0, 0, 0];
    # instant_bookable "1.0" -> [0]; state "NY" = 1 of 9 -> [0, 1, 0, ...]; then the 8 scaled values.
    features = [1.0, 0.0] + [0.0] + [1.0, 0, 0, 0, 0, 0] + [0.0] + [0, 1.0, 0, 0, 0, 0, 0, 0, 0] + scaled
    assert len(features) == len(coefficients) == 27
    # vector_assembler compresses: 11 non-zeros of 27 (1.5 * 12 < 27) is a sparse vector, so the
    # JVM's dot is Spark's sparse loop: a plain multiply and add over the non-zeros, in order.
    total = 0.0
    for value, coefficient in zip(features, coefficients):
        if value != 0.0:
            total += value * coefficient
    return total + intercept


@pytest.mark.parametrize("jvm_dot", [False, True])
def test_airbnb_linear_regression_follows_the_jvm_recipe(jvm_dot: bool) -> None:
    model = load_bundle(str(DATA / "airbnb.model.lr.zip"), numerics="jvm" if jvm_dot else "fast")
    frame = model.transform(airbnb_frame())
    price = frame.get("price_prediction", "test")[0]
    expected = airbnb_lr_jvm_recipe()
    assert expected == 232.62463916840318
    assert_within_one_ulp(price, expected)
    if jvm_dot:
        assert price == expected
    # A different training run of the same pipeline (see AIRBNB_LR_NOTEBOOK_PRICE): agreement to
    # 1e-11 relative shows every feature (indices, one-hot slots, scaling) is wired as in the JVM.
    assert price == pytest.approx(AIRBNB_LR_NOTEBOOK_PRICE, rel=1e-11)


def test_airbnb_pipelines_score_a_batch_like_single_rows() -> None:
    document = json.loads((DATA / "frame.airbnb.json").read_text())
    row = document["rows"][0]
    document["rows"] = [row, [*row[:9], "Private room", "0.0", "flexible", "0.0"], row]
    rf = load_bundle(str(DATA / "airbnb.model.rf.zip")).transform(frame_from_json(document))
    prices = rf.get("price_prediction", "test")
    assert prices[0] == prices[2]
    assert prices[1] != prices[0]
    assert_within_one_ulp(prices[0], AIRBNB_RF_PRICE)
