"""flink-mleap's ``application.conf``: HOCON with camelCase keys, read into the same document
:func:`flink_ml_udf.config.parse_config` validates, so both formats give the same entries and checks.

    mleap {
      gcs { bucket = "models-prod" }
      udfRegistry = [
        { udfName = "Predict",   bundlePath = "/mleap-example-1", bundleSource = "file" },
        { udfName = "Predictv3", bundlePath = "fraud/v3.zip",     bundleSource = "gcs" }
      ]
    }

What flink-mleap does with these keys (getindata's ``MLeapUDFRegistry`` and ``GCSClientImpl``), and
what they become here:

- ``bundleSource = "file"``: flink-mleap reads ``bundlePath`` as a classpath resource
  (``getClass.getResource``); its example keeps ``application.conf`` and the bundle folders side by
  side in ``src/main/resources``. Here the path, a leading ``/`` included, is resolved against the
  folder of ``application.conf``: ``/mleap-example-1`` next to the file. (``file:///abs/path`` names
  an absolute path.)
- ``bundleSource = "gcs"``: ``bundlePath`` is the name of a zipped bundle object in the bucket
  ``mleap.gcs.bucket`` (credentials: Application Default Credentials, as there): it becomes
  ``gs://<bucket>/<bundlePath>``. ``mleap.s3.bucket`` does the same for ``bundleSource = "s3"``.
- Every other key this project supports is accepted in camelCase (``inputsMode``, ``onError``,
  ``maxBundleBytes``, ``reload { interval = 60s }``, ``splitKey``, ``variants``, ...); any other key
  is an error naming it. HOCON durations (``60s``) become seconds. Value errors name the camelCase key.

Needs ``pyhocon`` (``pip install 'flink-ml-udf[hocon]'``), imported only when a ``.conf`` is read.
"""

from __future__ import annotations

import datetime
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flink_ml_udf.config import keys
from flink_ml_udf.config.entries import AppConfig
from flink_ml_udf.config.parse import parse_config
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.regular_files import read_text_file
from flink_ml_udf.sources import BUNDLE_SOURCES

#: ``mleap.<source>.bucket``: the bucket a ``bundlePath`` of that source names an object in (each
#: source with a settings section, i.e. an object store), with the source's URI scheme.
BUCKET_SOURCES = {source.name: source.scheme for source in BUNDLE_SOURCES if source.settings is not None}
_REMOTE_INCLUDE = re.compile(r"^\s*include\s+(required\s*\(\s*)?url\s*\(", re.MULTILINE)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


def camel(key: str) -> str:
    """``udf_registry`` → ``udfRegistry``: how this format spells one of our keys."""
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


_ARM_CHILDREN = {"reload": "reload", "control": "control"}
#: Each section: our keys (config.py's own tables, spelled here in camelCase) and the sections below
#: it (``[]``: a list of them).
_SECTIONS: Dict[str, Tuple[Tuple[str, ...], Dict[str, str]]] = {
    "top": (keys.TOP_KEYS, {"mleap": "mleap"}),
    "mleap": (keys.MLEAP_KEYS, {"udf_registry": "entry[]", **{source: source for source in BUCKET_SOURCES}}),
    "entry": (
        keys.ENTRY_KEYS + keys.EXPERIMENT_KEYS,
        dict(_ARM_CHILDREN, variants="variant[]", shadow="shadow"),
    ),
    "variant": (keys.VARIANT_KEYS, _ARM_CHILDREN),
    "shadow": (keys.SHADOW_KEYS, _ARM_CHILDREN),
    "reload": (keys.RELOAD_KEYS, {}),
    "control": (keys.CONTROL_KEYS, {}),
    **{source: (keys + ("bucket",), {}) for source, keys in keys.SOURCE_KEYS.items()},
}
#: Our key → its camelCase spelling, for the messages parse_config writes.
_CAMEL = {key: camel(key) for keys, _ in _SECTIONS.values() for key in keys}


def load_hocon_config(path: str, environ: Optional[Mapping[str, str]] = None) -> AppConfig:
    """Read, map and validate a HOCON config; one :class:`ConfigError` lists every problem, naming
    the file, the entry and the key as written in the file."""
    document, problems = read_hocon_document(path)
    try:
        config = parse_config(document, path, environ)
    except ConfigError as exc:
        problems += [_in_camel_case(line) for line in str(exc).splitlines()]
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def read_hocon_document(path: str) -> Tuple[Dict[str, Any], List[str]]:
    """The file as the document :func:`~flink_ml_udf.config.parse_config` takes (our keys, bundle
    paths mapped as described in the module docstring), and the problems found on the way: unknown
    keys (dropped from the document) and bundle paths that cannot be mapped."""
    problems: List[str] = []
    document = _section(_parse(path), "top", path, problems)
    mleap = document.get("mleap") if isinstance(document, dict) else None
    if isinstance(mleap, dict):
        buckets = {}
        for source in BUCKET_SOURCES:
            settings = mleap.get(source)
            if isinstance(settings, dict) and "bucket" in settings:
                buckets[source] = settings.pop("bucket")
                if not settings:
                    del mleap[source]
        registry = mleap.get("udf_registry")
        for index, entry in enumerate(registry if isinstance(registry, list) else []):
            if isinstance(entry, dict):
                label = f"mleap.udfRegistry[{index}]" + _named(entry, "udf_name")
                problems += _map_bundle_paths(entry, buckets, label, path)
    return document, problems


def _parse(path: str):
    try:
        from pyhocon import ConfigFactory
        from pyhocon.exceptions import ConfigException
    except ImportError:
        raise ConfigError(
            f"{path}: reading a HOCON config (flink-mleap's application.conf) needs pyhocon, which is not installed: "
            "pip install 'flink-ml-udf[hocon]'"
        ) from None
    text = read_text_file(path, keys.MAX_CONFIG_BYTES, ConfigError, f"{path}: cannot read config file")
    remote = _REMOTE_INCLUDE.search(text)
    if remote is not None:  # pyhocon would fetch it without a timeout, at every load, on every worker
        line = text.count("\n", 0, remote.start()) + 1
        raise ConfigError(f"{path}:{line}: include url(...) is not supported; include a local file instead")
    try:
        return ConfigFactory.parse_string(text, os.path.dirname(path), resolve=True).as_plain_ordered_dict()
    except ConfigException as exc:
        raise ConfigError(f"{path}: not valid HOCON: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyparsing's syntax errors, with line and column
        raise ConfigError(f"{path}: not valid HOCON: {type(exc).__name__}: {exc}") from None


def _named(mapping: Mapping[str, Any], key: str) -> str:
    return f" ({mapping[key]})" if isinstance(mapping.get(key), str) else ""


def _section(value: Any, name: str, where: str, problems: List[str]) -> Any:
    """A plain copy of one section with our keys; unknown keys are reported and dropped. A value of
    the wrong kind is copied as it is, for parse_config to report."""
    if not isinstance(value, dict):
        return _plain(value, where, problems)
    keys, children = _SECTIONS[name]
    allowed = {camel(key): key for key in keys}
    out: Dict[str, Any] = {}
    for key, item in value.items():
        ours = allowed.get(key)
        child = children.get(ours)
        if ours is None:
            problems.append(f"{where} → key '{key}': unknown key (allowed: {', '.join(allowed)})")
        elif child is None:
            out[ours] = _plain(item, f"{where} → key '{key}'", problems)
        elif child.endswith("[]") and isinstance(item, list):
            out[ours] = [
                _section(element, child[:-2], _child_where(where, name, key, i, element), problems)
                for i, element in enumerate(item)
            ]
        else:
            out[ours] = _section(item, child.rstrip("[]"), _child_where(where, name, key, None, item), problems)
    return out


def _child_where(where: str, parent: str, key: str, index: Optional[int], element: Any) -> str:
    """How errors name a section, as parse_config names it: ``file → mleap.udfRegistry[0] (Predict)``,
    ``… → variants[1] (challenger)``, ``… → key 'reload'``."""
    if parent == "top":
        return f"{where} → {key}"
    if key in ("reload", "control"):
        return f"{where} → key '{key}'"
    base = f"{where}.{key}" if parent == "mleap" else f"{where} → {key}"
    name = _named(element, "udfName" if parent == "mleap" else "name") if isinstance(element, dict) else ""
    return (base if index is None else f"{base}[{index}]") + name


def _plain(value: Any, where: str, problems: List[str]) -> Any:
    """HOCON values as YAML would give them: mappings and lists plain, durations (``60s``) in seconds."""
    if isinstance(value, dict):
        return {key: _plain(item, where, problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, where, problems) for item in value]
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if type(value).__name__ == "relativedelta":  # pyhocon's durations (python-dateutil)
        if value.years or value.months:
            problems.append(f"{where}: a duration in months or years is not supported; use ms, s, m or h")
            return None
        return value.days * 86400 + value.hours * 3600 + value.minutes * 60 + value.seconds + value.microseconds / 1e6
    return value


def _map_bundle_paths(entry: Dict[str, Any], buckets: Mapping[str, Any], label: str, path: str) -> List[str]:
    """flink-mleap's ``bundlePath`` (a classpath resource, or an object in ``mleap.<source>.bucket``)
    → our ``bundle_path``, for an entry, its variants and its shadow (which share the entry's source
    unless they name their own)."""
    problems = _map_bundle_path(entry, entry.get("bundle_source"), buckets, label, path)
    variants = entry.get("variants") if isinstance(entry.get("variants"), list) else []
    arms = [(v, f"{label} → variants[{i}]" + _named(v, "name")) for i, v in enumerate(variants) if isinstance(v, dict)]
    if isinstance(entry.get("shadow"), dict):
        arms.append((entry["shadow"], f"{label} → shadow" + _named(entry["shadow"], "name")))
    for arm, arm_label in arms:
        source = arm.get("bundle_source", entry.get("bundle_source"))
        problems += _map_bundle_path(arm, source, buckets, arm_label, path)
    return problems


def _map_bundle_path(item: Dict[str, Any], source: Any, buckets: Mapping[str, Any], label: str, path: str) -> List[str]:
    bundle_path = item.get("bundle_path")
    if not isinstance(bundle_path, str) or "://" in bundle_path or not bundle_path.strip():
        return []  # a URI stays as it is; a missing or malformed path is parse_config's to report
    if source in BUCKET_SOURCES:
        bucket = buckets.get(source)
        if bucket is None:
            return [
                f"{path} → {label} → key 'bundlePath': with bundleSource {source!r}, bundlePath names an object in "
                f"mleap.{source}.bucket, which is not set (or write a full {BUCKET_SOURCES[source]}:// URI)"
            ]
        if not isinstance(bucket, str) or not _BUCKET_NAME.match(bucket):
            return [f"{path} → mleap.{source} → key 'bucket': {bucket!r} is not a bucket name (used by {label})"]
        item["bundle_path"] = f"{BUCKET_SOURCES[source]}://{bucket}/{bundle_path.lstrip('/')}"
    elif source in (None, "file"):
        item["bundle_path"] = bundle_path.lstrip("/") or "."  # a classpath resource: next to application.conf
    return []


def _in_camel_case(message: str) -> str:
    """parse_config's message with the keys spelled as in the HOCON file."""
    message = message.replace("mleap.udf_registry", "mleap.udfRegistry")
    return re.sub(r"key '([a-z_0-9]+)'", lambda m: f"key '{_CAMEL.get(m.group(1), m.group(1))}'", message)
