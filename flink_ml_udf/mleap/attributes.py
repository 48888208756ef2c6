"""Typed access to a node's ``model.json`` attributes.

MLeap encodes each attribute as a *Value*: a scalar object (``{"double": 1.5}``), a list
(``{"type": "list", "string": [...]}``) or a tensor (``{"type": "tensor", "double": [...],
"shape": {...}}``). The JVM's Scala writer drops fields equal to their default, so ``{}`` means 0,
false or "", and an empty list is ``{"type": "list"}``; the getters here fill those defaults the same way.

The JVM getters are key-exact (``{"long": 5}`` read as an int is 0). The Python sklearn writer stores
every ``int`` as ``long`` and every ``float`` as ``double``, so the numeric getters here accept any
numeric key instead of silently reading 0: a bundle either scores the way its author meant, or
fails with an error that names the attribute. Integers must fit the JVM type they stand for
(``long``: 64 bits), and tensor dimensions must be non-negative and agree with the values.

MLeap's Python writer before 0.16 wrote an n-dimensional tensor's shape as one dimension whose
``size`` is the whole shape list (``{"dimensions": [{"size": [3, 4]}]}``); that generation is read too.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from flink_ml_udf.errors import BundleError, brief
from flink_ml_udf.mleap.types import DataType

_NUMERIC_KEYS = ("double", "float", "long", "int", "short", "byte")
_TENSOR_BASES = ("double", "float", "long", "int", "short", "byte", "boolean", "string")
_MISSING = object()
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


class Attributes:
    """The attributes of one node, with getters that name the attribute in every error."""

    def __init__(self, values: Mapping[str, Any], context: str) -> None:
        self._values = dict(values)
        self.context = context

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> List[str]:
        return list(self._values)

    # -- scalars -----------------------------------------------------------------------------
    def double(self, name: str, default: Any = _MISSING) -> float:
        value = self._scalar(name, default)
        if value is None:
            return default
        number = self._number(name, value, _NUMERIC_KEYS, 0.0)
        try:
            return float(number)
        except OverflowError:
            raise self.error(name, f"expected a double, found {brief(number)}") from None

    def long(self, name: str, default: Any = _MISSING) -> int:
        value = self._scalar(name, default)
        if value is None:
            return default
        number = self._number(name, value, ("long", "int", "short", "byte"), 0)
        if isinstance(number, float) and not number.is_integer():
            raise self.error(name, f"expected an integer, found {brief(number)}")
        number = int(number)
        if not _LONG_MIN <= number <= _LONG_MAX:
            raise self.error(name, f"expected a 64-bit integer, found {brief(number)}")
        return number

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._scalar(name, default)
        if value is None:
            return default
        found = value.get("boolean", False)
        if not isinstance(found, bool):
            raise self.error(name, f"expected a boolean, found {brief(found)}")
        return found

    def string(self, name: str, default: Any = _MISSING) -> str:
        value = self._scalar(name, default)
        if value is None:
            return default
        found = value.get("string", "")
        if not isinstance(found, str):
            raise self.error(name, f"expected a string, found {brief(found)}")
        return found

    # -- lists -------------------------------------------------------------------------------
    def string_list(self, name: str, default: Any = _MISSING) -> List[str]:
        items = self._list(name, "string", default)
        if items is None:
            return default
        if not all(isinstance(item, str) for item in items):
            raise self.error(name, f"expected a list of strings, found {_describe(items)}")
        return list(items)

    def double_list(self, name: str, default: Any = _MISSING) -> np.ndarray:
        items = self._list(name, _NUMERIC_KEYS, default)
        if items is None:
            return default
        return self._float_array(name, items)

    def long_list(self, name: str, default: Any = _MISSING) -> List[int]:
        items = self._list(name, ("long", "int"), default)
        if items is None:
            return default
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            raise self.error(name, f"expected a list of integers, found {_describe(items)}")
        if any(not _LONG_MIN <= item <= _LONG_MAX for item in items):
            raise self.error(name, "expected 64-bit integers, found a larger one")
        return list(items)

    def boolean_list(self, name: str, default: Any = _MISSING) -> List[bool]:
        items = self._list(name, "boolean", default)
        if items is None:
            return default
        if not all(isinstance(item, bool) for item in items):
            raise self.error(name, f"expected a list of booleans, found {_describe(items)}")
        return list(items)

    def basic_type_list(self, name: str, default: Any = _MISSING) -> List[str]:
        """A list of MLeap basic type names (``"double"``, ``"string"``, ...)."""
        items = self._list(name, "basic_type", default)
        if items is None:
            return default
        if not all(isinstance(item, str) for item in items):
            raise self.error(name, f"expected a list of type names, found {_describe(items)}")
        return list(items)

    def tensor_list(self, name: str, default: Any = _MISSING) -> List[np.ndarray]:
        """A list of numeric tensors (k-means centers, GMM covariances), each as a flat float64 array
        in stored order; :meth:`tensor_list_dims` gives their shapes."""
        items = self._list(name, "tensor", default)
        if items is None:
            return default
        return [self._tensor_values(f"{name}[{i}]", item) for i, item in enumerate(items)]

    def tensor_list_dims(self, name: str) -> List[Optional[List[int]]]:
        return [self.tensor_dims(f"{name}[{i}]", item) for i, item in enumerate(self._list(name, "tensor", _MISSING))]

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        """The undecoded JSON Value, for ops whose attribute type depends on another attribute."""
        value = self._get(name, default)
        return default if value is None else value

    def data_shape_list(self, name: str) -> List[DataType]:
        items = self._list(name, "data_shape", _MISSING)
        return [self._data_shape(name, i, item) for i, item in enumerate(items)]

    # -- tensors -----------------------------------------------------------------------------
    def tensor(self, name: str, default: Any = _MISSING) -> np.ndarray:
        """A numeric tensor as a flat float64 array in stored order (MLeap matrices are column-major:
        callers reshape with :meth:`tensor_dims`)."""
        value = self._get(name, default)
        if value is None:
            return default
        if not isinstance(value, dict) or value.get("type") != "tensor":
            raise self.error(name, f"expected a tensor, found {_describe(value)}")
        return self._tensor_values(name, value)

    def _tensor_values(self, name: str, value: Any) -> np.ndarray:
        if not isinstance(value, dict):
            raise self.error(name, f"expected a tensor, found {_describe(value)}")
        bases = [key for key in _TENSOR_BASES if key in value]
        if not bases:  # the Scala writer drops an empty values array
            flat: List[Any] = []
        elif bases[0] in ("string", "boolean"):
            raise self.error(name, f"expected a numeric tensor, found a {bases[0]} tensor")
        else:
            flat = value[bases[0]]
        array = self._float_array(name, flat)
        dims = self.tensor_dims(name, value)
        expected = math.prod(dims) if dims else 1
        if dims is not None and expected != array.size:
            raise self.error(name, f"tensor has {array.size} values but its shape {list(dims)} needs {expected}")
        return array

    def tensor_dims(self, name: str, value: Optional[Mapping[str, Any]] = None) -> Optional[List[int]]:
        """The declared dimensions of tensor attribute ``name`` (``None`` when it has no shape)."""
        value = self._get(name, _MISSING) if value is None else value
        if not isinstance(value, dict):
            raise self.error(name, f"expected a tensor, found {_describe(value)}")
        shape = value.get("shape")
        if shape is None:
            return None
        try:
            sizes = [d.get("size", 0) for d in shape.get("dimensions", [])]
            if len(sizes) == 1 and isinstance(sizes[0], list):  # MLeap's Python writer before 0.16
                sizes = sizes[0]
            dims = [_whole(size) for size in sizes]
        except (AttributeError, TypeError, ValueError, OverflowError):
            raise self.error(name, f"malformed tensor shape {brief(shape)}") from None
        if any(d < 0 for d in dims):
            raise self.error(name, f"tensor shape {dims} has a negative dimension")
        return dims

    # -- plumbing ----------------------------------------------------------------------------
    def error(self, name: str, message: str) -> BundleError:
        return BundleError(f"{self.context} → attribute {name}: {message}")

    def _get(self, name: str, default: Any) -> Any:
        if name in self._values:
            if self._values[name] is None:  # `"name": null` is no Value at all (the JVM fails to read it)
                raise self.error(name, "expected a value, found null")
            return self._values[name]
        if default is _MISSING:
            raise self.error(name, "required attribute is missing")
        return None

    def _scalar(self, name: str, default: Any) -> Optional[Dict[str, Any]]:
        value = self._get(name, default)
        if value is None:
            return None
        if not isinstance(value, dict) or "type" in value:
            raise self.error(name, f"expected a scalar value, found {_describe(value)}")
        return value

    def _list(self, name: str, keys: Any, default: Any) -> Optional[List[Any]]:
        value = self._get(name, default)
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("type") != "list":
            raise self.error(name, f"expected a list value, found {_describe(value)}")
        keys = (keys,) if isinstance(keys, str) else keys
        present = [key for key in keys if key in value]
        other = [key for key in value if key != "type" and key not in keys]
        if not present and other:
            raise self.error(name, f"expected a list of {'/'.join(keys)}, found a list of {other[0]}")
        items = value[present[0]] if present else []
        if not isinstance(items, list):
            raise self.error(name, f"expected a JSON array, found {_describe(items)}")
        return items

    def _number(self, name: str, value: Mapping[str, Any], keys: tuple, zero: Any) -> Any:
        present = [key for key in keys if key in value]
        if not present:
            other = [key for key in value if key not in keys]
            if other:
                key = other[0] if len(other[0]) <= 40 else brief(other[0])  # JSON keys are strings
                raise self.error(name, f"expected a number, found a {key} value")
            return zero  # the Scala writer omits zeros
        found = value[present[0]]
        if found is None:  # spray-json writes NaN and infinities as null
            return math.nan
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            raise self.error(name, f"expected a number, found {brief(found)}")
        return found

    def _float_array(self, name: str, items: List[Any]) -> np.ndarray:
        if any(isinstance(item, bool) for item in items):  # numpy would read true as 1.0
            raise self.error(name, f"expected numbers, found {_describe(items)}")
        try:
            return np.array([math.nan if item is None else item for item in items], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise self.error(name, f"expected numbers, found {_describe(items)}") from None

    def _data_shape(self, name: str, index: int, item: Any) -> DataType:
        if not isinstance(item, dict) or item.get("base") not in ("scalar", "list", "tensor"):
            raise self.error(name, f"element {index}: expected a data shape, found {_describe(item)}")
        dims = None
        if "tensorShape" in item:
            try:
                dims = tuple(_whole(d.get("size", 0)) for d in item["tensorShape"].get("dimensions", []))
            except (AttributeError, TypeError, ValueError, OverflowError):
                raise self.error(name, f"element {index}: malformed tensorShape {brief(item['tensorShape'])}") from None
        nullable = item.get("isNullable", True)
        if not isinstance(nullable, bool):
            raise self.error(name, f"element {index}: isNullable must be true or false, found {brief(nullable)}")
        return DataType("double", item["base"], dims, nullable)

    def data_shape(self, name: str, default: Any = _MISSING) -> DataType:
        """One data shape Value (``{"data_shape": {...}}``), as Spark's binarizer writes ``input_shapes``."""
        value = self._scalar(name, default)
        if value is None:
            return default
        if "data_shape" not in value:
            raise self.error(name, f"expected a data shape, found {_describe(value)}")
        return self._data_shape(name, 0, value["data_shape"])


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type", "scalar")
        kind = kind if isinstance(kind, str) and len(kind) <= 40 else brief(kind)
        keys = sorted(value)
        return f"a {kind} value with keys {keys if len(keys) <= 8 else brief(keys)}"
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a list of {', '.join(kinds) or 'nothing'}"
    return f"{type(value).__name__} {brief(value)}"


def _whole(size: Any) -> int:
    """A dimension size: an integer (or an integral float, as some writers store it), never a bool."""
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size != int(size):
        raise ValueError(f"not a whole number: {brief(size)}")
    return int(size)
