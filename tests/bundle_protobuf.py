"""Convert a JSON MLeap bundle into its protobuf form, the way MLeap would have written it with
``format = protobuf``: ``node.pb``, ``model.pb`` and length-prefixed ``tree.pb`` files, and
``bundle.json`` (always JSON) saying ``"format": "protobuf"``.

    to_protobuf("bundle-json/", "bundle-pb/")                       # folder → folder
    to_protobuf("bundle.zip", "bundle-pb.zip", form="zip")          # any → zip, entries at the zip root
    to_protobuf(src, dst, keep_json=lambda path: "tree" in path)    # a mixed bundle
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Callable, Dict, Optional

from flink_ml_udf.mleap import protobuf_writer as pw
from flink_ml_udf.mleap.reader import basic_types_of


def to_protobuf(
    source: str,
    destination: str,
    form: str = "folder",
    keep_json: Optional[Callable[[str], bool]] = None,
) -> str:
    """Write the protobuf twin of the JSON bundle at ``source`` (folder or zip) to ``destination``.

    ``keep_json(relative_path)`` leaves chosen node/model/tree files in JSON (a mixed bundle).
    Returns ``destination``.
    """
    files = read_bundle_files(source)
    # The protobuf files are written as the release named in bundle.json wrote them (0.8 numbered types otherwise).
    basic_types = basic_types_of(json.loads(files["bundle.json"]).get("version"))
    converted: Dict[str, bytes] = {}
    for path, data in files.items():
        name = os.path.basename(path)
        stem, ext = os.path.splitext(name)
        if path == "bundle.json":
            info = json.loads(data)
            info["format"] = "protobuf"
            converted[path] = json.dumps(info).encode()
        elif ext == ".json" and stem in ("node", "model", "tree") and not (keep_json and keep_json(path)):
            converted[path[: -len(".json")] + ".pb"] = _convert(stem, data, basic_types)
        else:
            converted[path] = data
    if form == "zip":
        with zipfile.ZipFile(destination, "w") as archive:
            for path, data in sorted(converted.items()):
                archive.writestr(path, data)
    elif form == "folder":
        for path, data in converted.items():
            full = os.path.join(destination, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as handle:
                handle.write(data)
    else:
        raise ValueError(f"form must be 'zip' or 'folder', not {form!r}")
    return destination


def _convert(stem: str, data: bytes, basic_types) -> bytes:
    if stem == "node":
        return pw.encode_node(json.loads(data))
    if stem == "model":
        return pw.encode_model(json.loads(data), basic_types)
    records = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    if records and "type" in records[0]:
        return pw.encode_decision_tree(records)
    return pw.encode_cluster_tree(records)  # bisecting k-means: index / norm / values / numChildren


def read_bundle_files(source: str) -> Dict[str, bytes]:
    """Every file of a bundle folder or zip, by bundle-relative path (a zip's single top folder dropped)."""
    if os.path.isdir(source):
        files = {}
        for folder, _, names in os.walk(source):
            for name in names:
                full = os.path.join(folder, name)
                with open(full, "rb") as handle:
                    files[os.path.relpath(full, source).replace(os.sep, "/")] = handle.read()
        return files
    with zipfile.ZipFile(source) as archive:
        files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    if "bundle.json" not in files:
        tops = {name.split("/", 1)[0] for name in files}
        if len(tops) == 1:
            top = next(iter(tops)) + "/"
            files = {name[len(top) :]: data for name, data in files.items()}
    return files
