"""The columnar batch every op reads and extends.

A :class:`Frame` is what MLeap calls a LeapFrame, stored by column so that an op touches whole
numpy arrays: scalars are 1-D arrays, 1-D tensors 2-D ``(rows, size)`` arrays, strings object arrays
with ``None`` for null. Numeric nulls live in a separate mask, because a NaN is a value in MLeap and
not a null.

Rows that an op cannot score are handled by the frame's ``on_invalid`` policy, so that ops stay free
of policy: ``"raise"`` fails the batch with the op's reason (MLeap's own behaviour), ``"mark"`` records
the rows as rejected and lets the batch go on, so a UDF can answer NULL for exactly those rows. Ops
keep computing on rejected rows with harmless stand-in values; the results there are never read.
"""

from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from flink_ml_udf.errors import ScoringError
from flink_ml_udf.mleap.types import DataType

ON_INVALID = ("raise", "mark")


class Frame:
    """An ordered set of equally long, typed columns plus the rows rejected so far."""

    def __init__(self, n_rows: int, on_invalid: str = "raise", row_offset: int = 0) -> None:
        if on_invalid not in ON_INVALID:
            raise ValueError(f"on_invalid must be one of {ON_INVALID}, not {on_invalid!r}")
        self.n_rows = n_rows
        self.on_invalid = on_invalid
        self.row_offset = row_offset  # of a slice of a larger batch (rows() below): errors name batch rows
        self._columns: Dict[str, np.ndarray] = {}
        self._types: Dict[str, DataType] = {}
        self._nulls: Dict[str, np.ndarray] = {}
        self.rejected = np.zeros(n_rows, dtype=bool)
        self.skipped = np.zeros(n_rows, dtype=bool)
        self.reasons: List[str] = []

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Tuple[np.ndarray, DataType]],
        on_invalid: str = "raise",
    ) -> "Frame":
        """Build a frame from ``name -> (values, type)``; numeric NaN in a nullable column stays NaN."""
        lengths = {len(values) for values, _ in columns.values()}
        if len(lengths) > 1:
            raise ScoringError(f"columns differ in length: {sorted(lengths)}")
        frame = cls(lengths.pop() if lengths else 0, on_invalid)
        for name, (values, dtype) in columns.items():
            frame.add(name, values, dtype)
        return frame

    # -- columns -----------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    @property
    def names(self) -> List[str]:
        return list(self._columns)

    def type_of(self, name: str) -> DataType:
        return self._types[name]

    def add(self, name: str, values: np.ndarray, dtype: DataType, nulls: Optional[np.ndarray] = None) -> None:
        """Append a column; MLeap never replaces one, so an existing name is an error."""
        if name in self._columns:
            raise ScoringError(f"column {name!r} already exists in the frame")
        if len(values) != self.n_rows:
            raise ScoringError(f"column {name!r} has {len(values)} rows, the frame has {self.n_rows}")
        self._columns[name] = values
        self._types[name] = dtype
        if nulls is not None and nulls.any():
            self._nulls[name] = nulls

    def get(self, name: str, who: str) -> np.ndarray:
        """The values of column ``name``, read by ``who`` (named in the error if it is missing)."""
        try:
            return self._columns[name]
        except KeyError:
            raise ScoringError(
                f"{who}: input column {name!r} is not in the frame (columns: {', '.join(self._columns) or 'none'})"
            ) from None

    def nulls(self, name: str) -> Optional[np.ndarray]:
        """Boolean mask of null rows in a numeric or tensor column, or ``None`` if it has none (a cheap
        "any nulls?" test for fast paths; ops read :meth:`null_mask`)."""
        values = self._columns[name]
        if values.dtype == object:
            mask = pd.isna(values)
            return mask if mask.any() else None
        return self._nulls.get(name)

    def null_mask(self, name: str) -> np.ndarray:
        """Boolean mask of the null rows of column ``name``; all false when it has none, never ``None``."""
        mask = self.nulls(name)
        return np.zeros(self.n_rows, dtype=bool) if mask is None else mask

    # -- input readers: the checks every op makes on what it reads, written once -----------------
    def scalars(self, name: str, who: str, nullable: bool = False) -> np.ndarray:
        """Numeric scalar column ``name`` as float64, read by ``who``; unless ``nullable``, its null rows
        are rejected (MLeap: ``NullPointerException: trying to cast null to non-nullable value``)."""
        values = np.asarray(self.get(name, who), dtype=np.float64)
        if values.ndim != 1:
            raise ScoringError(f"{who}: input column {name!r} must hold scalars, found a {values.ndim}-D array")
        if not nullable:
            self.require_non_null(name, who)
        return values

    def vectors(self, name: str, who: str, size: Optional[int] = None) -> np.ndarray:
        """Vector column ``name`` as float64 ``(rows, size)``, read by ``who``: null rows rejected, the
        width checked when ``size`` is known."""
        values = self.get(name, who)
        self.require_non_null(name, who)
        if values.ndim != 2 or (size is not None and values.shape[1] != size):
            if values.ndim == 2:
                found = str(values.shape[1])
            else:
                found = "a scalar" if values.ndim == 1 else f"a {values.ndim}-D array"
            raise ScoringError(f"{who}: input column {name!r} has size {found}, expected {size}")
        return np.asarray(values, dtype=np.float64)

    def lists(self, name: str, who: str) -> List[list]:
        """The lists of list column ``name``, read by ``who``; null rows are rejected (MLeap fails on a
        null list) and read as ``[]``."""
        values = self.get(name, who)
        nulls = self.require_non_null(name, who)
        return [[] if null else list(items) for items, null in zip(values, nulls)]

    def items(self) -> Iterable[Tuple[str, np.ndarray, DataType]]:
        for name, values in self._columns.items():
            yield name, values, self._types[name]

    # -- rows that cannot be scored ----------------------------------------------------------
    def reject(self, rows: np.ndarray, reason: str) -> None:
        """Rows ``rows`` (a boolean mask) cannot be scored for ``reason``; apply the policy."""
        rows = rows & ~self.rejected
        if not rows.any():
            return
        if self.on_invalid == "raise":
            first = int(np.flatnonzero(rows)[0]) + self.row_offset
            count = int(rows.sum())
            raise ScoringError(f"{reason} (row {first}{'' if count == 1 else f' and {count - 1} more'})")
        self.rejected |= rows
        self.reasons.append(f"{reason} ({int(rows.sum())} rows)")

    def skip(self, rows: np.ndarray) -> None:
        """Rows an op filters out on purpose (MLeap ``handle_invalid: skip``)."""
        self.skipped |= rows

    def require_non_null(self, name: str, who: str, why: str = "") -> np.ndarray:
        """Reject the null rows of column ``name`` (read by ``who``; ``why`` says why it cannot be null),
        and return their mask."""
        mask = self.null_mask(name)
        self.reject(mask, f"{who}: input column {name!r} is null" + (f" ({why})" if why else ""))
        return mask

    # -- slices of a batch too large for the memory budget -----------------------------------
    def rows(self, start: int, stop: int, names: Sequence[str]) -> "Frame":
        """Rows ``start:stop`` of columns ``names`` as a frame of their own (views), to score a batch in
        slices; :meth:`take_rows` brings chosen results back."""
        part = Frame(stop - start, self.on_invalid, self.row_offset + start)
        for name in names:
            values = self._columns[name]
            part._columns[name] = values[start:stop]
            part._types[name] = self._types[name]
            if name in self._nulls and self._nulls[name][start:stop].any():
                part._nulls[name] = self._nulls[name][start:stop]
        part.rejected[:] = self.rejected[start:stop]
        part.skipped[:] = self.skipped[start:stop]
        return part

    def take_rows(self, part: "Frame", start: int, names: Sequence[str]) -> None:
        """Copy columns ``names`` of the scored slice ``part`` (from :meth:`rows`) into rows ``start..``;
        a column is created, full height, by the first slice that brings it."""
        stop = start + part.n_rows
        for name in names:
            values = part.get(name, "slice")
            if name not in self._columns:
                self._columns[name] = np.empty((self.n_rows,) + values.shape[1:], dtype=values.dtype)
                self._types[name] = part.type_of(name)
            target = self._columns[name]
            if target.shape[1:] != values.shape[1:]:
                raise ScoringError(f"column {name!r} changes width between slices of one batch")
            target[start:stop] = values
            if name in part._nulls:
                self._nulls.setdefault(name, np.zeros(self.n_rows, dtype=bool))[start:stop] = part._nulls[name]
        self.rejected[start:stop] |= part.rejected
        self.skipped[start:stop] |= part.skipped
        self.reasons.extend(part.reasons)

    @property
    def kept(self) -> np.ndarray:
        """Rows that are neither rejected nor skipped: the ones whose outputs are meaningful."""
        return ~(self.rejected | self.skipped)
