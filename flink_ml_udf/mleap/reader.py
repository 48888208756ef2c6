"""Read a bundle's files into a tree of ops.

Follows MLeap's own loader: ``bundle.json`` names the format, ``root/`` holds the root node, a
pipeline's children are the ``<name>.node`` folders its ``nodes`` attribute lists (in that order:
the folder listing is never consulted), and sub-models (forest trees) hold only a model file.

``bundle.json`` is always JSON; node, model and tree files are ``*.json`` for format ``json`` and
``*.pb`` for ``protobuf``. Protobuf files are decoded into the same dicts as their JSON twins
(:mod:`flink_ml_udf.mleap.protobuf_format`), so nothing past this module sees the difference. A
file missing in the bundle's format is looked up in the other one: bundles assembled or edited
by hand sometimes mix both, and the extension says unambiguously how to read each file.

Nodes nest as folders (``root/a.node/b.node``), so the reader bounds the nesting
(:data:`MAX_NESTING` folders deep) and refuses a node folder that is already being loaded (a pipeline
naming itself through ``..``): a clear error instead of a ``RecursionError``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Dict, List, Mapping, Optional

from flink_ml_udf.errors import BundleError, brief
from flink_ml_udf.mleap.attributes import Attributes
from flink_ml_udf.mleap.budget import LoadBudget
from flink_ml_udf.mleap.files import DEFAULT_MAX_UNPACKED_BYTES, BundleFiles, clean_path
from flink_ml_udf.mleap.json_document import parse_json
from flink_ml_udf.mleap.numerics import FAST, Numerics
from flink_ml_udf.mleap.ops import Op, op_class
from flink_ml_udf.mleap.protobuf_format import decode_model, decode_node
from flink_ml_udf.mleap.protobuf_schema import BASIC_TYPES, BASIC_TYPES_BEFORE_0_9
from flink_ml_udf.mleap.spec import BundleContext, ModelSpec, NodeSpec, Socket

FORMAT_EXTENSIONS = {"json": "json", "protobuf": "pb"}
_OTHER_EXTENSION = {"json": "pb", "pb": "json"}
#: Node and sub-model folders nest at most this deep (MLeap's own pipelines nest a few levels).
MAX_NESTING = 64
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")


def read_json(files: BundleFiles, path: str) -> Dict[str, Any]:
    document = parse_json(files.read_bytes(path), f"bundle {files.location}: {path}", BundleError)
    if not isinstance(document, dict):
        raise BundleError(f"bundle {files.location}: {path} must hold a JSON object")
    return document


def basic_types_of(mleap_version: Any) -> Mapping[int, str]:
    """The protobuf ``BasicType`` numbering a bundle was written with: MLeap 0.8 numbered BOOLEAN 0 ..
    DOUBLE 6; from 0.9 on, 0 is UNDEFINED and BOOLEAN 1 .. DOUBLE 7 (bundle-protobuf ``71bed96``)."""
    match = _VERSION.match(mleap_version) if isinstance(mleap_version, str) else None
    if match is not None and (int(match.group(1)), int(match.group(2))) < (0, 9):
        return BASIC_TYPES_BEFORE_0_9
    return BASIC_TYPES


class BundleReader:
    """Loads the op graph of one bundle. One instance per bundle; it keeps no state after load."""

    def __init__(self, files: BundleFiles, load_budget: Optional[LoadBudget] = None, numerics: Numerics = FAST) -> None:
        self.files = files
        self.info = read_json(files, "bundle.json")
        fmt = self.info.get("format")
        if not isinstance(fmt, str) or fmt not in FORMAT_EXTENSIONS:
            raise BundleError(f"bundle {files.location}: bundle.json format {brief(fmt)} is not 'json' or 'protobuf'")
        self.basic_types = basic_types_of(self.info.get("version"))
        self._loading: List[str] = []  # node folders being loaded, outermost first
        self.context = BundleContext(
            location=files.location,
            read_text=self._read_text,
            read_model=self.read_model,
            load_node=self.load_node,
            file_extension=FORMAT_EXTENSIONS[fmt],
            read_bytes=files.read_bytes,
            formatted_file=self.formatted_file,
            load_budget=load_budget or LoadBudget(DEFAULT_MAX_UNPACKED_BYTES),
            numerics=numerics,
        )

    def load_root(self) -> Op:
        return self.load_node("root")

    def _read_text(self, path: str) -> str:
        data = self.files.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"bundle {self.files.location}: {path} is not UTF-8 text: {exc}") from None

    def formatted_file(self, folder: str, stem: str) -> str:
        """``folder/stem.<ext>`` in the bundle's format, or in the other format when only that exists."""
        ext = self.context.file_extension
        preferred = posixpath.join(folder, f"{stem}.{ext}")
        if not self.files.exists(preferred):
            other = posixpath.join(folder, f"{stem}.{_OTHER_EXTENSION[ext]}")
            if self.files.exists(other):
                return other
        return preferred  # missing: reading it reports the file the format asks for

    def _read_document(self, path: str, where: str, kind: str) -> Dict[str, Any]:
        """A node or model file as a JSON-shaped dict, whichever format its extension says."""
        if path.endswith(".pb"):
            if kind == "node":
                return decode_node(self.files.read_bytes(path), f"{where}: {path}")
            return decode_model(self.files.read_bytes(path), f"{where}: {path}", self.basic_types)
        return read_json(self.files, path)

    def _check_nesting(self, folder: str) -> str:
        """``folder`` normalized; refused past :data:`MAX_NESTING` levels."""
        folder = clean_path(self.files.location, folder)
        if folder.count("/") >= MAX_NESTING:
            raise BundleError(
                f"bundle {self.files.location}: {folder[:200]}...: nodes nest more than {MAX_NESTING} folders deep"
            )
        return folder

    def read_model(self, folder: str) -> ModelSpec:
        """A sub-model: a model file only (forest trees)."""
        folder = self._check_nesting(folder)
        context = f"bundle {self.files.location} → model {folder}"
        op, attributes = self._read_model_file(folder, context)
        return ModelSpec(op, Attributes(attributes, f"{context} ({op})"), folder, f"{context} ({op})", self.context)

    def load_node(self, folder: str) -> Op:
        """A graph node: node + model file, decoded by the op class the model names."""
        folder = self._check_nesting(folder)
        if folder in self._loading:
            cycle = " → ".join(self._loading[self._loading.index(folder) :] + [folder])
            raise BundleError(f"bundle {self.files.location}: node folder {folder} contains itself ({cycle})")
        if not self.files.exists(folder):
            raise BundleError(f"bundle {self.files.location}: node folder {folder} is missing")
        self._loading.append(folder)
        try:
            return self._load_node(folder)
        finally:
            self._loading.pop()

    def _load_node(self, folder: str) -> Op:
        node_path = self.formatted_file(folder, "node")
        node = self._read_document(node_path, f"bundle {self.files.location}", "node")
        name = node.get("name")
        if not isinstance(name, str):
            raise BundleError(f"bundle {self.files.location}: {node_path} has no string 'name'")
        context = f"bundle {self.files.location} → node {name}"
        op, attributes = self._read_model_file(folder, context)
        shape = node.get("shape")
        if not isinstance(shape, dict):
            raise BundleError(f"{context}: {node_path} has no 'shape' object")
        spec = NodeSpec(
            op=op,
            attributes=Attributes(attributes, f"{context} ({op})"),
            folder=folder,
            context=f"{context} ({op})",
            bundle=self.context,
            name=name,
            inputs=self._sockets(shape, "inputs", context),
            outputs=self._sockets(shape, "outputs", context),
        )
        return op_class(op, context)(spec)

    def _read_model_file(self, folder: str, context: str) -> tuple:
        path = self.formatted_file(folder, "model")
        model = self._read_document(path, context, "model")
        op = model.get("op")
        if not isinstance(op, str):
            raise BundleError(f"{context}: {path} has no string 'op'")
        attributes = model.get("attributes", {})  # the sklearn writer omits it for attribute-less ops
        if not isinstance(attributes, dict):
            raise BundleError(f"{context}: {path} 'attributes' must be an object")
        return op, attributes

    @staticmethod
    def _sockets(shape: Dict[str, Any], side: str, context: str) -> list:
        sockets = []
        listed = shape.get(side, [])
        if not isinstance(listed, list):
            raise BundleError(f"{context}: shape {side} must be a list of sockets, found {brief(listed)}")
        for socket in listed:
            if (
                not isinstance(socket, dict)
                or not isinstance(socket.get("port"), str)
                or not isinstance(socket.get("name"), str)
            ):
                raise BundleError(
                    f"{context}: malformed {side} socket {brief(socket)} (needs string 'port' and 'name')"
                )
            sockets.append(Socket(socket["port"], socket["name"]))
        return sockets
