"""``flink-ml-udf inspect`` and ``score``, through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from flink_ml_udf.mleap import load_bundle
from tests.conftest import REPO

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")
CLI = os.path.join(os.path.dirname(sys.executable), "flink-ml-udf")


def run(*args, stdin=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, input=stdin, timeout=60)


def test_inspect_lists_ops_and_schemas():
    completed = run("inspect", EXAMPLE_1, "--json")
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)
    assert [op["op"] for op in summary["ops"]] == [
        "pipeline",
        "vector_assembler",
        "standard_scaler",
        "random_forest_regression",
    ]
    assert summary["inputs"] == [{"name": f"feature{i}", "type": "double"} for i in (1, 2, 3)]
    assert summary["outputs"] == [
        {"name": "features", "type": "tensor<double>[3]"},
        {"name": "standard_scaler_features", "type": "tensor<double>[3]"},
        {"name": "prediction", "type": "double not null"},
    ]
    assert summary["prediction"] == "prediction"

    text = run("inspect", os.path.join(REPO, "models", "example-2")).stdout
    assert "  min_max_scaler  " in text and "  prediction                   double not null  (prediction)" in text


def test_score_appends_every_output_column(tmp_path):
    rows = [[10.0, 3, 0.5], [55.5, 0, -0.25], [99.0, 10, 1.0]]
    frame = {
        "schema": {
            "fields": [
                {"name": "feature1", "type": "double"},
                {"name": "feature2", "type": {"type": "basic", "base": "integer", "isNullable": False}},
                {"name": "feature3", "type": "double"},
            ]
        },
        "rows": rows,
    }
    path = tmp_path / "frame.json"
    path.write_text(json.dumps(frame))
    completed = run("score", EXAMPLE_1, "--frame", str(path))
    assert completed.returncode == 0, completed.stderr
    scored = json.loads(completed.stdout)

    names = [f["name"] for f in scored["schema"]["fields"]]
    assert names == ["feature1", "feature2", "feature3", "features", "standard_scaler_features", "prediction"]
    assert scored["schema"]["fields"][5]["type"] == {"type": "basic", "base": "double", "isNullable": False}
    assert scored["schema"]["fields"][3]["type"] == {"type": "tensor", "base": "double", "dimensions": [3]}
    assert [row[:3] for row in scored["rows"]] == rows
    assert [row[3] for row in scored["rows"]] == [{"values": [float(v) for v in r], "dimensions": [3]} for r in rows]
    model = load_bundle(EXAMPLE_1)
    expected = model.transform_columns(
        {f"feature{i + 1}": np.array([r[i] for r in rows], dtype=float) for i in range(3)}
    ).get("prediction", "t")
    assert [row[5] for row in scored["rows"]] == expected.tolist()


def test_score_reports_null_feature_and_exits_2(tmp_path):
    frame = {
        "schema": {"fields": [{"name": f"feature{i}", "type": "double"} for i in (1, 2, 3)]},
        "rows": [[1.0, 2.0, 3.0], [1.0, None, 3.0]],
    }
    completed = run("score", EXAMPLE_1, "--frame", "-", stdin=json.dumps(frame))
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"flink-ml-udf score: bundle {EXAMPLE_1} → node vector_assembler_")
    assert completed.stderr.rstrip().endswith("(vector_assembler): input column 'feature2' is null (row 1)")


def test_inspect_missing_bundle():
    completed = run("inspect", "/no/such/bundle.zip")
    assert completed.returncode == 2
    assert completed.stderr == "flink-ml-udf inspect: bundle /no/such/bundle.zip: no such file or folder\n"


def test_numerics_option_loads_the_model_with_the_jvm_order(tmp_path):
    from tests import bundle_writer as bw
    from tests.mleap.model_bundles import model_node
    from tests.mleap.test_model_ops_jvm_order import awkward_rows, ref_ddot

    rng = np.random.default_rng(31)
    w = rng.normal(0, 1, 9) * 10.0 ** rng.integers(-5, 6, 9)
    node = model_node("linear_regression", {"coefficients": bw.tensor(w), "intercept": bw.double(0.0)})
    bundle = str(bw.write_bundle(tmp_path / "b", node))
    x = awkward_rows(rng, 40, 9)  # dense rows: netlib's ddot
    frame = tmp_path / "frame.json"
    frame.write_text(
        json.dumps(
            {
                "schema": {
                    "fields": [{"name": "features", "type": {"type": "tensor", "base": "double", "dimensions": [9]}}]
                },
                "rows": [[{"values": row.tolist(), "dimensions": [9]}] for row in x],
            }
        )
    )
    scored = {}
    for numerics in ("fast", "jvm"):
        completed = run("score", bundle, "--frame", str(frame), "--numerics", numerics)
        assert completed.returncode == 0, completed.stderr
        scored[numerics] = [row[-1] for row in json.loads(completed.stdout)["rows"]]
    assert scored["jvm"] == [ref_ddot(row, w) for row in x]
    assert scored["fast"] == load_bundle(bundle).transform_columns({"features": x}).get("prediction", "t").tolist()
    assert scored["fast"] != scored["jvm"]

    summary = json.loads(run("inspect", bundle, "--json", "--numerics", "jvm").stdout)
    assert summary["numerics"] == "jvm"
    assert "numerics:   fast\n" in run("inspect", bundle).stdout
    refused = run("inspect", bundle, "--numerics", "exact")
    assert refused.returncode == 2
    assert "argument --numerics: invalid choice: 'exact' (choose from " in refused.stderr  # quoting varies by Python
