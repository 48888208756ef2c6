"""The exact fma and the JVM dot products of flink_ml_udf.mleap.jvm.blas, checked against exact rationals."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from flink_ml_udf.mleap.jvm import blas


def rational_fma(a: float, b: float, c: float) -> float:
    """Reference for finite inputs whose exact result is a normal, non-zero double."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def same_bits(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return (actual.view(np.int64) == expected.view(np.int64)) | (np.isnan(actual) & np.isnan(expected))


def assert_fma_exact(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    expected = np.array([blas.fma_exact(x, y, z) for x, y, z in zip(a, b, c)])
    actual = blas.fma(a, b, c)
    bad = np.nonzero(~same_bits(actual, expected))[0]
    assert bad.size == 0, [(a[i], b[i], c[i], actual[i], expected[i]) for i in bad[:5]]


RNG_CASES = 20000


def test_fma_exact_hand_cases() -> None:
    # (2^27+1)(2^27-1) = 2^54 - 1: a plain multiply rounds it to 2^54 and loses the -1.
    assert blas.fma_exact(2.0**27 + 1, 2.0**27 - 1, -(2.0**54)) == -1.0
    assert (2.0**27 + 1) * (2.0**27 - 1) - 2.0**54 == 0.0
    # (1 + 2^-52)^2 = 1 + 2^-51 + 2^-104: the tail is below half an ulp, so it rounds down.
    assert blas.fma_exact(1 + 2.0**-52, 1 + 2.0**-52, 0.0) == 1 + 2.0**-51
    # ... unless an addend of -1 exposes it: 2^-51 + 2^-104 is exact.
    assert blas.fma_exact(1 + 2.0**-52, 1 + 2.0**-52, -1.0) == 2.0**-51 + 2.0**-104
    assert np.isnan(blas.fma_exact(np.inf, 0.0, 1.0))
    assert np.isnan(blas.fma_exact(np.inf, 1.0, -np.inf))
    assert blas.fma_exact(1e308, 10.0, np.inf) == np.inf
    assert blas.fma_exact(1e308, 10.0, -np.inf) == -np.inf
    assert blas.fma_exact(1e308, 10.0, 0.0) == np.inf
    assert str(blas.fma_exact(-0.0, 1.0, -0.0)) == "-0.0"
    assert str(blas.fma_exact(-0.0, 1.0, 0.0)) == "0.0"
    assert str(blas.fma_exact(3.0, 2.0, -6.0)) == "0.0"
    assert str(blas.fma_exact(-(2.0**-600), 2.0**-600, 0.0)) == "-0.0"  # underflows, keeps its sign
    assert blas.fma_exact(2.0**-537, 2.0**-537, 0.0) == 5e-324  # exactly the smallest subnormal


@pytest.mark.parametrize("seed", [0, 1])
def test_fma_matches_rationals_on_random_normals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b, c = (rng.standard_normal(RNG_CASES) for _ in range(3))
    expected = np.array([rational_fma(x, y, z) for x, y, z in zip(a, b, c)])
    assert same_bits(blas.fma(a, b, c), expected).all()
    # A plain multiply-add is wrong in a fair share of these: the cases are not trivial.
    assert (~same_bits(a * b + c, expected)).sum() > RNG_CASES // 10


def test_fma_under_cancellation() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(RNG_CASES), rng.standard_normal(RNG_CASES)
    c = -(a * b) * (1 + rng.integers(-4, 5, RNG_CASES) * 2.0**-52)
    expected = np.array([blas.fma_exact(x, y, z) for x, y, z in zip(a, b, c)])
    assert same_bits(blas.fma(a, b, c), expected).all()
    assert (~same_bits(a * b + c, expected)).sum() > RNG_CASES // 2


def test_fma_at_rounding_ties() -> None:
    # Products of two 27-bit odd halves need 54+ bits; addends on a coarse grid put the exact sum on
    # or next to a tie between two doubles.
    rng = np.random.default_rng(3)
    a = rng.integers(1, 2**26, RNG_CASES) + 0.5
    b = rng.integers(1, 2**26, RNG_CASES) + 0.5
    c = np.ldexp(rng.integers(-(2**20), 2**20, RNG_CASES).astype(np.float64), 30)
    assert_fma_exact(a, b, c)
    # Boundary integers around 2^53.
    a = rng.integers(2**52, 2**53, RNG_CASES).astype(np.float64)
    b = rng.choice([1 + 2.0**-52, 1 - 2.0**-53, 3.0, 0.75], RNG_CASES)
    c = rng.choice([-1.0, 0.5, -0.5, 1.5], RNG_CASES) * rng.integers(1, 8, RNG_CASES)
    assert_fma_exact(a, b, c)


def test_fma_across_scales_subnormals_and_overflow() -> None:
    rng = np.random.default_rng(4)
    n = 5000
    sign = rng.choice([-1.0, 1.0], n)
    a = sign * np.ldexp(rng.uniform(1, 2, n), rng.integers(-1074, 1023, n))
    b = np.ldexp(rng.uniform(1, 2, n), rng.integers(-1074, 1023, n))
    c = np.ldexp(rng.uniform(-2, 2, n), rng.integers(-1074, 1023, n))
    assert_fma_exact(a, b, c)
    # Moderate products with tiny or subnormal addends (the fast path, not the fallback).
    e = rng.integers(-400, 400, n)
    a = np.ldexp(rng.uniform(1, 2, n), e)
    b = np.ldexp(rng.uniform(-2, 2, n), -e + rng.integers(-60, 60, n))
    c = np.ldexp(rng.standard_normal(n), rng.integers(-1074, -900, n))
    assert_fma_exact(a, b, c)


def test_fma_special_values() -> None:
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, -5e-324, 1.7976931348623157e308, 2.0**-1022, 3.0]
    )
    a, b, c = (g.ravel() for g in np.meshgrid(special, special, special))
    assert_fma_exact(a, b, c)


def reference_ddot(x: np.ndarray, y: np.ndarray) -> float:
    """netlib Java11BLAS.ddot (models.md §6.2), one scalar fma at a time."""
    n = len(x)
    n4 = n - n % 4
    s = [0.0, 0.0, 0.0, 0.0]
    for i in range(0, n4, 4):
        for k in range(4):
            s[k] = blas.fma_exact(x[i + k], y[i + k], s[k])
    total = 0.0 + (((s[0] + s[1]) + s[2]) + s[3])
    for i in range(n4, n):
        total = blas.fma_exact(x[i], y[i], total)
    return total


@pytest.mark.parametrize("n", [0, 1, 3, 4, 7, 20, 27])
def test_ddot_j11_matches_the_scalar_recipe(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((300, n)) * np.exp(rng.uniform(-5, 5, (300, n)))
    y = rng.standard_normal(n)
    expected = np.array([reference_ddot(row, y) for row in x])
    assert same_bits(blas.ddot_j11(x, y), expected).all()


@pytest.mark.parametrize("n", [0, 3, 4, 7, 20])
def test_ddot_j11_pairs_rows_with_a_vector_per_row(n: int) -> None:
    """``y`` of shape (rows, n): each row dotted with its own vector (word2vec's ``dot(sum, sum)``)."""
    rng = np.random.default_rng(100 + n)
    x = rng.standard_normal((200, n)) * np.exp(rng.uniform(-5, 5, (200, n)))
    y = rng.standard_normal((200, n))
    assert same_bits(blas.ddot_j11(x, y), np.array([reference_ddot(a, b) for a, b in zip(x, y)])).all()
    assert same_bits(blas.ddot_j11(x, x), np.array([reference_ddot(a, a) for a in x])).all()


def test_ddot_j11_differs_from_numpy_matmul() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((1000, 20)), rng.standard_normal(20)
    expected = np.array([reference_ddot(row, y) for row in x])
    assert same_bits(blas.ddot_j11(x, y), expected).all()
    assert (~same_bits(x @ y, expected)).sum() > 50  # why the exact path exists


def test_sdot_is_a_plain_sequential_sum_over_non_zeros() -> None:
    x = np.array([[0.1, 0.0, 0.2, 0.0, 0.3], [np.nan, 0.0, 1.0, 0.0, 0.0]])
    y = np.array([3.0, np.inf, 7.0, -np.inf, 11.0])
    # Implicit zeros are never touched, so the infinite coefficients do not turn them into NaN.
    assert blas.sdot(x, y)[0] == (0.0 + 0.1 * 3.0) + 0.2 * 7.0 + 0.3 * 11.0
    assert np.isnan(blas.sdot(x, y)[1])


def test_stored_sparse_follows_spark_compressed() -> None:
    # size 10: sparse iff 1.5 * (nnz + 1) < 10, i.e. nnz <= 5; NaN counts as a non-zero.
    x = np.zeros((4, 10))
    x[1, :5] = 1.0
    x[2, :6] = 1.0
    x[3, :5] = 1.0
    x[3, 9] = np.nan
    assert blas.stored_sparse(x).tolist() == [True, True, False, False]


def test_jvm_dot_picks_the_path_per_row() -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((200, 12))
    x[:100, 3:] = 0.0  # 3 non-zeros of 12: sparse
    y = rng.standard_normal(12)
    out = blas.jvm_dot(x, y)
    assert same_bits(out[:100], blas.sdot(x[:100], y)).all()
    assert same_bits(out[100:], np.array([reference_ddot(row, y) for row in x[100:]])).all()


def reference_gemv(x: np.ndarray, a: np.ndarray, start: np.ndarray) -> np.ndarray:
    """netlib Java11BLAS.dgemv('N'), alpha = beta = 1 (models.md §6.3), for one vector x."""
    y = list(start)
    n = len(x)
    n4 = n - n % 4
    for c in range(0, n4, 4):
        for r in range(a.shape[0]):
            t = blas.fma_exact(x[c + 3], a[r, c + 3], y[r])
            t = blas.fma_exact(x[c + 2], a[r, c + 2], t)
            t = blas.fma_exact(x[c + 1], a[r, c + 1], t)
            y[r] = blas.fma_exact(x[c], a[r, c], t)
    for c in range(n4, n):
        for r in range(a.shape[0]):
            y[r] = blas.fma_exact(x[c], a[r, c], y[r])
    return np.array(y)


def test_jvm_margins_dense_and_sparse_rows() -> None:
    rng = np.random.default_rng(9)
    a, start = rng.standard_normal((3, 10)), rng.standard_normal(3)
    x = rng.standard_normal((60, 10))
    x[:30, 2:] = 0.0
    out = blas.jvm_margins(x, a, start)
    dense_expected = np.array([reference_gemv(row, a, start) for row in x[30:]])
    assert same_bits(out[30:], dense_expected).all()
    sparse_expected = np.array(
        [[(0.0 + row[0] * a[k, 0]) + row[1] * a[k, 1] + start[k] for k in range(3)] for row in x[:30]]
    )
    assert same_bits(out[:30], sparse_expected).all()


def test_model_dots_use_the_jvm_path_when_chosen() -> None:
    from flink_ml_udf.mleap.kernels import rows_times
    from flink_ml_udf.mleap.numerics import FAST, JVM

    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((500, 20)), rng.standard_normal(20)
    # The default path is per row (einsum), not BLAS's @: a row's bits never depend on its batch.
    dot = FAST.features_dot
    assert same_bits(dot(x, y), rows_times(x, y)).all()
    assert all(same_bits(dot(x[i : i + 1], y), dot(x, y)[i : i + 1]).all() for i in range(0, 500, 7))
    assert same_bits(JVM.features_dot(x, y), blas.ddot_j11(x, y)).all()


def test_row_products_do_not_depend_on_the_batch() -> None:
    """numpy's @ (OpenBLAS) gives a row different last bits in batches of different shapes; the
    kernels the ops use never do."""
    from flink_ml_udf.mleap.kernels import rows_times

    rng = np.random.default_rng(11)
    for _ in range(200):
        n, f, k = rng.integers(2, 40), rng.integers(1, 30), rng.integers(1, 6)
        x, m = rng.normal(size=(n, f)), rng.normal(size=(f, k))
        whole = rows_times(x, m)
        assert all(same_bits(rows_times(x[i : i + 1], m), whole[i : i + 1]).all() for i in range(n))
