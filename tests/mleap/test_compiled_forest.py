"""The compiled tree traversal against the numpy reference (``TreeEnsemble.leaf_values``): the same
leaves and, bit for bit, the same sums, in both layouts (perfect: continuous splits; nodes:
categorical splits or deep sparse trees), on random forests (ties on thresholds, NaN and infinite
features, NaN and signed-zero leaves) and batches of 1 to 100,000 rows."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.compiled.forest import BoostedSum, ForestSum, tree_depths
from flink_ml_udf.mleap.jvm import blas
from flink_ml_udf.mleap.kernels import seq_sum
from flink_ml_udf.mleap.ops.trees import vote_shares
from flink_ml_udf.mleap.trees import TreeEnsemble, parse_tree_json
from tests import bundle_writer as bw
from tests.conftest import REPO

N_FEATURES = 6
THRESHOLDS = np.array([-1.5, -0.25, 0.0, 0.5, 1.0, 2.75])  # features are drawn from these too: ties
CATEGORICAL_FEATURE = 5  # holds small integers (and non-integers, negatives, NaN) when categorical


def random_tree(rng: np.random.Generator, max_depth: int, width: int, categorical: bool) -> str:
    nodes = []

    def grow(depth: int) -> None:
        if depth == max_depth or (depth > 0 and rng.random() < 0.2):
            values = rng.choice(
                [-3.25, -0.0, 0.0, 0.125, 7.5, 1e300, np.nan], size=width, p=[0.2, 0.1, 0.1, 0.2, 0.2, 0.1, 0.1]
            )
            nodes.append(bw.leaf(*[None if np.isnan(v) else float(v) for v in values]))
            return
        if categorical and rng.random() < 0.3:
            categories = sorted(rng.choice(5, size=rng.integers(1, 4), replace=False).tolist())
            nodes.append(bw.categorical_split(CATEGORICAL_FEATURE, categories, bool(rng.random() < 0.5), 5))
        else:
            nodes.append(bw.split(int(rng.integers(0, N_FEATURES - 1)), float(rng.choice(THRESHOLDS))))
        grow(depth + 1)
        grow(depth + 1)

    grow(0)
    return bw.tree_lines(nodes)


def chain_tree(depth: int, width: int) -> str:
    """A tree ``depth`` levels deep with one leaf per level: too deep to pad (the nodes layout)."""
    lines = []
    for level in range(depth):
        lines += [bw.split(level % (N_FEATURES - 1), float(THRESHOLDS[level % 6])), bw.leaf(*[float(level)] * width)]
    return bw.tree_lines(lines + [bw.leaf(*[-1.0] * width)])


def random_ensemble(
    seed: int, n_trees: int, max_depth: int, width: int = 3, categorical: bool = False, layout: str = "perfect"
):
    """Random trees; for ``layout="nodes"`` the last one is a chain 14 deep, which no forest pads."""
    rng = np.random.default_rng(seed)
    trees = [random_tree(rng, max_depth, width, categorical) for _ in range(n_trees - (layout == "nodes"))]
    if layout == "nodes":
        trees.append(chain_tree(14, width))
    return TreeEnsemble([parse_tree_json(tree, f"tree {i}") for i, tree in enumerate(trees)], "node forest (test)")


def random_features(seed: int, n_rows: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.choice(np.concatenate([THRESHOLDS, [np.nan, np.inf, -np.inf, -0.0]]), size=(n_rows, N_FEATURES))
    noise = rng.random((n_rows, N_FEATURES)) < 0.5
    x[noise] = rng.normal(0, 2, size=int(noise.sum()))
    x[:, CATEGORICAL_FEATURE] = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 2.5, -1.0, np.nan], size=n_rows)
    return x


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual.view(np.int64), expected.view(np.int64))


@pytest.mark.parametrize("n_rows", [1, 7, 1000, 100_000])
@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("layout", ["perfect", "nodes"])
def test_forest_sums_match_the_numpy_traversal_bit_for_bit(n_rows, categorical, layout):
    ensemble = random_ensemble(seed=n_rows, n_trees=25, max_depth=8, categorical=categorical, layout=layout)
    x = random_features(seed=n_rows + 1, n_rows=n_rows)
    reference = ensemble.leaf_values(x)  # (rows, trees, width)
    assert np.isnan(reference).any() and (reference == 0.0).any()

    first = ForestSum(ensemble, ensemble.values[:, 0], "node forest (test)")
    assert first.layout.perfect is (layout == "perfect")
    assert ensemble.categorical.any() is np.bool_(categorical)
    assert_same_bits(first(x)[:, 0], seq_sum(reference[:, :, 0], axis=1))
    assert_same_bits(ForestSum(ensemble, ensemble.values, "node forest (test)")(x), seq_sum(reference, axis=1))
    # The forest classifier's votes: leaves normalized per tree, then summed (the former per-row code).
    leaves = reference[:, :, :2]
    totals = seq_sum(leaves, axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals != 0.0, leaves / np.where(totals != 0.0, totals, 1.0), 0.0)
    votes = ForestSum(ensemble, vote_shares(ensemble.values, 2), "node forest (test)")
    assert_same_bits(votes(x), seq_sum(share, axis=1))


def test_deep_trees_take_the_nodes_layout():
    deep = parse_tree_json(chain_tree(14, 1), "chain")
    ensemble = TreeEnsemble([deep, deep], "node forest (test)")
    forest = ForestSum(ensemble, ensemble.values[:, 0], "node forest (test)")
    assert tree_depths(ensemble).tolist() == [14, 14] and not forest.layout.perfect
    x = random_features(seed=9, n_rows=2000)
    assert_same_bits(forest(x)[:, 0], seq_sum(ensemble.leaf_values(x)[:, :, 0], axis=1))


def test_a_single_tree_and_a_single_leaf_tree_are_walked_like_the_reference():
    stump = parse_tree_json(bw.tree_lines([bw.leaf(4.0)]), "stump")
    deep = parse_tree_json(random_tree(np.random.default_rng(3), 10, 1, False), "deep")
    ensemble = TreeEnsemble([stump, deep], "node forest (test)")
    assert tree_depths(ensemble).tolist() == [0, max(1, ensemble.depth)]
    x = random_features(seed=4, n_rows=500)
    assert_same_bits(
        ForestSum(ensemble, ensemble.values, "node forest (test)")(x), seq_sum(ensemble.leaf_values(x), axis=1)
    )
    only_stumps = TreeEnsemble([stump, stump], "node forest (test)")
    assert_same_bits(ForestSum(only_stumps, only_stumps.values[:, 0], "stumps")(x[:3]), np.full((3, 1), 8.0))


def test_non_contiguous_and_integer_features_are_read_as_doubles():
    ensemble = random_ensemble(seed=5, n_trees=5, max_depth=4)
    forest = ForestSum(ensemble, ensemble.values, "node forest (test)")
    x = random_features(seed=6, n_rows=300)
    wide = np.repeat(x, 2, axis=1)[:, ::2]  # a strided view
    assert_same_bits(forest(wide), seq_sum(ensemble.leaf_values(x), axis=1))
    integers = np.nan_to_num(x, nan=0.0, posinf=3.0, neginf=-3.0).round().astype(np.int64)
    assert_same_bits(forest(integers), seq_sum(ensemble.leaf_values(integers.astype(np.float64)), axis=1))


def test_too_few_features_is_a_scoring_error_naming_the_node():
    ensemble = random_ensemble(seed=7, n_trees=3, max_depth=5)
    forest = BoostedSum(ensemble, np.ones(3), "node forest (test)")
    with pytest.raises(ScoringError) as error:
        forest(np.zeros((2, ensemble.max_feature)))
    assert str(error.value) == (
        f"node forest (test): trees split on feature {ensemble.max_feature} "
        f"but the input has {ensemble.max_feature} features"
    )


def run_python(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter at the repository root; it must exit 0."""
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return completed


def test_without_numba_loading_a_tree_model_says_what_is_missing():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from flink_ml_udf.mleap import load_bundle\n"
        "from flink_ml_udf.errors import BundleError\n"
        "try:\n"
        "    load_bundle('models/example-1.zip')\n"
        "except BundleError as exc:\n"
        "    print(exc)\n"
    )
    completed = run_python(code)
    message = completed.stdout.strip()
    assert message.startswith("bundle ") and "(random_forest_regression)" in message
    assert message.endswith(
        "compiled kernels need the 'numba' package, which cannot be imported "
        "(ModuleNotFoundError: import of numba halted; None in sys.modules); install it with 'pip install numba'"
    )


@pytest.mark.parametrize("n_rows", [1, 7, 1000, 100_000])
@pytest.mark.parametrize("n_trees", [3, 4, 25])  # no fma lanes, lanes only, lanes and a tail
@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("layout", ["perfect", "nodes"])
def test_boosted_sums_are_the_jvms_ddot_of_the_per_tree_values(n_rows, n_trees, categorical, layout):
    ensemble = random_ensemble(n_rows * n_trees, n_trees, max_depth=6, width=1, categorical=categorical, layout=layout)
    x = random_features(seed=n_rows + 2, n_rows=n_rows)
    weights = np.random.default_rng(n_trees).choice([1.0, 0.1, 0.3, -2.5, 1e-300, 3e7], size=n_trees)
    forest = BoostedSum(ensemble, weights, "node forest (test)")
    assert forest.layout.perfect is (layout == "perfect")
    expected = blas.ddot_j11(ensemble.leaf_values(x)[:, :, 0], weights)
    assert_same_bits(forest(x), expected)


def test_tree_models_load_where_the_host_process_wrapped_print():
    # PyFlink's Beam worker on a cluster replaces builtins.print with a method of its own; numba's
    # import used to fail there ("module ... has no attribute 'print'").
    code = (
        "import builtins\n"
        "class Host:\n"
        "    def print(self, *args, **kwargs):\n"
        "        pass\n"
        "host = Host()\n"
        "builtins.print = host.print\n"
        "from flink_ml_udf.mleap import load_bundle\n"
        "model = load_bundle('models/example-1.zip')\n"
        "frame = model.transform_columns({'feature1': [1.0], 'feature2': [2.0], 'feature3': [0.5]})\n"
        "assert builtins.print == host.print\n"
        "import sys; sys.stdout.write(repr(float(frame.get('prediction', 'test')[0])))\n"
    )
    completed = run_python(code)
    reference = load_bundle(f"{REPO}/models/example-1.zip").transform_columns(
        {"feature1": [1.0], "feature2": [2.0], "feature3": [0.5]}
    )
    assert completed.stdout == repr(float(reference.get("prediction", "test")[0]))


def test_compiled_sums_survive_pickling():
    ensemble = random_ensemble(seed=11, n_trees=6, max_depth=5, width=1, categorical=True)
    x = random_features(seed=12, n_rows=200)
    for forest in (ForestSum(ensemble, ensemble.values, "forest"), BoostedSum(ensemble, np.full(6, 0.5), "forest")):
        assert_same_bits(pickle.loads(pickle.dumps(forest))(x), forest(x))
