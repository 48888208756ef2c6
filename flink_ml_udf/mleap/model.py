"""A loaded bundle: its op graph, its input and output schema, and ``transform``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

import numpy as np

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap.files import DEFAULT_MAX_UNPACKED_BYTES, BundleFiles, open_bundle_files
from flink_ml_udf.mleap.frame import Frame
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
    """An MLeap bundle ready to score batches of rows."""

    def __init__(self, root: Op, info: BundleInfo) -> None:
        self.root = root
        self.info = info
        self.input_schema: List[Column] = list(root.inputs)
        self.output_schema: List[Column] = list(root.outputs)
        self.plan = ExecutionPlan(root)

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

    def transform(self, frame: Frame) -> Frame:
        """Run every op over ``frame`` in place, appending their output columns; returns ``frame``."""
        try:
            self.plan.run(frame)
        except ScoringError as exc:
            raise exc.within(f"bundle {self.info.location}") from exc
        return frame

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
    if dtype.shape == "scalar" and dtype.base == "string":
        return np.asarray(values, dtype=object)
    if dtype.shape == "tensor":
        return np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    return np.asarray(values, dtype=np.float64)


def load_bundle(location: str, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> Model:
    """Load a local bundle (folder or zip) into a :class:`Model`."""
    return load_bundle_files(open_bundle_files(location, max_unpacked_bytes))


def load_bundle_files(files: BundleFiles) -> Model:
    reader = BundleReader(files)
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
    )


def describe(model: Model) -> Dict[str, Any]:
    """A JSON-ready summary: what ``flink-ml-udf inspect`` prints."""
    return {
        "bundle": model.info.location,
        "name": model.info.name,
        "format": model.info.format,
        "mleap_version": model.info.mleap_version,
        "ops": [{"name": op.name, "op": op.op} for op in model.ops],
        "inputs": [{"name": c.name, "type": str(c.dtype)} for c in model.input_schema],
        "outputs": [{"name": c.name, "type": str(c.dtype)} for c in model.output_schema],
        "prediction": model.prediction_column.name,
    }
