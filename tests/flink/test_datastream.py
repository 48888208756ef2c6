"""The DataStream API: the map function and the vectorized path, element conversion without a JVM,
then real jobs: values equal the runtime's, order kept within each partition, versions pinned or
reloaded through the same slots as the SQL UDF."""

from __future__ import annotations

import json
import os
import runpy
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from pyflink.common import Row, Types

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry, load_config
from flink_ml_udf.errors import ConfigError, ScoringError
from flink_ml_udf.flink.datastream import BundleMapFunction, element_arguments, result_element, score_stream
from flink_ml_udf.flink.signature import derive_signature
from flink_ml_udf.loaders.file import content_hash
from flink_ml_udf.mleap import load_bundle
from tests.conftest import REPO
from tests.flink_mleap import runtime_predictions, write_linear_bundle, write_their_example

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")


def linear_zip(folder: str, name: str, coefficients) -> str:
    return write_linear_bundle(os.path.join(folder, name), coefficients, zipped=True)


def signature_of(entry: UdfEntry):
    return derive_signature(entry, load_entry_model(entry).model)


# -- elements → arguments, without a JVM ------------------------------------------------------


def values_of(value, signature):
    return [series.tolist() for series in element_arguments(value, signature, "P")]


def test_every_element_shape_gives_the_same_arguments(tmp_path):
    packed = signature_of(UdfEntry("P", linear_zip(str(tmp_path), "lin", [1.0, 2.0, 3.0])))
    for element in ((1.0, 2, 3.0), [1.0, 2.0, 3.0], ([1.0, 2.0, 3.0],), Row(1.0, 2.0, 3.0), {"x": [1.0, 2.0, 3.0]},
                    {"x": np.array([1.0, 2.0, 3.0]), "id": 7}, Row(x=[1.0, 2.0, 3.0])):  # fmt: skip
        assert values_of(element, packed) == [[1.0], [2.0], [3.0]], element
    one = signature_of(UdfEntry("P", linear_zip(str(tmp_path), "one", [1.0])))
    for element in (0.25, (0.25,), {"x": 0.25}, {"x": [0.25]}, None):
        expected = [[0.25]] if element is not None else [[np.nan]]
        assert str(values_of(element, one)) == str(expected), element
    plain = BundleMapFunction.from_entry(UdfEntry("P", EXAMPLE_1)).signature
    assert values_of({"feature3": -0.5, "feature1": 40.0, "feature2": 3, "id": 1}, plain) == [[40.0], [3.0], [-0.5]]


@pytest.mark.parametrize(
    "element, message",
    [
        ((1.0, 2.0), "UDF 'P' → element (1.0, 2.0): 2 values, but it takes 3 arguments: 3 DOUBLE values packed in "
         "order into the bundle's tensor input 'x' of size 3"),
        ({"x": [1.0]}, "UDF 'P' → element {'x': [1.0]}: 'x' has 1 values, but the bundle's tensor input 'x' has size 3"),
        ({"y": 1.0}, "UDF 'P' → element {'y': 1.0}: no 'x' among its keys (y); it takes 3 arguments: 3 DOUBLE values "
         "packed in order into the bundle's tensor input 'x' of size 3"),
        ((1.0, "2", 3.0), "UDF 'P' → element (1.0, '2', 3.0) → argument 'x[1]': expected a number, found '2'"),
        ({1, 2, 3}, "UDF 'P' → element {1, 2, 3}: expected a number, a tuple, a Row or a dict, found set"),
    ],
)  # fmt: skip
def test_bad_elements_name_the_tensor_and_its_size(tmp_path, element, message):
    packed = signature_of(UdfEntry("P", linear_zip(str(tmp_path), "lin", [1.0, 2.0, 3.0])))
    with pytest.raises(ScoringError) as info:
        element_arguments(element, packed, "P")
    assert str(info.value) == message


def test_an_experiment_takes_its_split_key_first_or_by_name(tmp_path):
    a, b = linear_zip(str(tmp_path), "a", [1.0, 2.0]), linear_zip(str(tmp_path), "b", [2.0, 4.0])
    config = tmp_path / "app.yaml"
    config.write_text(textwrap.dedent(f"""
        mleap:
          udf_registry:
            - udf_name: Ab
              split_key: customer
              variants: [{{name: a, bundle_path: {a}, weight: 1}}, {{name: b, bundle_path: {b}, weight: 1}}]
    """))  # fmt: skip
    signature = BundleMapFunction("Ab", str(config)).signature
    for element in (("c7", 1.0, 2.0), ("c7", [1.0, 2.0]), {"customer": "c7", "x": [1.0, 2.0]}):
        assert values_of(element, signature) == [["c7"], [1.0], [2.0]], element
    with pytest.raises(ScoringError) as info:
        element_arguments((7, 1.0, 2.0), signature, "Ab")
    assert str(info.value) == "UDF 'Ab' → element (7, 1.0, 2.0) → argument 'customer': expected a string, found 7"


def test_a_boolean_argument_takes_booleans_only():
    from flink_ml_udf.flink.datastream import _series
    from flink_ml_udf.flink.sql_types import sql_type

    boolean = sql_type("BOOLEAN")
    for value in (True, False, np.bool_(True), None):
        assert _series(value, "flag", boolean, "UDF 'P' → element").tolist() == [value]
    for value, shown in (("true", "'true'"), (1, "1")):
        with pytest.raises(ScoringError) as info:
            _series(value, "flag", boolean, "UDF 'P' → element")
        assert str(info.value) == f"UDF 'P' → element → argument 'flag': expected true or false, found {shown}"


def test_results_become_python_values_and_named_rows():
    signature = signature_of(UdfEntry("P", EXAMPLE_1, outputs=("prediction", "model_version", "features")))
    frame = pd.concat(
        [pd.Series([1.5]), pd.Series(["v1"], dtype=object), pd.Series([np.array([1.0, 2.0])], dtype=object)],
        axis=1,
        keys=["prediction", "model_version", "features"],
    )
    row = result_element(frame, signature)
    assert row.as_dict() == {"prediction": 1.5, "model_version": "v1", "features": [1.0, 2.0]}
    scalar = signature_of(UdfEntry("P", EXAMPLE_1))
    assert type(result_element(pd.Series([np.float64(2.0)]), scalar)) is float
    assert result_element(pd.Series([np.nan]), scalar, as_row=True).as_dict() == {"prediction": None}  # on_error: null


# -- jobs on a local minicluster ----------------------------------------------------------------


@pytest.fixture(scope="module")
def their_example(tmp_path_factory):
    return write_their_example(str(tmp_path_factory.mktemp("flink-mleap") / "resources"))


def stream_env(parallelism: int = 1):
    from pyflink.datastream import StreamExecutionEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    env.set_python_executable(sys.executable)
    return env


def collect(stream) -> list:
    with stream.execute_and_collect() as results:
        return list(results)


@pytest.mark.flink
def test_their_datastream_job_with_our_map_function(their_example):
    """flink-mleap: env.fromElements(doubles).map(MleapMapFunction(path, FileBundleLoader))."""
    env = stream_env()
    predict = BundleMapFunction("Predictv2", their_example["conf"])
    x = [float(v) for v in np.random.default_rng(8).uniform(0, 12, 300)]
    predictions = collect(env.from_collection(x, Types.DOUBLE()).map(predict, output_type=predict.output_type))
    assert predictions == list(runtime_predictions(their_example["Predictv2"], x))  # every value, in order


@pytest.mark.flink
def test_rows_dicts_and_row_results(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text(textwrap.dedent(f"""
        mleap:
          udf_registry:
            - udf_name: Explain
              bundle_path: {EXAMPLE_1}
              outputs: [prediction, model_version]
            - udf_name: OrNull
              bundle_path: {EXAMPLE_1}
              on_error: "null"
    """))  # fmt: skip
    rng = np.random.default_rng(3)
    features = pd.DataFrame({"feature1": rng.uniform(0, 100, 50), "feature2": rng.integers(0, 11, 50).astype(float),
                             "feature3": rng.uniform(-1, 1, 50)})  # fmt: skip
    expected = load_bundle(EXAMPLE_1).transform_columns(dict(features.items())).get("prediction", "t")
    env = stream_env()
    explain = BundleMapFunction("Explain", str(config))
    rows = env.from_collection(
        [Row(float(a), float(b), float(c)) for a, b, c in features.itertuples(index=False)],
        Types.ROW([Types.DOUBLE(), Types.DOUBLE(), Types.DOUBLE()]),
    )
    results = collect(rows.map(explain, output_type=explain.output_type))
    assert [r.prediction for r in results] == list(expected)
    assert {r.model_version for r in results} == {content_hash(EXAMPLE_1)}
    or_null = BundleMapFunction("OrNull", load_config(str(config)))
    dicts = [dict(zip(features.columns, map(float, row))) for row in features.itertuples(index=False)]
    dicts[4]["feature2"] = None  # NULL: not scorable by the vector_assembler, so NULL out
    dict_stream = env.from_collection([json.dumps(d) for d in dicts], Types.STRING()).map(json.loads)  # pickled dicts
    results = collect(dict_stream.map(or_null, output_type=or_null.output_type))
    assert or_null.output_type == Types.ROW_NAMED(["prediction"], [Types.DOUBLE()])  # a Row: its field can be NULL
    assert results[4].prediction is None
    predictions = [r.prediction for r in results]
    assert predictions[:4] + predictions[5:] == list(expected[:4]) + list(expected[5:])


@pytest.mark.flink
def test_order_is_kept_within_each_partition(tmp_path):
    """Elements keyed by id % 4 over two subtasks (a key's elements share one partition);
    y = x + 0.5 says which element each result belongs to."""
    config = tmp_path / "app.yaml"
    config.write_text(
        f"mleap:\n  udf_registry:\n    - {{udf_name: Id, bundle_path: {linear_zip(str(tmp_path), 'id', [1.0])}}}\n"
    )
    env = stream_env(parallelism=2)
    ids = env.from_collection(list(range(400)), Types.INT())
    parted = ids.key_by(lambda element: element % 4, key_type=Types.INT())
    predict = BundleMapFunction("Id", str(config))
    results = collect(parted.map(float, output_type=Types.DOUBLE()).map(predict, output_type=predict.output_type))
    scored = [int(r - 0.5) for r in results]
    assert sorted(scored) == list(range(400))  # every element once
    for key in range(4):
        mine = [i for i in scored if i % 4 == key]
        assert mine == sorted(mine)


@pytest.mark.flink
def test_a_pinned_version_holds_on_the_workers(tmp_path):
    bundle = linear_zip(str(tmp_path), "lin", [1.0])
    config = tmp_path / "app.yaml"
    config.write_text(f"mleap:\n  udf_registry:\n    - {{udf_name: Lin, bundle_path: {bundle}}}\n")
    predict = BundleMapFunction("Lin", str(config))  # resolves and pins the version on the client
    pinned = predict.plan.version
    os.replace(linear_zip(str(tmp_path), "lin2", [2.0]), bundle)  # replaced before the job starts
    env = stream_env()
    with pytest.raises(Exception) as info:
        collect(env.from_collection([1.0, 2.0], Types.DOUBLE()).map(predict, output_type=predict.output_type))
    assert f"version {pinned} was pinned (resolved when the job was submitted), but the store now has version" in str(
        info.value
    )


@pytest.mark.flink
def test_reload_swaps_the_model_between_elements(tmp_path):
    bundle = linear_zip(str(tmp_path), "lin", [1.0])
    newer = linear_zip(str(tmp_path), "lin2", [2.0])
    config = tmp_path / "app.yaml"
    config.write_text(
        f"mleap:\n  udf_registry:\n    - {{udf_name: Lin, bundle_path: {bundle}, reload: {{interval: 100ms}}}}\n"
    )
    predict = BundleMapFunction("Lin", str(config))

    def publish_at_ten(x: float) -> float:
        if x == 10.0:
            os.replace(newer, bundle)  # publish: rename the new bundle over the old one
        time.sleep(0.02)  # elements keep flowing while the worker's poller finds and loads the new version
        return x

    env = stream_env()
    elements = env.from_collection([float(i) for i in range(400)], Types.DOUBLE())
    results = collect(elements.map(publish_at_ten, output_type=Types.DOUBLE()).map(predict, output_type=Types.DOUBLE()))
    v2 = [i for i, y in enumerate(results) if i > 0 and y == 2 * i + 0.5]
    assert v2 and v2 == list(range(v2[0], 400))  # one switch, for good, after the publication
    assert 10 <= v2[0] < 400 and all(results[i] == i + 0.5 for i in range(v2[0]))


@pytest.mark.flink
def test_vectorized_path_keeps_the_columns_and_each_partitions_order(their_example):
    from pyflink.table import StreamTableEnvironment

    from flink_ml_udf.flink.registry import configure_python_workers, register_from_config

    env = stream_env(parallelism=2)
    t_env = StreamTableEnvironment.create(env)
    configure_python_workers(t_env)
    registered = register_from_config(their_example["conf"], t_env)
    x = np.random.default_rng(9).uniform(0, 12, 1000)
    row_type = Types.ROW_NAMED(["id", "feature1"], [Types.INT(), Types.DOUBLE()])
    rows = (
        env.from_collection([Row(i, float(v)) for i, v in enumerate(x)], row_type)
        .key_by(lambda row: row[0] % 4, key_type=Types.INT())
        .map(lambda row: row, output_type=row_type)  # a keyed stream's rows lose their field names
    )
    scored = collect(score_stream(t_env, rows, registered["Predictv2"], ["feature1"]))
    assert [sorted(r.as_dict()) for r in scored[:1]] == [["feature1", "id", "output"]]
    expected = runtime_predictions(their_example["Predictv2"], x)
    assert sorted(r.id for r in scored) == list(range(1000))
    assert all(r.output == expected[r.id] and r.feature1 == x[r.id] for r in scored)
    for key in range(4):
        ids = [r.id for r in scored if r.id % 4 == key]
        assert ids == sorted(ids)
    with pytest.raises(ConfigError) as info:
        score_stream(t_env, rows, registered["Predictv2"])
    assert str(info.value) == (
        "UDF 'Predictv2' takes 1 argument: 1 DOUBLE value packed in order into the bundle's tensor input 'x' of "
        "size 1; name the stream's columns that feed it with arguments=[...] (the stream has id, feature1)"
    )


@pytest.mark.flink
def test_the_example_job_maps_and_scores_their_random_doubles(their_example, capsys):
    job = runpy.run_path(os.path.join(REPO, "jobs", "datastream_job.py"))
    for mode in ([], ["--vectorized"]):
        assert job["main"](["--config", their_example["conf"], "--udf", "Predictv2", "--seed", "5"] + mode) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        values = [float(line.split(" -> ")[0]) for line in lines]
        predictions = [float(line.split(" -> ")[1]) for line in lines]
        assert len(values) == 3 and all(0 <= v < 1 for v in values)
        assert predictions == list(runtime_predictions(their_example["Predictv2"], values)), mode
