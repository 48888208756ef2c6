"""Clustering: ``k_means``, ``bisecting_k_means`` and ``gaussian_mixture``.

Their ``prediction`` is an int cluster id (MLeap declares ``Int``, non-nullable). Distances are
always Euclidean, as in MLeap: Spark's ``distanceMeasure`` (cosine) is neither written nor honoured.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from flink_ml_udf.mleap.cluster_tree import ClusterTree, parse_cluster_tree_json, parse_cluster_tree_pb
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.vectors import squared_norms as jvm_squared_norms
from flink_ml_udf.mleap.kernels import EPSILON, argmax_first, argmin_total_order
from flink_ml_udf.mleap.numerics import FAST
from flink_ml_udf.mleap.ops.base import Column, register
from flink_ml_udf.mleap.ops.model_kernels import ExactWidth
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import INTEGER_NOT_NULL, vector

#: ``LinalgUtils.fastSquaredDistance``'s default precision.
PRECISION = 1e-6


def fast_squared_distance(
    center: np.ndarray,
    center_norm: float,
    x: np.ndarray,
    x_norm: np.ndarray,
    dot: np.ndarray,
    sparse: Optional[np.ndarray] = None,
    squared_norms: Callable[[np.ndarray], np.ndarray] = FAST.squared_norms,
) -> np.ndarray:
    """MLeap's ``LinalgUtils.fastSquaredDistance`` from one ``center`` to every row of ``x``.

    ``‖c‖² + ‖x‖² - 2 c·x`` when its error bound is below :data:`PRECISION`; otherwise the direct
    ``Σ (c - x)²`` (computed only where needed), except that rows the JVM holds as sparse vectors
    (``sparse``) first try the clamped formula with a second, tighter bound. ``squared_norms`` is
    the model's own (its numerics).
    """
    total = center_norm * center_norm + x_norm * x_norm
    gap = center_norm - x_norm
    with np.errstate(invalid="ignore", over="ignore"):
        fast = 2.0 * EPSILON * total / (gap * gap + EPSILON) < PRECISION
        distance = total - 2.0 * dot
        if sparse is not None and sparse.any():
            clamped = np.maximum(total - 2.0 * dot, 0.0)
            loose = EPSILON * (total + 2.0 * np.abs(dot)) / (clamped + EPSILON) > PRECISION
            use_clamped = sparse & ~fast & ~loose
            distance = np.where(use_clamped, clamped, distance)
            fast = fast | use_clamped
    if not fast.all():
        distance = np.where(fast, distance, squared_norms(center - x))
    return distance


class _Clustering(ExactWidth):
    """A clustering model: ``features`` in, an int ``prediction`` out."""

    def __init__(self, spec: NodeSpec, num_features: int) -> None:
        super().__init__(spec, num_features)
        self.outputs[0] = Column(self.outputs[0].name, INTEGER_NOT_NULL)

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def transform(self, frame: Frame) -> None:
        frame.add(self.outputs[0].name, self.predict(self.features(frame)), INTEGER_NOT_NULL)


@register("k_means")
class KMeans(_Clustering):
    """Nearest center by squared Euclidean distance, scanning centers in order like Spark's
    ``findClosest``: a center is skipped when ``(‖c‖ - ‖x‖)²`` already reaches the best distance,
    and only a strictly smaller distance wins (so ties keep the first center; all-NaN gives 0)."""

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        centers = attrs.tensor_list("cluster_centers")
        if not centers:
            raise attrs.error("cluster_centers", "needs at least one center")
        widths = {c.size for c in centers}
        if len(widths) != 1:
            raise attrs.error("cluster_centers", f"centers differ in length: {sorted(widths)}")
        self.centers = np.stack(centers)
        self.center_norms = np.sqrt(jvm_squared_norms(self.centers))
        num_features = attrs.long("num_features")
        if num_features != self.centers.shape[1]:
            raise attrs.error("num_features", f"is {num_features} but the centers have {self.centers.shape[1]} values")
        super().__init__(spec, num_features)

    def predict(self, x: np.ndarray) -> np.ndarray:
        kernels = self.numerics
        x_norm = np.sqrt(kernels.squared_norms(x))
        sparse = kernels.sparse_rows(x)  # the JVM's distance code branches on it (jvm numerics only)
        best = np.zeros(len(x), dtype=np.int64)
        best_distance = np.full(len(x), np.inf)
        for j, center in enumerate(self.centers):  # a loop over centers; each step covers all rows
            gap = self.center_norms[j] - x_norm
            with np.errstate(invalid="ignore"):
                candidate = gap * gap < best_distance
            dot = kernels.features_dot(x, center)
            distance = fast_squared_distance(
                center, self.center_norms[j], x, x_norm, dot, sparse, kernels.squared_norms
            )
            with np.errstate(invalid="ignore"):
                better = candidate & (distance < best_distance)
            best[better] = j
            best_distance = np.where(better, distance, best_distance)
        return best


@register("bisecting_k_means")
class BisectingKMeans(_Clustering):
    """Walk the cluster tree from the root, always into the child whose center is nearest
    (Scala ``minBy``: first minimum, NaN counts as largest); the leaf's ``index`` is the cluster.
    The nodes' stored norms are used as they are, never recomputed."""

    def __init__(self, spec: NodeSpec) -> None:
        self.tree = read_cluster_tree(spec)
        super().__init__(spec, self.tree.n_features)

    def predict(self, x: np.ndarray) -> np.ndarray:
        tree = self.tree
        kernels = self.numerics
        x_norm = np.sqrt(kernels.squared_norms(x))
        sparse = kernels.sparse_rows(x)
        node = np.zeros(len(x), dtype=np.int64)
        for _ in range(tree.depth):  # one level per step
            internal = np.unique(node[tree.children[node, 0] >= 0])
            step = node.copy()
            for parent in internal:  # a loop over the tree's internal nodes, each covering its rows
                rows = np.flatnonzero(node == parent)
                kids = tree.children[parent][tree.children[parent] >= 0]
                distance = np.empty((rows.size, kids.size))
                for j, kid in enumerate(kids):
                    center, xr = tree.centers[kid], x[rows]
                    distance[:, j] = fast_squared_distance(
                        center,
                        tree.norm[kid],
                        xr,
                        x_norm[rows],
                        kernels.features_dot(xr, center),
                        None if sparse is None else sparse[rows],
                        kernels.squared_norms,
                    )
                step[rows] = kids[argmin_total_order(distance)]
            node = step
        return tree.index[node]


def read_cluster_tree(spec: NodeSpec) -> ClusterTree:
    path = spec.bundle.formatted_file(spec.folder, "tree")
    where = f"{spec.context} → {path}"

    def reserve(size: int, what: str) -> None:
        spec.reserve(size, what)

    if path.endswith(".pb"):
        return parse_cluster_tree_pb(spec.bundle.read_bytes(path), where, reserve)
    return parse_cluster_tree_json(spec.bundle.read_text(path), where, reserve)


@register("gaussian_mixture")
class GaussianMixture(_Clustering):
    """Posterior cluster probabilities ``p_i ∝ EPS + w_i · pdf_i(x)``; prediction is their argmax.

    Each Gaussian is prepared once at load the way Spark's ``MultivariateGaussian`` does: an
    eigendecomposition of the covariance, eigenvalues at or below ``EPS · max · n`` dropped from the
    log-determinant and zeroed in the root-inverse, so a singular covariance scores instead of
    failing. LAPACK's eigenvectors are not bit-reproducible across libraries, so this agrees with
    the JVM to a tolerance only.

    MLeap declares the input width as ``len(weights)`` (a schema quirk); here it is the means' length.
    """

    def __init__(self, spec: NodeSpec) -> None:
        attrs = spec.attributes
        means = attrs.tensor_list("means")
        covariances = attrs.tensor_list("covs")
        weights = attrs.double_list("weights")
        k = weights.size
        if k == 0:
            raise attrs.error("weights", "needs at least one mixture component")
        if len(means) != k or len(covariances) != k:
            raise attrs.error("means", f"{len(means)} means and {len(covariances)} covs for {k} weights")
        f = means[0].size
        if any(m.size != f for m in means):
            raise attrs.error("means", f"means differ in length: {sorted({m.size for m in means})}")
        roots, offsets, constants = [], [], []
        for i, (mean, flat) in enumerate(zip(means, covariances)):
            if flat.size != f * f:
                raise attrs.error(f"covs[{i}]", f"has {flat.size} values, expected {f}x{f}")
            root, constant = _root_inverse(flat.reshape((f, f), order="F"), f)
            roots.append(root)
            offsets.append(root @ mean)
            constants.append(constant)
        self.roots = np.stack(roots)  # (K, F, F): v = R mu - R x
        self.offsets = np.stack(offsets)  # (K, F)
        self.constants = np.array(constants)  # (K,)
        self.weights = weights
        super().__init__(spec, f)
        self.probability_column = self.bind_optional_output(spec, "probability", vector(k))

    def probability(self, x: np.ndarray) -> np.ndarray:
        v = self.offsets[None, :, :] - np.einsum("kgf,rf->rkg", self.roots, x)
        log_pdf = self.constants[None, :] - 0.5 * np.einsum("rkg,rkg->rk", v, v)
        with np.errstate(over="ignore", invalid="ignore"):
            p = EPSILON + self.weights[None, :] * np.exp(log_pdf)
            return p / p.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return argmax_first(self.probability(x))

    def transform(self, frame: Frame) -> None:
        probability = self.probability(self.features(frame))
        frame.add(self.outputs[0].name, argmax_first(probability), INTEGER_NOT_NULL)
        if self.probability_column is not None:
            frame.add(self.probability_column, probability, self.outputs[1].dtype)


def _root_inverse(covariance: np.ndarray, f: int):
    """``(R, u)`` with ``R = D^-1/2 Uᵀ`` over the non-negligible eigenvalues and
    ``u = -0.5 (f log 2π + log det⁺)``, as Spark's ``MultivariateGaussian.calculateCovarianceConstants``."""
    values, vectors = np.linalg.eigh(covariance)
    tolerance = EPSILON * values.max() * values.size
    kept = values > tolerance
    with np.errstate(divide="ignore"):
        inverse_roots = np.where(kept, np.sqrt(1.0 / np.where(kept, values, 1.0)), 0.0)
    log_det = float(np.sum(np.log(values[kept])))
    constant = -0.5 * (f * math.log(2.0 * math.pi) + log_det)
    return inverse_roots[:, None] * vectors.T, constant
