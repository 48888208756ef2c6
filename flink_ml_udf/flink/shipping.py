"""What a job submitted to a cluster takes with it, the PyFlink way (``flink run`` options).

A cluster's TaskManagers need only a Python with ``apache-flink`` (``-pyexec``): it brings numpy,
pandas, PyYAML and protobuf. The rest travels with each job:

- ``-pyfs flink-ml-udf.zip``: this package, zipped from the running installation (a wheel or a
  checkout alike). Each TaskManager extracts it and puts it first on its workers' ``PYTHONPATH``, so
  the workers run the client's code, whatever a host may have installed.
- ``-pyarch flink-ml-udf-bundles.zip#flink-ml-udf-bundles``: the config's bundles on local paths,
  byte for byte, and a manifest. PyFlink extracts archives into the workers' working directory, where
  :func:`load_worker_model` finds the manifest and loads the shipped copy of a path that may exist
  only on the client (checked against the version resolved on the client). Entries that follow
  updates (``reload``, ``control``) are not snapshotted: their workers read the path itself. PyFlink
  also runs the job's main in that folder, so ``submit`` passes every path to it absolute.
- ``-pyreq requirements.txt``: the package's dependencies that ``apache-flink`` does not bring (numba),
  the ``s3`` / ``gcs`` extra when the config reads bundles from S3 or GCS, and everything they
  require, at the versions installed here. Each TaskManager pip-installs them once per job (from its
  package index).

Measured on a standalone cluster whose TaskManager Python has only ``apache-flink``: README,
"Running on a Flink cluster".
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import flink_ml_udf
from flink_ml_udf.bundles import LoadedModel, load_entry_model
from flink_ml_udf.config import AppConfig, UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.loaders.file import content_hash

PACKAGE_ZIP = "flink-ml-udf.zip"
BUNDLES_ZIP = "flink-ml-udf-bundles.zip"
#: The folder the workers find the shipped bundles in, relative to their working directory.
BUNDLES_DIR = "flink-ml-udf-bundles"
MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.txt"
#: What the cluster hosts' Python must have; the rest of what the workers import travels with the job.
FLINK_DISTRIBUTION = "apache-flink"
_log = logging.getLogger(__name__)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same files give the same archive


class ShippingError(FlinkMlUdfError):
    """What a job needs on the cluster cannot be prepared for shipping."""


@dataclass(frozen=True)
class Shipment:
    """The files prepared for one submission, and the ``flink run`` options that ship them."""

    package: str  # the zip of this package (-pyfs)
    bundles: Optional[str]  # the archive of local bundles (-pyarch), None when there are none
    requirements: Optional[str]  # the requirements file (-pyreq), None when nothing is needed
    bundle_paths: Tuple[str, ...]  # the local bundle paths inside ``bundles``
    requirement_lines: Tuple[str, ...]

    def flink_run_options(self) -> List[str]:
        options = ["-pyfs", self.package]
        if self.bundles:
            options += ["-pyarch", f"{self.bundles}#{BUNDLES_DIR}"]
        if self.requirements:
            options += ["-pyreq", self.requirements]
        return options

    @property
    def sizes(self) -> Dict[str, int]:
        """Bytes shipped per file, for the record."""
        files = {"package": self.package, "bundles": self.bundles, "requirements": self.requirements}
        return {name: os.path.getsize(path) for name, path in files.items() if path}


def prepare_shipment(
    config: AppConfig, folder: str, ship_bundles: bool = True, ship_requirements: bool = True
) -> Shipment:
    """Write into ``folder`` what a job registering ``config`` needs on a cluster whose Python has only
    ``apache-flink``. ``ship_bundles=False``: the local bundle paths exist on every host (an image, a
    shared mount); ``ship_requirements=False``: the hosts' Python already has flink-ml-udf's
    dependencies (numba) and the S3/GCS extras the config needs."""
    os.makedirs(folder, exist_ok=True)
    package = package_zip(os.path.join(folder, PACKAGE_ZIP))
    entries = bundle_entries(config)
    # Entries that follow updates (reload, control) read their path on every host: a snapshot would defeat them.
    local = [e for e in entries if e.bundle_source == "file" and not e.follows_updates] if ship_bundles else []
    bundles = os.path.join(folder, BUNDLES_ZIP) if local else None
    shipped = tuple(bundles_archive(local, bundles)) if bundles else ()
    extras = sorted({entry.bundle_source for entry in entries} - {"file"})  # each remote source's extra
    lines = tuple(worker_requirements(extras)) if ship_requirements else ()
    requirements = os.path.join(folder, REQUIREMENTS) if lines else None
    if requirements:
        with open(requirements, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines))
    return Shipment(package, bundles, requirements, shipped, lines)


def bundle_entries(config: AppConfig) -> List[UdfEntry]:
    """The entries whose bundles the workers load: each plain UDF, each variant and shadow of an experiment."""
    entries = []
    for entry in config.udfs:
        entries += [variant.entry for variant in entry.served]
        entries += [entry.shadow.entry] if entry.shadow is not None else []
    return entries


def package_zip(target: str) -> str:
    """A zip of the running ``flink_ml_udf`` package (its ``.py`` files, no caches), importable once
    extracted: ``flink_ml_udf/__init__.py`` at its root."""
    root = os.path.dirname(os.path.abspath(flink_ml_udf.__file__))
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files += [os.path.join(folder, name) for name in sorted(names) if name.endswith(".py")]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            _add(archive, path, "flink_ml_udf/" + os.path.relpath(path, root).replace(os.sep, "/"))
    return target


def bundles_archive(entries: Sequence[UdfEntry], target: str) -> List[str]:
    """Write an archive of the bundles of ``entries`` (zips as they are, folders file by file), each
    under its own numbered folder, with a manifest mapping each client path to its copy and content
    hash; returns the paths shipped."""
    manifest = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in dict.fromkeys(entry.bundle_path for entry in entries):
            if not os.path.exists(path):
                continue  # the job refuses it on the client, together with every other bad entry
            copy = f"{len(manifest)}/{os.path.basename(path.rstrip(os.sep))}"
            for source, name in _bundle_files(path, copy):
                _add(archive, source, name, stored=source == path)  # a zip bundle is compressed already
            manifest.append({"path": path, "copy": copy, "version": content_hash(path)})
        info = zipfile.ZipInfo(MANIFEST, _ZIP_TIME)
        archive.writestr(info, json.dumps({"bundles": manifest}, indent=2))
    return [item["path"] for item in manifest]


def _bundle_files(path: str, copy: str) -> Iterable[Tuple[str, str]]:
    if os.path.isfile(path):
        yield path, copy
        return
    for folder, dirs, names in os.walk(path):  # what the bundle reader reads: regular files, no links
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(folder, d)))
        for name in sorted(names):
            full = os.path.join(folder, name)
            if os.path.isfile(full) and not os.path.islink(full):
                yield full, f"{copy}/{os.path.relpath(full, path).replace(os.sep, '/')}"


def _add(archive: zipfile.ZipFile, path: str, name: str, stored: bool = False) -> None:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with open(path, "rb") as source, archive.open(info, "w") as sink:
        for block in iter(lambda: source.read(1 << 20), b""):
            sink.write(block)


def worker_requirements(extras: Sequence[str]) -> List[str]:
    """``name==version``, as installed here, of what the workers need beyond ``apache-flink``: the
    package's own dependencies that apache-flink does not bring (numba), those of ``extras`` (the
    config's remote sources), and everything all of these require.

    Everything they require is pinned, also what apache-flink brings too (numpy, protobuf, requests):
    PyFlink installs requirements with ``pip install --ignore-installed`` into a folder put first on
    the workers' path, so an unpinned dependency would come in at its newest version (protobuf 7,
    which Beam refuses) and shadow the hosts' own; the client's versions are known to work with PyFlink.
    """
    from importlib import metadata

    own = metadata.metadata("flink-ml-udf").get_all("Provides-Extra") or []
    unknown = [extra for extra in extras if extra not in own]
    if unknown:
        raise ShippingError(f"flink-ml-udf has no extra {', '.join(unknown)} (extras: {', '.join(own)})")
    flink = _installed_closure([Requirement(FLINK_DISTRIBUTION)], f"pip install {FLINK_DISTRIBUTION}")
    roots = []
    for text in metadata.requires("flink-ml-udf") or []:
        requirement = Requirement(text)
        if requirement.marker is None:  # the package's own: only what apache-flink does not bring
            if canonicalize_name(requirement.name) not in flink:
                roots.append(requirement)
        elif any(requirement.marker.evaluate({"extra": extra}) for extra in extras):
            roots.append(requirement)
    fix = f"pip install 'flink-ml-udf[{','.join(extras)}]'" if extras else "pip install flink-ml-udf"
    needed = _installed_closure(roots, fix)
    return [f"{name}=={version}" for name, version in sorted(needed.items())]


def _installed_closure(roots: Sequence[Requirement], fix: str) -> Dict[str, str]:
    """Normalized name -> installed version of ``roots`` and everything they require (markers
    evaluated for this interpreter, requested extras followed)."""
    from importlib import metadata

    found: Dict[str, str] = {}
    followed: Set[Tuple[str, frozenset]] = set()
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in followed:
            continue
        followed.add((name, frozenset(requirement.extras)))
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise ShippingError(f"{requirement.name} is needed on the cluster but not installed here: {fix}") from None
        found[name] = distribution.version
        for text in distribution.requires or []:
            child = Requirement(text)
            wanted = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in wanted):
                pending.append(child)
    return found


def shipped_copy(path: str, working_dir: str = ".") -> Optional[Tuple[str, str]]:
    """Where the job's shipped copy of the local bundle ``path`` is on this worker, and its content
    hash on the client; None when the job shipped no copy of it (a local run, ``--no-ship-bundles``,
    an entry that follows updates and so reads its path itself)."""
    manifest = os.path.join(working_dir, BUNDLES_DIR, MANIFEST)
    if not os.path.isfile(manifest):
        return None
    with open(manifest, encoding="utf-8") as handle:
        bundles = json.load(handle)["bundles"]
    for item in bundles:
        if item["path"] == path:
            return os.path.abspath(os.path.join(working_dir, BUNDLES_DIR, item["copy"])), item["version"]
    return None


def load_worker_model(
    entry: UdfEntry, uri: Optional[str] = None, version: Optional[str] = None, working_dir: str = "."
) -> LoadedModel:
    """:func:`~flink_ml_udf.bundles.load_entry_model` on a Flink worker: the entry's own local bundle
    is read from the copy shipped with the job when there is one. The model keeps the name the config
    gives it (in errors, in ``model_uri``), wherever its bytes were read."""
    shipped = shipped_copy(entry.bundle_path, working_dir) if uri is None and entry.bundle_source == "file" else None
    if shipped is None:
        return load_entry_model(entry, uri, version)
    copy, shipped_version = shipped
    pinned = version or entry.version or shipped_version
    try:
        loaded = load_entry_model(replace(entry, bundle_path=copy, version=None), None, pinned)
    except FlinkMlUdfError as exc:
        raise type(exc)(f"{exc} (the copy of {entry.bundle_path} shipped with the job)") from exc
    loaded.model.info = replace(loaded.model.info, location=entry.bundle_path)
    _log.info("%s: bundle %s read from the copy shipped with the job (%s)", entry.label, entry.bundle_path, copy)
    return replace(loaded, uri=entry.bundle_path)
