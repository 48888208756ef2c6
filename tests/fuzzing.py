"""What the fuzz tests share: hypothesis strategies for hostile values and documents, bundle
templates to mutate, and a runner that holds a call to a time and memory bound.

The fuzz tests (``tests/**/test_fuzz_*.py``, marker ``fuzz``) assert three things of every input:
only this project's error types escape, each call ends within :data:`SECONDS` and allocates at most
:data:`MEGABYTES` (tracemalloc, numpy included), and a loaded model scores every row the same
whatever batch it arrives in. ``make test`` runs the ``default`` hypothesis profile (about a minute
in all); ``make fuzz`` runs the ``fuzz`` profile (``--hypothesis-profile=fuzz``, many more examples).
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from typing import Any, Callable, Dict, List

import numpy as np
from hypothesis import strategies as st

from flink_ml_udf.errors import FlinkMlUdfError
from tests import bundle_writer as bw

SECONDS = 20.0
MEGABYTES = 512

# -- values ------------------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.sampled_from([0, 1, -1, 2, 3, 1 << 31, 1 << 63, 10**12, 10**400])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["double", "string", "tensor", "list", "scalar", "json", "protobuf", "input", "output"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10) | st.sampled_from(
        ["type", "double", "long", "string", "shape", "dimensions", "size", "base", "isNullable", "values", "indices"]
    ), children, max_size=6),
    max_leaves=25,
)  # fmt: skip


def outcome_of(call: Callable[[], Any], seconds: float = SECONDS, megabytes: int = MEGABYTES) -> Any:
    """``call()``'s result, or the project error it raised; anything else, a hang past ``seconds``
    or a peak allocation past ``megabytes`` fails the test that asked."""
    box: Dict[str, Any] = {}

    def run() -> None:
        tracemalloc.start()
        try:
            box["value"] = call()
        except FlinkMlUdfError as exc:
            box["value"] = exc
        except BaseException as exc:  # noqa: BLE001 - reported below with its type
            box["escaped"] = exc
        finally:
            box["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if "escaped" in box:
        raise AssertionError(f"{type(box['escaped']).__name__} escaped: {box['escaped']}") from box["escaped"]
    assert box["peak"] <= megabytes << 20, f"allocated {box['peak'] >> 20} MiB (bound {megabytes} MiB)"
    assert time.monotonic() - started <= seconds
    return box["value"]


# -- bundle templates -----------------------------------------------------------------------------------


def _tree():
    return bw.tree_lines(
        [bw.split(0, 0.5), bw.categorical_split(1, [1.0, 3.0], True, 4), bw.leaf(1.0, 3.0), bw.leaf(2.0, 2.0), bw.split(2, -1.0), bw.leaf(0.0, 4.0), bw.leaf(3.0, 1.0)]
    )  # fmt: skip


def _regression_tree():
    return bw.tree_lines([bw.split(2, 0.0), bw.leaf(-1.5), bw.split(0, 2.0), bw.leaf(0.25), bw.leaf(7.0)])


def templates() -> Dict[str, bw.Node]:
    """Small bundles covering the reader's paths: pipelines, trees (JSON lines), forests, string ops,
    vector ops, clustering, multi-column ports."""
    assembler = bw.Node("va", "vector_assembler", {"input_shapes": bw.scalar_shapes(3)},
                        inputs=[("input0", "a"), ("input1", "b"), ("input2", "c")], outputs=[("output", "v")])  # fmt: skip
    scaler = bw.Node("ss", "standard_scaler", {"mean": bw.tensor([0.5, 1.0, -1.0]), "std": bw.tensor([2.0, 0.5, 1.0])},
                     inputs=[("input", "v")], outputs=[("output", "s")])  # fmt: skip
    tree = bw.Node("dt", "decision_tree_regression", {"num_features": bw.long(3)}, inputs=[("features", "s")],
                   outputs=[("prediction", "y")], files={"tree.json": _regression_tree()})  # fmt: skip
    forest = bw.Node("rf", "random_forest_classifier",
                     {"num_features": bw.long(3), "num_classes": bw.long(2), "trees": bw.string_list(["t0", "t1"]),
                      "tree_weights": bw.double_list([1.0, 1.0])},
                     inputs=[("features", "v")], outputs=[("prediction", "p"), ("probability", "q")],
                     submodels={"t0": bw.Node("t0", "decision_tree_classifier", {"num_features": bw.long(3), "num_classes": bw.long(2)}, files={"tree.json": _tree()}),
                                "t1": bw.Node("t1", "decision_tree_classifier", {"num_features": bw.long(3), "num_classes": bw.long(2)}, files={"tree.json": _tree()})})  # fmt: skip
    indexer = bw.Node("si", "string_indexer", {"labels_length": bw.long(1), "labels_array_0": bw.string_list(["x", "y", "z"]),
                      "handle_invalid": bw.string("keep")}, inputs=[("input0", "name")], outputs=[("output0", "idx")])  # fmt: skip
    onehot = bw.Node("oh", "one_hot_encoder", {"category_sizes": bw.long_list([4]), "drop_last": bw.boolean(False),
                     "handle_invalid": bw.string("keep")}, inputs=[("input0", "idx")], outputs=[("output0", "hot")])  # fmt: skip
    linear = bw.Node("lr", "linear_regression", {"coefficients": bw.tensor([1.0, -2.0, 0.5]), "intercept": bw.double(0.25)},
                     inputs=[("features", "v")], outputs=[("prediction", "lr_y")])  # fmt: skip
    kmeans = bw.Node("km", "k_means", {"cluster_centers": {"type": "list", "tensor": [bw.tensor([0.0, 0.0, 0.0]), bw.tensor([1.0, 1.0, 1.0])]},
                     "num_features": bw.long(3)}, inputs=[("features", "v")], outputs=[("prediction", "cluster")])  # fmt: skip
    poly = bw.Node(
        "pe",
        "polynomial_expansion",
        {"degree": bw.long(2), "input_size": bw.long(3)},
        inputs=[("input", "v")],
        outputs=[("output", "poly")],
    )
    binarizer = bw.Node("bi", "binarizer", {"threshold": bw.double(0.0), "input_shapes": {"data_shape": {"base": "scalar", "isNullable": False}}},
                        inputs=[("input", "a")], outputs=[("output", "bin")])  # fmt: skip
    return {
        "pipeline": bw.pipeline("p", [assembler, scaler, tree]),
        "forest": bw.pipeline("p", [assembler, forest]),
        "strings": bw.pipeline("p", [indexer, onehot]),
        "vectors": bw.pipeline("p", [assembler, linear, kmeans, poly, binarizer]),
    }


def write_files(folder: str, files: Dict[str, bytes]) -> str:
    for relative, data in files.items():
        full = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
    return folder


# -- batches ---------------------------------------------------------------------------------------------


def input_columns(model, seed: int, n_rows: int) -> Dict[str, Any]:
    """Rows for every input of ``model``: ordinary values mixed with NaN, infinities, nulls, unseen strings."""
    rng = np.random.default_rng(seed)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, 3.0, 1e300])
    columns: Dict[str, Any] = {}
    for column in model.input_schema:
        dtype = column.dtype
        if dtype.shape == "scalar" and dtype.base == "string":
            values = np.array(rng.choice(["x", "y", "z", "unseen", ""], n_rows), dtype=object)
            values[rng.random(n_rows) < 0.1] = None
            columns[column.name] = values
        elif dtype.shape == "list":
            values = np.empty(n_rows, dtype=object)
            for row in range(n_rows):
                count = rng.integers(0, 4)
                if dtype.base == "string":
                    values[row] = [str(token) for token in rng.choice(["a", "b", "c"], count)]
                else:
                    values[row] = [float(v) for v in rng.choice(specials, count)]
            columns[column.name] = values
        else:
            width = (dtype.size or 3) if dtype.shape == "tensor" else 1
            values = rng.normal(size=(n_rows, width)) * 3
            mask = rng.random(values.shape) < 0.15
            values[mask] = rng.choice(specials, int(mask.sum()))
            columns[column.name] = values if dtype.shape == "tensor" else values[:, 0]
    return columns


def rows_of(columns: Dict[str, Any], start: int, stop: int) -> Dict[str, Any]:
    return {name: values[start:stop] for name, values in columns.items()}


def scored(model, columns: Dict[str, Any]):
    """(kept mask, {output: values}) of one batch, rows that cannot be scored marked, not raised."""
    frame = model.transform_columns(columns, on_invalid="mark")
    return frame.kept, {c.name: frame.get(c.name, "fuzz") for c in model.output_schema}


def same_values(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return [repr(x) for x in a.tolist()] == [repr(x) for x in b.tolist()]
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def assert_batch_independent(model, columns: Dict[str, Any], splits: List[int]) -> None:
    """Scoring the rows in one batch, one by one, or in the slices ``splits`` gives the same results."""
    if not columns:  # a model without inputs (its ports mutated away) has no rows to compare
        return
    n_rows = len(next(iter(columns.values())))
    whole_kept, whole = scored(model, columns)
    bounds = [0] + sorted({s for s in splits if 0 < s < n_rows}) + [n_rows]
    for start, stop in zip(bounds, bounds[1:]):
        kept, part = scored(model, rows_of(columns, start, stop))
        assert np.array_equal(kept, whole_kept[start:stop]), f"rows {start}:{stop} kept differently"
        for name, values in part.items():
            keep = kept
            assert same_values(values[keep], whole[name][start:stop][keep]), f"column {name}, rows {start}:{stop}"
