"""MLeap data types: what a column holds, as a bundle's ops declare it.

Only the shapes a frame column can take are modelled: a scalar, a list, or a tensor with optional
fixed dimensions. Columns are stored as numpy arrays (see :mod:`flink_ml_udf.mleap.frame`), and a
type says how to read one: a scalar is a 1-D array, a 1-D tensor of size ``k`` a 2-D ``(rows, k)``
array, a string or list column an object array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

NUMERIC_BASES = frozenset({"byte", "short", "integer", "long", "float", "double"})
SCALAR_BASES = NUMERIC_BASES | {"boolean", "string", "byte_string"}


@dataclass(frozen=True)
class DataType:
    """A column type: ``base`` element type, ``shape`` kind, tensor ``dims`` when known."""

    base: str
    shape: str = "scalar"  # "scalar" | "list" | "tensor"
    dims: Optional[Tuple[int, ...]] = None
    nullable: bool = True

    @property
    def is_numeric_scalar(self) -> bool:
        return self.shape == "scalar" and self.base in NUMERIC_BASES

    @property
    def is_vector(self) -> bool:
        """A 1-D tensor: what MLeap's model ops take as ``features``."""
        return self.shape == "tensor" and (self.dims is None or len(self.dims) == 1)

    @property
    def size(self) -> Optional[int]:
        """The length of a 1-D tensor, when the bundle declares it."""
        if self.shape == "tensor" and self.dims is not None and len(self.dims) == 1 and self.dims[0] >= 0:
            return self.dims[0]
        return None

    def __str__(self) -> str:
        nullable = "" if self.nullable else " not null"
        if self.shape == "scalar":
            return f"{self.base}{nullable}"
        if self.shape == "list":
            return f"list<{self.base}>{nullable}"
        dims = "" if self.dims is None else "[" + ", ".join(str(d) for d in self.dims) + "]"
        return f"tensor<{self.base}>{dims}{nullable}"


DOUBLE = DataType("double")
DOUBLE_NOT_NULL = DataType("double", nullable=False)
INTEGER_NOT_NULL = DataType("integer", nullable=False)
STRING = DataType("string")


def vector(size: Optional[int]) -> DataType:
    """A 1-D double tensor of ``size`` elements (``None``: size unknown)."""
    return DataType("double", "tensor", None if size is None else (int(size),))
