"""Loaded with ``numerics="jvm"`` the model ops sum in netlib ``Java11BLAS``'s order, to the bit.

The references here are scalar re-statements of models.md §6.2-6.4 on top of the exact rational
``fma_exact``: independent of the vectorized kernels the ops use.
"""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.mleap.jvm import blas
from tests import bundle_writer as bw
from tests.mleap.model_bundles import load, model_node, regression_tree, score

fma = blas.fma_exact


def load_jvm(tmp_path, node):
    return load(tmp_path, node, numerics="jvm")


def ref_ddot(x, y) -> float:
    n = len(x)
    n4 = n - n % 4
    s = [0.0, 0.0, 0.0, 0.0]
    for i in range(0, n4, 4):
        for lane in range(4):
            s[lane] = fma(x[i + lane], y[i + lane], s[lane])
    total = 0.0 + (((s[0] + s[1]) + s[2]) + s[3])
    for i in range(n4, n):
        total = fma(x[i], y[i], total)
    return total


def ref_sdot(x, y) -> float:
    total = 0.0
    for i in np.flatnonzero(x):
        total += x[i] * y[i]
    return total


def ref_gemv(matrix, x, start):
    """dgemv N, alpha = beta = 1: columns four at a time, the last of the four first."""
    y = [float(v) for v in start]
    n = len(x)
    n4 = n - n % 4
    for c in range(0, n4, 4):
        for r in range(len(y)):
            t = fma(x[c + 3], matrix[r, c + 3], y[r])
            t = fma(x[c + 2], matrix[r, c + 2], t)
            t = fma(x[c + 1], matrix[r, c + 1], t)
            y[r] = fma(x[c], matrix[r, c], t)
    for c in range(n4, n):
        for r in range(len(y)):
            y[r] = fma(x[c], matrix[r, c], y[r])
    return y


def awkward_rows(rng, rows, width, sparse_rows=0):
    """Values with wide magnitude spread, so summation order shows in the last bits."""
    x = rng.normal(0, 1, (rows, width)) * 10.0 ** rng.integers(-6, 7, (rows, width))
    for r in range(sparse_rows):
        keep = rng.choice(width, 2, replace=False)
        mask = np.zeros(width, dtype=bool)
        mask[keep] = True
        x[r, ~mask] = 0.0
    return x


def test_svm_margin_uses_ddot_for_dense_and_sdot_for_sparse_rows(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.normal(0, 1, 11) * 10.0 ** rng.integers(-5, 6, 11)
    node = model_node(
        "support_vector_machine",
        {"coefficients": bw.tensor(w), "intercept": bw.double(0.1), "num_classes": bw.long(2)},
        outputs=("raw_prediction", "prediction"),
    )
    x = awkward_rows(rng, 200, 11, sparse_rows=50)
    raw = score(load_jvm(tmp_path, node), x)["raw_prediction"][:, 1]
    expected = [(ref_sdot(row, w) if i < 50 else ref_ddot(row, w)) + 0.1 for i, row in enumerate(x)]
    np.testing.assert_array_equal(raw, expected)
    assert not np.array_equal(raw[50:], x[50:] @ w + 0.1)  # numpy's order differs somewhere


def test_gbt_regression_sums_trees_with_ddot(tmp_path):
    leaves = [1e8 + 0.3, -7.77e-3, 12345.678, 0.1, -1e8, 3.3e-9, 42.0]
    weights = [1.0, 0.1, 0.1, 0.3, 0.1, 0.7, 0.1]
    trees = {
        f"tree{i}": regression_tree(bw.tree_lines([bw.split(0, 0.0), bw.leaf(v), bw.leaf(-v * 0.37)]), 1)
        for i, v in enumerate(leaves)
    }
    node = model_node(
        "gbt_regression",
        {
            "num_features": bw.long(1),
            "tree_weights": bw.double_list(weights),
            "trees": bw.string_list(list(trees)),
        },
        submodels=trees,
    )
    out = score(load_jvm(tmp_path, node), np.array([[-1.0], [1.0]]))["prediction"]
    np.testing.assert_array_equal(out, [ref_ddot(leaves, weights), ref_ddot([-v * 0.37 for v in leaves], weights)])


def test_naive_bayes_raw_is_a_gemv_then_pi(tmp_path):
    rng = np.random.default_rng(4)
    k, f = 3, 9
    theta = np.log(rng.dirichlet(np.ones(f), k))
    pi = np.log(np.array([0.2, 0.3, 0.5]))
    node = model_node(
        "naive_bayes",
        {
            "num_features": bw.long(f),
            "num_classes": bw.long(k),
            "pi": bw.tensor(pi),
            "theta": bw.tensor(theta.ravel(order="F"), [k, f]),
            "model_type": bw.string("multinomial"),
        },
        outputs=("raw_prediction", "prediction"),
    )
    x = np.abs(awkward_rows(rng, 100, f))
    raw = score(load_jvm(tmp_path, node), x)["raw_prediction"]
    expected = [np.array(ref_gemv(theta, row, np.zeros(k))) + pi for row in x]
    np.testing.assert_array_equal(raw, expected)


def test_mlp_without_hidden_layer_raw_is_a_sequential_fma_sum(tmp_path):
    rng = np.random.default_rng(6)
    f, k = 6, 3
    matrix = rng.normal(0, 1, (k, f)) * 10.0 ** rng.integers(-4, 5, (k, f))
    bias = rng.normal(0, 1, k)
    node = model_node(
        "multi_layer_perceptron_classifier",
        {"layers": bw.long_list([f, k]), "weights": bw.tensor(np.concatenate([matrix.ravel(order="F"), bias]))},
        outputs=("raw_prediction", "prediction"),
    )
    x = awkward_rows(rng, 100, f)
    raw = score(load_jvm(tmp_path, node), x)["raw_prediction"]
    expected = []
    for row in x:
        out = []
        for r in range(k):
            s = 0.0
            for i in range(f):
                s = fma(matrix[r, i], row[i], s)
            out.append(bias[r] + s)
        expected.append(out)
    np.testing.assert_array_equal(raw, expected)


def test_k_means_agrees_in_both_modes(tmp_path):
    rng = np.random.default_rng(8)
    centers = rng.normal(0, 4, (5, 6))
    attributes = {
        "cluster_centers": {"type": "list", "tensor": [bw.tensor(c) for c in centers]},
        "num_features": bw.long(6),
    }
    path = bw.write_bundle(tmp_path / "b", model_node("k_means", attributes))
    x = awkward_rows(rng, 300, 6, sparse_rows=100) * 1e-3
    default = score(load_bundle(path), x)["prediction"]
    jvm = score(load_bundle(path, numerics="jvm"), x)["prediction"]
    np.testing.assert_array_equal(default, jvm)
    np.testing.assert_array_equal(default, np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1))
