"""The per-batch path of every UDF, without a JVM: signatures, NULL policy, ROW results."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry, load_config
from flink_ml_udf.errors import ConfigError, ScoringError
from flink_ml_udf.flink.scoring import BatchScorer
from flink_ml_udf.flink.signature import derive_signature
from tests.conftest import EXAMPLE_CONFIG, REPO

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")


def scorer_for(entry: UdfEntry) -> BatchScorer:
    model = load_entry_model(entry).model
    return BatchScorer(entry.udf_name, model, derive_signature(entry, model), entry.on_error)


def features(rows=6, seed=3):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "feature1": rng.uniform(0, 100, rows),
            "feature2": rng.integers(0, 11, rows).astype(np.int32),
            "feature3": rng.uniform(-1, 1, rows),
        }
    )


def test_example_signatures():
    config = load_config(EXAMPLE_CONFIG)
    signatures = {e.udf_name: derive_signature(e, load_entry_model(e).model).describe(e.udf_name) for e in config.udfs}
    assert signatures == {
        "Predict": "Predict(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> DOUBLE",
        "Predictv2": "Predictv2(feature1 DOUBLE) -> DOUBLE",
        "PredictVersioned": "PredictVersioned(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> "
        "ROW<prediction DOUBLE, model_version STRING>",
    }


def test_scores_equal_the_runtime_transform():
    entry = UdfEntry("Predict", EXAMPLE_1)
    data = features(50)
    outcome = scorer_for(entry)([data.feature1, data.feature2, data.feature3])
    model = load_entry_model(entry).model
    direct = model.transform_columns({c: data[c].to_numpy(dtype=float) for c in data.columns}).get("prediction", "t")
    np.testing.assert_array_equal(outcome.result.to_numpy(), direct)
    assert outcome.rejected == 0


def test_null_feature_fails_the_batch_by_default():
    data = features()
    data.loc[2, "feature3"] = np.nan  # how the pandas bridge hands over a NULL DOUBLE
    with pytest.raises(ScoringError) as info:
        scorer_for(UdfEntry("Predict", EXAMPLE_1))([data.feature1, data.feature2, data.feature3])
    message = str(info.value)
    assert message.startswith(f"UDF 'Predict' → bundle {EXAMPLE_1} → node vector_assembler_")
    assert message.endswith("(vector_assembler): input column 'feature3' is null (row 2)")


def test_null_feature_with_on_error_null_gives_null_and_counts():
    data = features()
    data.loc[[1, 4], "feature1"] = np.nan
    outcome = scorer_for(UdfEntry("Predict", EXAMPLE_1, on_error="null"))([data.feature1, data.feature2, data.feature3])
    result = outcome.result.to_numpy()
    assert outcome.rejected == 2
    assert np.isnan(result[[1, 4]]).all()
    assert np.isfinite(result[[0, 2, 3, 5]]).all()


def test_row_result_with_several_outputs():
    entry = UdfEntry("Explain", EXAMPLE_1, outputs=("prediction", "features"))
    model = load_entry_model(entry).model
    signature = derive_signature(entry, model)
    assert signature.describe("Explain") == (
        "Explain(feature1 DOUBLE, feature2 DOUBLE, feature3 DOUBLE) -> ROW<prediction DOUBLE, features ARRAY<DOUBLE>>"
    )
    data = features(3)
    result = scorer_for(entry)([data.feature1, data.feature2, data.feature3]).result
    assert list(result.columns) == ["prediction", "features"]
    np.testing.assert_array_equal(np.stack(result.features.to_numpy()), data.to_numpy(dtype=float))


def test_inputs_reordered_by_config():
    entry = UdfEntry("Predict", EXAMPLE_1, inputs=("feature3", "feature1", "feature2"))
    data = features(5)
    reordered = scorer_for(entry)([data.feature3, data.feature1, data.feature2]).result
    plain = scorer_for(UdfEntry("Predict", EXAMPLE_1))([data.feature1, data.feature2, data.feature3]).result
    np.testing.assert_array_equal(reordered.to_numpy(), plain.to_numpy())


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            UdfEntry("P", EXAMPLE_1, inputs=("feature1", "feature9")),
            f"UDF 'P' → bundle {EXAMPLE_1} → key 'inputs': 'feature9' not among the bundle's input columns "
            "(feature1, feature2, feature3)",
        ),
        (
            UdfEntry("P", EXAMPLE_1, inputs=("feature1",)),
            f"UDF 'P' → bundle {EXAMPLE_1} → key 'inputs': the bundle also needs 'feature2', 'feature3'; "
            "list every input column in SQL argument order",
        ),
        (
            UdfEntry("P", EXAMPLE_1, outputs=("score",)),
            f"UDF 'P' → bundle {EXAMPLE_1} → key 'outputs': 'score' not among the bundle's output columns "
            "(features, standard_scaler_features, prediction) or the pseudo-outputs (model_version, model_uri)",
        ),
        (
            UdfEntry("P", EXAMPLE_1, result_type="DECIMAL"),
            f"UDF 'P' → bundle {EXAMPLE_1} → key 'result_type': 'DECIMAL' is not one of "
            "DOUBLE, FLOAT, INT, BIGINT, STRING, BOOLEAN",
        ),
    ],
)
def test_signature_errors(entry, message):
    with pytest.raises(ConfigError) as info:
        derive_signature(entry, load_entry_model(entry).model)
    assert str(info.value) == message


def test_missing_bundle_names_udf_and_path(tmp_path):
    with pytest.raises(Exception) as info:
        load_entry_model(UdfEntry("Predict", str(tmp_path / "gone.zip")))
    assert str(info.value) == f"UDF 'Predict' → bundle {tmp_path / 'gone.zip'}: not found (no such file or folder)"


def test_int_result_type_override():
    entry = UdfEntry("P", EXAMPLE_1, result_type="INT")
    data = features(4)
    result = scorer_for(entry)([data.feature1, data.feature2, data.feature3]).result
    plain = scorer_for(UdfEntry("P", EXAMPLE_1))([data.feature1, data.feature2, data.feature3]).result
    assert str(result.dtype) == "Int32"
    np.testing.assert_array_equal(result.to_numpy(dtype=float), np.round(plain.to_numpy()))


def test_registry_validation_reports_every_bad_entry(tmp_path):
    from flink_ml_udf.config import AppConfig
    from flink_ml_udf.flink.registry import validate

    config = AppConfig(
        path="conf/application.yaml",
        udfs=(
            UdfEntry("Good", EXAMPLE_1),
            UdfEntry("Gone", str(tmp_path / "gone.zip")),
            UdfEntry("Wrong", EXAMPLE_1, outputs=("nope",)),
        ),
    )
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert str(info.value).splitlines() == [
        "conf/application.yaml: 2 of 3 UDFs cannot be used:",
        f"UDF 'Gone' → bundle {tmp_path / 'gone.zip'}: not found (no such file or folder)",
        f"UDF 'Wrong' → bundle {EXAMPLE_1} → key 'outputs': 'nope' not among the bundle's output columns "
        "(features, standard_scaler_features, prediction) or the pseudo-outputs (model_version, model_uri)",
    ]


def categorical_bundle(tmp_path):
    """city (STRING) → string_indexer → one_hot_encoder → assembler(+ amount) → linear regression."""
    from tests import bundle_writer as bw

    nodes = [
        bw.Node(
            "idx",
            "string_indexer",
            {"labels": bw.string_list(["oslo", "rome", "lima"])},
            inputs=[("input", "city")],
            outputs=[("output", "city_index")],
        ),
        bw.Node(
            "ohe",
            "one_hot_encoder",
            {"size": bw.long(3), "drop_last": bw.boolean(False)},
            inputs=[("input", "city_index")],
            outputs=[("output", "city_vec")],
        ),
        bw.Node(
            "asm",
            "vector_assembler",
            {
                "input_shapes": {
                    "type": "list",
                    "data_shape": [
                        {
                            "base": "tensor",
                            "isNullable": False,
                            "tensorShape": {"dimensions": [{"size": 3, "name": ""}]},
                        },
                        {"base": "scalar", "isNullable": False},
                    ],
                }
            },
            inputs=[("input0", "city_vec"), ("input1", "amount")],
            outputs=[("output", "features")],
        ),
        bw.Node(
            "lr",
            "linear_regression",
            {"coefficients": bw.tensor([10.0, 20.0, 30.0, 0.5]), "intercept": bw.double(1.0)},
            inputs=[("features", "features")],
            outputs=[("prediction", "price")],
        ),
    ]
    return bw.write_bundle(tmp_path / "cat", bw.pipeline("p", nodes))


def test_string_argument_through_indexer_and_one_hot(tmp_path):
    path = categorical_bundle(tmp_path)
    entry = UdfEntry("Price", path, on_error="null")
    scorer = scorer_for(entry)
    assert scorer.signature.describe("Price") == "Price(city STRING, amount DOUBLE) -> DOUBLE"
    city = pd.Series(["rome", None, "lima", "paris", "oslo"], dtype=object)
    amount = pd.Series([2.0, 4.0, 6.0, 8.0, 10.0])
    outcome = scorer([city, amount])
    result = outcome.result.to_numpy()
    np.testing.assert_array_equal(result[[0, 2, 4]], [1 + 20 + 1.0, 1 + 30 + 3.0, 1 + 10 + 5.0])
    assert np.isnan(result[[1, 3]]).all()  # NULL city and unseen 'paris': the indexer's handle_invalid is error
    assert outcome.rejected == 2


def test_array_argument_for_a_vector_input(tmp_path):
    from tests import bundle_writer as bw

    node = bw.Node(
        "lr",
        "linear_regression",
        {"coefficients": bw.tensor([1.0, -1.0]), "intercept": bw.double(0.5)},
        inputs=[("features", "features")],
        outputs=[("prediction", "y")],
    )
    entry = UdfEntry("Vec", bw.write_bundle(tmp_path / "vec", node), on_error="null", inputs_mode="array")
    scorer = scorer_for(entry)
    assert scorer.signature.describe("Vec") == "Vec(features ARRAY<DOUBLE>) -> DOUBLE"
    arrays = pd.Series([np.array([3.0, 1.0]), None, np.array([0.0, 2.0])], dtype=object)
    result = scorer([arrays]).result.to_numpy()
    np.testing.assert_array_equal(result[[0, 2]], [2.5, -1.5])
    assert np.isnan(result[1])


def test_list_argument_and_list_result(tmp_path):
    """A bundle whose input is a token list (ARRAY<STRING>) and whose output is one too."""
    from flink_ml_udf.mleap.ops import Column, Op, register
    from flink_ml_udf.mleap.types import DataType
    from tests import bundle_writer as bw

    # A test-only op: keeps tokens longer than 2 characters (a list<string> -> list<string> op).
    @register("test_long_tokens")
    class LongTokens(Op):
        def __init__(self, spec):
            super().__init__(spec)
            self.inputs.append(Column(spec.input("input"), DataType("string", "list")))
            self.outputs.append(Column(spec.output("output"), DataType("string", "list")))

        def transform(self, frame):
            values = frame.get(self.inputs[0].name, self.who)
            frame.require_non_null(self.inputs[0].name, self.who)
            kept = np.empty(len(values), dtype=object)
            kept[:] = [[t for t in tokens if len(t) > 2] if tokens is not None else [] for tokens in values]
            frame.add(self.outputs[0].name, kept, self.outputs[0].dtype)

    try:
        node = bw.Node(
            "long", "test_long_tokens", {}, inputs=[("input", "tokens")], outputs=[("output", "long_tokens")]
        )
        entry = UdfEntry("LongTokens", bw.write_bundle(tmp_path / "tok", node), on_error="null")
        scorer = scorer_for(entry)
        assert scorer.signature.describe("LongTokens") == "LongTokens(tokens ARRAY<STRING>) -> ARRAY<STRING>"
        tokens = pd.Series([np.array(["a", "flink", "is", "fast"], dtype=object), None], dtype=object)
        outcome = scorer([tokens])
        assert outcome.result.tolist() == [["flink", "fast"], None]
        assert outcome.rejected == 1
    finally:
        from flink_ml_udf.mleap.ops import OPS

        OPS.pop("test_long_tokens")
