"""Spark ``Vectors.norm``'s squared norm: a running sum of squares in index order."""

from __future__ import annotations

import numpy as np

from flink_ml_udf.mleap.jvm.vectors import squared_norms


def test_squared_norms_add_in_index_order():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 13)) * 10.0 ** rng.integers(-8, 8, size=(50, 13))
    expected = []
    for row in x:
        total = 0.0
        for v in row.tolist():  # Scala's loop, one double at a time
            total += v * v
        expected.append(total)
    assert squared_norms(x).tolist() == expected
    assert squared_norms(x[:, :0]).tolist() == [0.0] * 50
    assert squared_norms(np.array([[3.0, 4.0], [np.nan, 1.0]])).tolist()[0] == 25.0
    # a 3-D stack of rows reduces its last axis the same way
    assert squared_norms(x.reshape(5, 10, 13)).reshape(-1).tolist() == expected
