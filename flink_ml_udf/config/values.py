"""Single values of a config file: sizes, durations, numbers, source settings by their kind, and
``${NAME}`` interpolation that never lets a value from the environment into a message."""

from __future__ import annotations

import math
import os
import re
from typing import Any, List, Mapping, Optional, Tuple

from flink_ml_udf.config.keys import MAX_TIMEOUT_SECONDS
from flink_ml_udf.errors import brief
from flink_ml_udf.interpolate import interpolate_marked

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def unknown_keys(mapping: Mapping[str, Any], allowed: Tuple[str, ...], where: str) -> List[str]:
    return [
        f"{where} → key {brief(key)}: unknown key (allowed: {', '.join(allowed)})"
        for key in mapping
        if key not in allowed
    ]


def setting_value(value: Any, metadata: Mapping[str, Any], base_dir: str) -> Tuple[Any, Optional[str]]:
    """One source setting's value by its kind (see flink_ml_udf/sources.py), or what is wrong with it."""
    kind = metadata.get("kind")
    if kind == "seconds":
        number = finite_number(value)
        if number is None or number <= 0:
            finite = "" if number is not None or not isinstance(value, float) else " finite"
            return None, f"expected a positive{finite} number of seconds, found {brief(value)}"
        if number > MAX_TIMEOUT_SECONDS:
            return None, f"expected at most {MAX_TIMEOUT_SECONDS:.0f} seconds, found {brief(value)}"
        return number, None
    if kind == "retries":
        number = finite_number(value)
        if number is None or not 0 <= number <= 10 or number != int(number):
            return None, f"expected a whole number from 0 to 10, found {brief(value)}"
        return int(number), None
    if kind == "flag":
        flag = {"true": True, "false": False}.get(value.lower()) if isinstance(value, str) else None
        if isinstance(value, bool):
            flag = value
        if flag is None:
            return None, f"expected true or false, found {brief(value)}"
        return flag, None
    if kind == "choice" and (not isinstance(value, str) or value not in metadata["choices"]):
        return None, f"{brief(value)} is not one of {', '.join(metadata['choices'])}"
    if not isinstance(value, str) or not value.strip():
        return None, f"expected a non-empty string, found {brief(value)}"
    if kind == "path":
        return os.path.normpath(os.path.join(base_dir, os.path.expanduser(value))), None
    return value, None


def finite_number(value: Any) -> Optional[float]:
    """A finite number from a YAML number or a numeric string (e.g. interpolated); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def size_bytes(value: Any) -> Optional[int]:
    """Bytes from ``500MiB`` / ``1GiB`` / a number; None unless a positive whole size."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and len(value) > 40):
        return None
    match = _SIZE.match(str(value))
    if match is None or int(match.group(1)) <= 0:
        return None
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def parse_duration(value: Any) -> Optional[float]:
    """Seconds from ``60s``, ``500ms``, ``2m``, ``1h`` or a plain number of seconds; None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    match = _DURATION.match(str(value))
    if match is None:
        return None
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def interpolate_value(value: Any, environ: Optional[Mapping[str, str]]) -> Any:
    """``${NAME}`` replaced in a string or a list of strings; a value from the environment keeps the
    reference as its ``repr``, so the messages above name the variable, never its value."""
    if isinstance(value, str):
        return interpolate_marked(value, environ)
    if isinstance(value, list):
        return [interpolate_value(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: interpolate_value(item, environ) for key, item in value.items()}
    return value
