"""Memory budgets: what a bundle may cost at load and what one batch may cost at scoring.

A few bytes of attributes can ask for a lot of memory: a ``dct`` of input size 10^6 is a 8 TB
matrix, a categorical split on category 10^12 a 931 GiB table, a ``one_hot_encoder`` of size 10^12
an 8 TB row. Sizes are therefore checked against two budgets *before* anything is allocated:

- **load**: arrays an op builds from its attributes at load (matrices, tables) add up to at most
  the bundle's ``max_bundle_bytes``, the same figure its files may unpack to;
- **batch**: the columns one batch holds at once (``max_batch_bytes``, default 1 GiB). One row of
  every output must fit, or the bundle is refused at load; a larger batch is scored in slices of
  rows that fit (when the caller keeps only a few columns) or refused before it is allocated.
"""

from __future__ import annotations

from typing import Callable, Optional

from flink_ml_udf.errors import FlinkMlUdfError

DEFAULT_MAX_BATCH_BYTES = 1 << 30
_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def format_bytes(size: int) -> str:
    """``1073741824`` → ``1 GiB``; sizes past a few TiB stay in TiB."""
    for unit, name in _UNITS:
        if size >= unit:
            value = size / unit
            return f"{value:.0f} {name}" if value >= 10 or value == int(value) else f"{value:.1f} {name}"
    return f"{size} bytes"


class LoadBudget:
    """Bytes that ops of one bundle may allocate at load, counted as they reserve them."""

    def __init__(self, limit: int, setting: str = "max_bundle_bytes") -> None:
        self.limit = limit
        self.setting = setting
        self.used = 0

    def reserve(self, size: int, what: str, error: Callable[[str], FlinkMlUdfError]) -> None:
        """Account for ``size`` bytes of ``what``; past the limit, raise ``error(message)``."""
        if size < 0 or self.used + size > self.limit:
            raise error(
                f"{what} would take {format_bytes(size)} at load, more than the {format_bytes(self.limit - self.used)} "
                f"left of the load budget ({self.setting} = {format_bytes(self.limit)})"
            )
        self.used += size


def vector_bytes(width: Optional[int], itemsize: int = 8) -> int:
    """Bytes one row of a column of ``width`` values takes (a scalar or an unknown width counts one)."""
    return itemsize * (1 if width is None else max(int(width), 1))


def rows_that_fit(row_bytes: int, budget: int) -> int:
    """How many rows of ``row_bytes`` fit in ``budget`` bytes (at least one, if one fits at all)."""
    return budget // max(row_bytes, 1)
