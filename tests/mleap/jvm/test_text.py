"""Java's number text (``Double.toString``, ``Float.toString``, ``String.valueOf``), the one cast every
op that reads a number as a string uses. Expected strings are what the JVM prints (JDK 19+)."""

from __future__ import annotations

import numpy as np
import pytest

from flink_ml_udf.mleap.jvm.text import java_double_string, java_float_string, java_string_of, java_strings


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1.0"),
        (1e7, "1.0E7"),
        (1e-4, "1.0E-4"),
        (0.001, "0.001"),
        (123.456, "123.456"),
        (-0.0, "-0.0"),
        (12345678.9, "1.23456789E7"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (9999999.0, "9999999.0"),
    ],
)
def test_java_double_string(value, text):
    assert java_double_string(value) == text


@pytest.mark.parametrize(
    "value, text",
    [(0.1, "0.1"), (1e7, "1.0E7"), (16777216.0, "1.6777216E7"), (1e-5, "1.0E-5"), (-2.5, "-2.5")],
)
def test_java_float_string(value, text):
    assert java_float_string(value) == text


@pytest.mark.parametrize(
    "value, base, text",
    [
        (3.0, "long", "3"),
        (-7.0, "integer", "-7"),
        (1.0, "boolean", "true"),
        (0.0, "boolean", "false"),
        (1e7, "double", "1.0E7"),
        (1e7, "float", "1.0E7"),
        ("1e7", "string", "1e7"),
    ],
)
def test_java_string_of_follows_the_basic_type(value, base, text):
    assert java_string_of(value, base) == text


def test_java_strings_of_a_double_column_keeps_nulls_none():
    values = np.array([1e7, 1e-5, -0.0, np.nan, 0.0, np.nan])
    nulls = np.array([False, False, False, False, False, True])
    assert java_strings(values, "double", nulls).tolist() == ["1.0E7", "1.0E-5", "-0.0", "NaN", "0.0", None]
    assert java_strings(values[:2], "double").tolist() == ["1.0E7", "1.0E-5"]
    labels = np.array(["a", None], dtype=object)
    assert java_strings(labels, "string", np.array([False, True])) is labels  # strings pass as they are
