"""A loaded bundle: its op graph, its input and output schema, and ``transform``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap.budget import DEFAULT_MAX_BATCH_BYTES, LoadBudget, format_bytes, rows_that_fit
from flink_ml_udf.mleap.files import DEFAULT_MAX_UNPACKED_BYTES, BundleFiles, open_bundle_files
from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.numerics import DEFAULT_NUMERICS, numerics_named
from flink_ml_udf.mleap.ops import Column, Op
from flink_ml_udf.mleap.plan import ExecutionPlan
from flink_ml_udf.mleap.reader import BundleReader
from flink_ml_udf.mleap.types import DataType


@dataclass(frozen=True)
class BundleInfo:
    """What ``bundle.json`` says about the bundle, plus where it was read from."""

    location: str
    name: str
    format: str
    mleap_version: str
    timestamp: str
    uid: str


class Model:
    """An MLeap bundle ready to score batches of rows.

    ``max_batch_bytes`` bounds the columns one batch holds at once (see
    :mod:`flink_ml_udf.mleap.budget`): an op whose single output row exceeds it is refused here, at
    load; a batch whose rows do not fit is scored in slices of rows that do, or refused before
    anything is allocated.
    """

    def __init__(
        self,
        root: Op,
        info: BundleInfo,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        numerics: str = DEFAULT_NUMERICS,
    ) -> None:
        self.root = root
        self.info = info
        self.numerics = numerics  # what its ops were loaded with: they keep their kernels, this only names them
        self.input_schema: List[Column] = list(root.inputs)
        self.output_schema: List[Column] = list(root.outputs)
        self.plan = ExecutionPlan(root)
        self.max_batch_bytes = max_batch_bytes
        self.row_bytes = self._row_bytes()  # what one row of every op's outputs takes while scoring
        self.max_rows = rows_that_fit(self.row_bytes, max_batch_bytes)

    def _row_bytes(self) -> int:
        total = 0
        for op in self.ops:
            if op.children:  # a pipeline's outputs are its children's
                continue
            for column in op.inputs:  # the caller allocates inputs, but one row of each must fit too
                self._check_width(op, column, "input")
            actual = getattr(op, "output_row_bytes", None)  # an op whose declared shape is not what it holds
            if actual is not None:
                total += actual
                continue
            for column in op.outputs:
                total += self._check_width(op, column, "output")
            total += getattr(op, "scratch_row_bytes", 0)
        return total

    def _check_width(self, op: Op, column: Column, side: str) -> int:
        """Bytes one row of ``column`` takes; an error when one row alone exceeds the batch budget."""
        width = column_width(column)
        if 8 * width > self.max_batch_bytes:
            raise BundleError(
                f"bundle {self.info.location} → {op.who}: {side} column {column.name!r} holds {width} values "
                f"per row ({format_bytes(8 * width)}), more than the batch memory budget of "
                f"{format_bytes(self.max_batch_bytes)} (max_batch_bytes)"
            )
        return 8 * width

    @property
    def ops(self) -> List[Op]:
        """Every op in execution order, containers (pipelines) included."""
        return list(self.root.walk())

    @property
    def prediction_column(self) -> Column:
        """The pipeline's final prediction: the last op's ``prediction`` port, else its first output."""
        leaves = [op for op in self.ops if not op.children and op.outputs]
        if not leaves:
            raise BundleError(f"bundle {self.info.location}: has no op with an output column")
        last = leaves[-1]
        return last.outputs[0]

    def output(self, name: str) -> Column:
        for column in self.output_schema:
            if column.name == name:
                return column
        raise BundleError(
            f"bundle {self.info.location}: has no output column {name!r} "
            f"(outputs: {', '.join(c.name for c in self.output_schema)})"
        )

    def input(self, name: str) -> Column:
        for column in self.input_schema:
            if column.name == name:
                return column
        raise BundleError(
            f"bundle {self.info.location}: has no input column {name!r} "
            f"(inputs: {', '.join(c.name for c in self.input_schema)})"
        )

    def transform(self, frame: Frame, keep: Optional[Sequence[str]] = None) -> Frame:
        """Run every op over ``frame`` in place, appending their output columns; returns ``frame``.

        A batch with more rows than the batch budget holds is scored in slices when ``keep`` names
        the only output columns the caller reads (a UDF's results): each slice's other columns are
        dropped with the slice. Without ``keep`` such a batch is refused before anything is allocated.
        """
        try:
            self._check_shapes(frame)
            if frame.n_rows == 0:
                self._transform_empty(frame)
            elif frame.n_rows <= max(self.max_rows, 1):
                self.plan.run(frame)
            elif keep is None:
                raise ScoringError(
                    f"a batch of {frame.n_rows} rows needs {format_bytes(frame.n_rows * self.row_bytes)} for its "
                    f"output columns, more than the batch memory budget of {format_bytes(self.max_batch_bytes)} "
                    f"(max_batch_bytes); at most {self.max_rows} rows fit"
                )
            else:
                given = frame.names
                for start in range(0, frame.n_rows, self.max_rows):
                    part = frame.rows(start, min(start + self.max_rows, frame.n_rows), given)
                    self.plan.run(part)
                    frame.take_rows(part, start, keep)
        except ScoringError as exc:
            raise exc.within(f"bundle {self.info.location}") from exc
        return frame

    def _check_shapes(self, frame: Frame) -> None:
        """Every input the frame holds has the shape (scalar, list, tensor) the model reads: a string
        where a token list is expected would otherwise be read as a list of characters."""
        for column in self.input_schema:
            if column.name in frame:
                declared = frame.type_of(column.name)
                if declared.shape != column.dtype.shape:
                    raise ScoringError(
                        f"input column {column.name!r} is a {declared.shape} ({declared}), but the model reads a "
                        f"{column.dtype.shape} ({column.dtype})"
                    )

    def _transform_empty(self, frame: Frame) -> None:
        """No rows: every output column, empty, of its declared type (ops never see a zero-row batch)."""
        for column in self.input_schema:
            frame.get(column.name, "the model's input")
        for column in self.output_schema:
            dtype = column.dtype
            if dtype.shape == "tensor":
                values = np.zeros((0, column_width(column) if dtype.dims else 0))
            elif dtype.shape == "list" or dtype.base in ("string", "byte_string"):
                values = np.empty(0, dtype=object)
            else:
                values = np.zeros(0)
            frame.add(column.name, values, dtype)

    def transform_columns(
        self,
        columns: Mapping[str, Any],
        on_invalid: str = "raise",
    ) -> Frame:
        """Score plain arrays keyed by input column name (types taken from the input schema)."""
        typed: Dict[str, Tuple[np.ndarray, DataType]] = {}
        for column in self.input_schema:
            if column.name not in columns:
                raise ScoringError(f"bundle {self.info.location}: input column {column.name!r} is missing")
            typed[column.name] = (as_column_array(columns[column.name], column.dtype), column.dtype)
        return self.transform(Frame.from_columns(typed, on_invalid))


def as_column_array(values: Any, dtype: DataType) -> np.ndarray:
    """Coerce a sequence to the array layout a frame column of ``dtype`` uses."""
    if dtype.shape == "list":  # one Python list per row (element by element: equal lengths must not make 2-D)
        column = np.empty(len(values), dtype=object)
        for row, value in enumerate(values):
            column[row] = value
        return column
    if dtype.shape == "scalar" and dtype.base == "string":
        return np.asarray(values, dtype=object)
    if dtype.shape == "tensor":
        return np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    return np.asarray(values, dtype=np.float64)


def column_width(column: Column) -> int:
    """Values one row of ``column`` holds in a frame: a tensor's declared size, else one."""
    dims = column.dtype.dims
    if column.dtype.shape == "tensor" and dims and all(isinstance(d, int) and d >= 0 for d in dims):
        return max(math.prod(dims), 1)
    return 1


def load_bundle(
    location: str,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    numerics: str = DEFAULT_NUMERICS,
) -> Model:
    """Load a local bundle (folder or zip) into a :class:`Model`. ``max_unpacked_bytes`` bounds what its
    files unpack to and what its ops build at load; ``max_batch_bytes`` what a batch holds at once;
    ``numerics`` (``fast`` or ``jvm``) how its ops sum dot products (:mod:`flink_ml_udf.mleap.numerics`)."""
    kernels = numerics_named(numerics, f"bundle {location}")  # checked before any file is read
    files = open_bundle_files(location, max_unpacked_bytes)
    return load_bundle_files(files, LoadBudget(max_unpacked_bytes), max_batch_bytes, kernels.name)


def load_bundle_files(
    files: BundleFiles,
    load_budget: Optional[LoadBudget] = None,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    numerics: str = DEFAULT_NUMERICS,
) -> Model:
    reader = BundleReader(files, load_budget, numerics_named(numerics, f"bundle {files.location}"))
    info = reader.info
    root = reader.load_root()
    return Model(
        root,
        BundleInfo(
            location=files.location,
            name=str(info.get("name", "")),
            format=str(info.get("format")),
            mleap_version=str(info.get("version", "")),
            timestamp=str(info.get("timestamp", "")),
            uid=str(info.get("uid", "")),
        ),
        max_batch_bytes,
        numerics,
    )


def describe(model: Model) -> Dict[str, Any]:
    """A JSON-ready summary: what ``flink-ml-udf inspect`` prints."""
    return {
        "bundle": model.info.location,
        "name": model.info.name,
        "format": model.info.format,
        "mleap_version": model.info.mleap_version,
        "numerics": model.numerics,
        "ops": [{"name": op.name, "op": op.op} for op in model.ops],
        "inputs": [{"name": c.name, "type": str(c.dtype)} for c in model.input_schema],
        "outputs": [{"name": c.name, "type": str(c.dtype)} for c in model.output_schema],
        "prediction": model.prediction_column.name,
    }
