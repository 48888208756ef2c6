"""One JSON parser for every JSON text this package reads from outside: bundle files, tree lines,
LeapFrames.

``json.loads`` lets through what a hostile file can use against its reader: nesting deep enough to
exhaust the stack (``RecursionError``), integers too long to convert, text that is not UTF-8, and
objects naming a key twice (the last silently wins). Here each is an error of the caller's type
that names the file and the fault.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, List, Tuple, Union

from flink_ml_udf.errors import FlinkMlUdfError, brief


def _unique_keys(pairs: List[Tuple[str, Any]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)  # built once: json.loads(**hooks) builds one per call


def parse_json(data: Union[bytes, str], where: str, error: Callable[[str], FlinkMlUdfError], what: str = "JSON") -> Any:
    """The document in ``data``; ``where`` names the file, ``error`` builds the caller's error type."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where} is not UTF-8 text (byte {exc.start}: 0x{data[exc.start]:02x})") from None
    try:
        return _DECODER.decode(data)
    except _DuplicateKey as exc:
        raise error(f"{where}: an object names key {exc.key!r} twice") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid {what}: {exc}") from None
    except RecursionError:
        raise error(f"{where} is not valid {what}: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise error(f"{where} is not valid {what}: {exc}") from None


def whole_number(value: Any) -> int:
    """A JSON integer (or an integral float, as some writers store one); ``ValueError`` otherwise,
    NaN and ±inf (JSON ``Infinity``) included. Booleans are not numbers here, although Python counts
    them as ints."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a whole number, found {brief(value)}")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise ValueError(f"expected a whole number, found {brief(value)}")
    return int(value)


def real_number(value: Any) -> float:
    """A JSON number as a double (``null`` is NaN, as spray-json writes NaN); ``ValueError`` otherwise."""
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, found {brief(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"expected a double, found {brief(value)}") from None
