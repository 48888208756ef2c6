"""Java's total order on doubles (``Double.compare``), as int64 keys: one function for every op."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.jvm.order import double_to_long_bits, total_order_keys

NEGATIVE_NAN = np.array([0xFFF8000000000001], dtype=np.uint64).view(np.float64)[0]  # sign set, a payload
PAYLOAD_NAN = np.array([0x7FF0000000000123], dtype=np.uint64).view(np.float64)[0]


def test_keys_sort_like_double_compare():
    ordered = [-np.inf, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 1e308, np.inf, np.nan]
    keys = total_order_keys(np.array(ordered))
    assert (np.diff(keys) > 0).all()
    shuffled = np.array([1.0, np.nan, -0.0, -np.inf, 0.0, -1.0])
    assert shuffled[np.argsort(total_order_keys(shuffled), kind="stable")].tolist()[:5] == [
        -np.inf,
        -1.0,
        -0.0,
        0.0,
        1.0,
    ]


def test_every_nan_is_one_key_above_infinity():
    """Java canonicalizes NaN (``doubleToLongBits``): a NaN with its sign bit set or another payload
    is equal to every NaN and above +Infinity, never below -Infinity."""
    assert np.isnan(NEGATIVE_NAN) and np.isnan(PAYLOAD_NAN)
    keys = total_order_keys(np.array([np.nan, NEGATIVE_NAN, PAYLOAD_NAN, np.inf]))
    assert keys[0] == keys[1] == keys[2] > keys[3]
    assert double_to_long_bits(np.array([NEGATIVE_NAN])).tolist() == [0x7FF8000000000000]
    assert double_to_long_bits(np.array([-0.0])).tolist() == [-(2**63)]
