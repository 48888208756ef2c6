"""k_means, bisecting_k_means (cluster tree files, JSON and protobuf framing) and gaussian_mixture."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans as SkKMeans

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap.cluster_tree import parse_cluster_tree_json, parse_cluster_tree_pb
from flink_ml_udf.mleap.types import INTEGER_NOT_NULL, vector
from tests import bundle_writer as bw
from tests.mleap.model_bundles import load, model_node, score

EPS = 2.220446049250313e-16

# -- k-means ---------------------------------------------------------------------------------------


def kmeans_model(tmp_path, centers):
    centers = np.asarray(centers, dtype=float)
    attributes = {
        "cluster_centers": {"type": "list", "tensor": [bw.tensor(c) for c in centers]},
        "num_features": bw.long(centers.shape[1]),
    }
    return load(tmp_path, model_node("k_means", attributes))


def test_k_means_matches_sklearn_predict(tmp_path):
    rng = np.random.default_rng(11)
    centers = rng.normal(0, 5, (6, 3))
    sk = SkKMeans(n_clusters=6, init=centers, n_init=1).fit(centers)  # one point per cluster
    model = kmeans_model(tmp_path, sk.cluster_centers_)
    x = rng.normal(0, 6, (500, 3))
    prediction = score(model, x)["prediction"]
    np.testing.assert_array_equal(prediction, sk.predict(x))
    assert prediction.dtype == np.int64 and model.output("prediction").dtype == INTEGER_NOT_NULL


def test_k_means_ties_keep_the_first_center_and_nan_gives_zero(tmp_path):
    model = kmeans_model(tmp_path, [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    x = np.array([[0.0, 0.0], [0.0, 5.0], [np.nan, 0.0], [-3.0, 0.1]])
    np.testing.assert_array_equal(score(model, x)["prediction"], [0, 2, 0, 1])


def test_k_means_close_norms_use_the_exact_distance(tmp_path):
    # Equal norms make the fast formula's error bound explode; the direct sum must decide.
    model = kmeans_model(tmp_path, [[1e8, 1.0], [1e8, -1.0]])
    np.testing.assert_array_equal(score(model, np.array([[1e8, 0.9], [1e8, -0.9]]))["prediction"], [0, 1])


def test_k_means_width_checks(tmp_path):
    model = kmeans_model(tmp_path / "a", [[0.0, 0.0]])
    with pytest.raises(ScoringError, match=r"input column 'features' has 3 features, expected 2$"):
        score(model, np.zeros((1, 3)))
    attributes = {"cluster_centers": {"type": "list", "tensor": [bw.tensor([0.0]), bw.tensor([1.0, 2.0])]}}
    with pytest.raises(BundleError, match=r"attribute cluster_centers: centers differ in length: \[1, 2\]$"):
        load(tmp_path / "b", model_node("k_means", {**attributes, "num_features": bw.long(2)}))


# -- bisecting k-means -----------------------------------------------------------------------------

# A Spark-style tree: internal nodes -1, -2; leaves 0, 1 under node -2, leaf 2 under the root.
TREE = [
    (-1, [0.0, 0.0], 2),
    (-2, [-2.0, 0.0], 2),
    (0, [-3.0, 1.0], 0),
    (1, [-3.0, -1.0], 0),
    (2, [2.0, 0.0], 0),
]


def cluster_tree_json(nodes):
    return "".join(
        json.dumps({"index": i, "norm": float(np.linalg.norm(c)), "values": c, "numChildren": n}) + "\n"
        for i, c, n in nodes
    )


def bisecting_model(tmp_path, text, numerics="fast"):
    return load(tmp_path, model_node("bisecting_k_means", {}, files={"tree.json": text}), numerics)


def expected_bisecting(x):
    """Walk TREE by brute-force Euclidean distance: a different code path from the op's."""
    out = []
    for row in x:
        # root children: node -2 (center [-2, 0]) and leaf 2 (center [2, 0])
        if np.sum((row - [-2.0, 0.0]) ** 2) <= np.sum((row - [2.0, 0.0]) ** 2):
            out.append(0 if np.sum((row - [-3.0, 1.0]) ** 2) <= np.sum((row - [-3.0, -1.0]) ** 2) else 1)
        else:
            out.append(2)
    return out


@pytest.mark.parametrize("jvm_order", [False, True])
def test_bisecting_k_means_walks_the_tree(tmp_path, jvm_order):
    model = bisecting_model(tmp_path, cluster_tree_json(TREE), "jvm" if jvm_order else "fast")
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, (400, 2))
    prediction = score(model, x)["prediction"]
    np.testing.assert_array_equal(prediction, expected_bisecting(x))
    assert model.input("features").dtype == vector(2) and model.output("prediction").dtype == INTEGER_NOT_NULL


def test_bisecting_k_means_uses_stored_norms(tmp_path):
    # Leaf 2 (center (2, 0)) stores norm 3.5 instead of 2. The fast distance n^2 + |x|^2 - 2 c.x then
    # gives x = (1, 0) the distance 9.25 to leaf 2 (truly 1) against 9 to node -2: it goes left
    # (leaf 0 wins the tie with leaf 1); x = (5, 0) still reaches leaf 2 (17.25 against 49).
    nodes = [json.loads(line) for line in cluster_tree_json(TREE).splitlines()]
    nodes[4]["norm"] = 3.5
    model = bisecting_model(tmp_path, "".join(json.dumps(n) + "\n" for n in nodes))
    np.testing.assert_array_equal(score(model, np.array([[1.0, 0.0], [5.0, 0.0]]))["prediction"], [0, 2])
    truthful = bisecting_model(tmp_path / "t", cluster_tree_json(TREE))
    np.testing.assert_array_equal(score(truthful, np.array([[1.0, 0.0], [5.0, 0.0]]))["prediction"], [2, 2])


def test_cluster_tree_index_sign_rule(tmp_path):
    bad_leaf = [(-1, [0.0], 2), (0, [1.0], 0), (-3, [2.0], 0)]
    with pytest.raises(BundleError, match=r"tree.json: leaf node 2 has negative index -3$"):
        bisecting_model(tmp_path / "a", cluster_tree_json(bad_leaf))
    bad_internal = [(4, [0.0], 1), (0, [1.0], 0)]
    with pytest.raises(BundleError, match=r"tree.json: internal node 0 has index 4, expected a negative one$"):
        bisecting_model(tmp_path / "b", cluster_tree_json(bad_internal))
    with pytest.raises(BundleError, match=r"tree.json: tree file ends after 2 nodes, in the middle of the tree$"):
        bisecting_model(tmp_path / "c", cluster_tree_json(TREE[:2]))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _pb_node(index: int, norm: float, values, n_children: int, packed: bool = True, wide_negative=False) -> bytes:
    body = b""
    if index:
        body += b"\x08" + _varint(index & (0xFFFFFFFFFFFFFFFF if wide_negative else 0xFFFFFFFF))
    if norm:
        body += b"\x11" + struct.pack("<d", norm)
    if values:
        if packed:
            payload = struct.pack(f"<{len(values)}d", *values)
            body += b"\x1a" + _varint(len(payload)) + payload
        else:
            body += b"".join(b"\x19" + struct.pack("<d", v) for v in values)
    if n_children:
        body += b"\x20" + _varint(n_children)
    return struct.pack(">i", len(body)) + body


@pytest.mark.parametrize("packed", [True, False])
def test_cluster_tree_protobuf_framing_matches_json(packed):
    data = b"".join(
        _pb_node(i, float(np.linalg.norm(c)), c, n, packed=packed, wide_negative=(i == -2)) for i, c, n in TREE
    )
    from_pb = parse_cluster_tree_pb(data, "tree.pb")
    from_json = parse_cluster_tree_json(cluster_tree_json(TREE), "tree.json")
    for field in ("index", "norm", "centers", "children"):
        np.testing.assert_array_equal(getattr(from_pb, field), getattr(from_json, field))
    np.testing.assert_array_equal(from_pb.index, [-1, -2, 0, 1, 2])
    assert from_pb.depth == from_json.depth == 2


def test_fast_squared_distance_sparse_rows_take_the_clamped_formula():
    from flink_ml_udf.mleap.ops.clustering import fast_squared_distance

    # Equal norms (a rotated copy) make the first error bound fail, so a dense row gets the direct
    # sum of squares, a sparse row the clamped S - 2 c.x (its second bound is tiny): pick a pair
    # where the two round differently.
    rng = np.random.default_rng(0)
    for _ in range(1000):
        a, b = rng.uniform(0.1, 1.0, 2)
        center, x = np.array([a, b]), np.array([[b, a]])
        norm = float(np.sqrt(a * a + b * b))
        fast = norm * norm + norm * norm - 2.0 * (a * b + b * a)
        exact = (a - b) ** 2 + (b - a) ** 2
        if fast != exact and fast > 0:
            break
    args = (center, norm, x, np.array([norm]), np.array([a * b + b * a]))
    assert fast_squared_distance(*args)[0] == exact
    assert fast_squared_distance(*args, sparse=np.array([True]))[0] == fast
    assert fast_squared_distance(*args, sparse=np.array([False]))[0] == exact


# -- Gaussian mixture ------------------------------------------------------------------------------


def gmm_model(tmp_path, means, covs, weights, outputs=("prediction", "probability")):
    f = len(means[0])
    attributes = {
        "means": {"type": "list", "tensor": [bw.tensor(m) for m in means]},
        "covs": {"type": "list", "tensor": [bw.tensor(np.asarray(c).ravel(order="F"), [f, f]) for c in covs]},
        "weights": bw.double_list(weights),
    }
    return load(tmp_path, model_node("gaussian_mixture", attributes, outputs=outputs))


def test_gaussian_mixture_matches_scipy_densities(tmp_path):
    means = [[0.0, 0.0, 1.0], [3.0, -1.0, 0.0], [-2.0, 2.0, 2.0]]
    covs = [
        [[1.0, 0.3, 0.0], [0.3, 2.0, 0.1], [0.0, 0.1, 0.5]],
        [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]],
        [[2.0, -0.4, 0.2], [-0.4, 1.0, 0.0], [0.2, 0.0, 1.5]],
    ]
    weights = [0.5, 0.3, 0.2]
    model = gmm_model(tmp_path, means, covs, weights)
    x = np.random.default_rng(2).normal(0, 2, (300, 3))
    p = np.column_stack([EPS + w * multivariate_normal(m, c).pdf(x) for m, c, w in zip(means, covs, weights)])
    p /= p.sum(axis=1, keepdims=True)
    out = score(model, x)
    np.testing.assert_allclose(out["probability"], p, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(out["prediction"], np.argmax(p, axis=1))
    assert model.output("probability").dtype == vector(3)


def test_gaussian_mixture_singular_covariance_scores(tmp_path):
    # The second component is flat along x1: its zero eigenvalue is dropped, as Spark does.
    means, weights = [[0.0, 0.0], [4.0, 0.0]], [0.5, 0.5]
    covs = [np.eye(2), [[1.0, 0.0], [0.0, 0.0]]]
    model = gmm_model(tmp_path, means, covs, weights, outputs=("prediction",))
    x = np.array([[0.1, 0.0], [3.9, 0.0], [4.0, 3.0]])
    # Spark keeps the 2-D normalising constant but only the x0 direction in the quadratic form,
    # so the flat component's density ignores x1 entirely (unlike scipy's allow_singular).
    flat = np.exp(-0.5 * (x[:, 0] - 4.0) ** 2) / (2 * np.pi)
    p = np.column_stack([EPS + 0.5 * multivariate_normal(means[0], covs[0]).pdf(x), EPS + 0.5 * flat])
    np.testing.assert_array_equal(score(model, x)["prediction"], np.argmax(p, axis=1))
    np.testing.assert_array_equal(np.argmax(p, axis=1), [0, 1, 1])


def test_gaussian_mixture_attribute_errors(tmp_path):
    with pytest.raises(BundleError, match=r"attribute covs\[0\]: has 3 values, expected 2x2$"):
        load(
            tmp_path,
            model_node(
                "gaussian_mixture",
                {
                    "means": {"type": "list", "tensor": [bw.tensor([0.0, 0.0])]},
                    "covs": {"type": "list", "tensor": [bw.tensor([1.0, 0.0, 1.0])]},
                    "weights": bw.double_list([1.0]),
                },
            ),
        )


def test_bisecting_k_means_protobuf_bundle_scores_like_json(tmp_path):
    from flink_ml_udf.mleap import load_bundle
    from tests.bundle_protobuf import to_protobuf

    source = bw.write_bundle(
        tmp_path / "json", model_node("bisecting_k_means", {}, files={"tree.json": cluster_tree_json(TREE)})
    )
    model = load_bundle(to_protobuf(source, str(tmp_path / "pb")))
    assert (tmp_path / "pb" / "root" / "tree.pb").exists()
    x = np.random.default_rng(9).normal(0, 3, (200, 2))
    np.testing.assert_array_equal(score(model, x)["prediction"], expected_bisecting(x))
