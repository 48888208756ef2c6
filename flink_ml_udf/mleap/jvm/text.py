"""Java's text for numbers: ``Double.toString``, ``Float.toString`` and ``String.valueOf`` of frame values.

MLeap casts a number to a string this way wherever an op reads a numeric column as text
(``string_indexer``, ``string_map``, tokenizers, ``feature_hasher``); Python's ``repr`` differs
(``1e7`` is ``'10000000.0'`` in Python and ``"1.0E7"`` in Java).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Optional

import numpy as np


def java_double_string(value: float) -> str:
    """``Double.toString``: plain decimal for ``1e-3 <= |x| < 1e7``, else ``d.dddE±n``; shortest
    round-trip digits (JDK 19+; JDK 17 prints an extra digit for a few rare values)."""
    return _java_number_string(float(value), repr(float(value)))


def java_float_string(value: float) -> str:
    """``Float.toString`` of a value the frame holds as float64 (a Java ``float`` column)."""
    as_float = np.float32(value)
    return _java_number_string(float(as_float), str(as_float))


def _java_number_string(value: float, shortest: str) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    _, digits, exponent = Decimal(shortest.lstrip("-")).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    point = len(text) + exponent  # position of the decimal point within ``text``
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{text}"
        if point >= len(text):
            return f"{sign}{text}{'0' * (point - len(text))}.0"
        return f"{sign}{text[:point]}.{text[point:]}"
    mantissa = f"{text[0]}.{text[1:] or '0'}"
    return f"{sign}{mantissa}E{point - 1}"


def java_string_of(value: Any, base: str) -> str:
    """``String.valueOf`` of a frame value read as MLeap basic type ``base``."""
    if isinstance(value, str):
        return value
    if base == "boolean" or isinstance(value, (bool, np.bool_)):
        return "true" if bool(value) else "false"
    if base in ("byte", "short", "integer", "int", "long"):
        return str(int(value))
    if base == "float":
        return java_float_string(value)
    return java_double_string(value)


def java_strings(values: np.ndarray, base: str, nulls: Optional[np.ndarray] = None) -> np.ndarray:
    """A column as MLeap casts it to strings (object array): a string column as it is, a numeric one
    element by element through :func:`java_string_of` with the column's MLeap basic type ``base``,
    its null rows (``nulls``) ``None`` rather than the text of the placeholder value they hold."""
    if values.dtype == object:
        return values
    strings = np.array([java_string_of(v, base) for v in values.tolist()], dtype=object)
    if nulls is not None:
        strings[nulls] = None
    return strings
