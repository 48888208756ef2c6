"""``conf/application.yaml``: typed, validated UDF entries.

    mleap:
      udf_registry:
        - udf_name: Predict
          bundle_path: ../models/example-1.zip   # relative to this file's folder
          bundle_source: file                    # file | gcs | s3; inferred from gs:// or s3://
          inputs: [feature1, feature2, feature3] # optional: bundle input column per SQL argument
          inputs_mode: scalars                   # optional: scalars | array, for a bundle whose only input is a
                                                 #   tensor of known size N (default scalars: N DOUBLE arguments)
          outputs: [prediction]                  # optional: one column -> scalar, several -> ROW
          result_type: DOUBLE                    # optional: SQL type of a scalar result
          on_error: fail                         # fail | null
          version: null                          # optional: pinned object version (remote sources)
          max_bundle_bytes: 1GiB                 # optional: refuse zips unpacking to more (bytes, KiB, MiB, GiB)
          reload:                                # optional: follow the store's current version (unpinned only)
            interval: 60s                        #   how often each worker asks the store (ms, s, m, h)
          control:                               # optional: follow model updates on a Kafka topic
            topic: model-updates                 #   records {"udf_name", "bundle_path", "version"}
            bootstrap_servers: ${KAFKA_BOOTSTRAP_SERVERS}
      s3:                                        # optional: settings of every s3:// entry
        endpoint_url: http://minio:9000          # S3-compatible servers; default: AWS
        region: eu-west-1
        profile: models                          # or credentials_file: a shared credentials file
        connect_timeout: 5                       # seconds
        read_timeout: 30                         # seconds, per socket read
        retries: 3                               # retries after the first attempt, transient errors only
        cache_dir: /var/cache/flink-ml-udf       # default: the user cache dir
      gcs:                                       # optional: settings of every gs:// entry
        project: my-project
        credentials_file: /secrets/sa.json       # default: Application Default Credentials
        anonymous: false                         # true: no credentials (public buckets, emulators)

Every problem is reported together, each naming the file, the entry and the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flink_ml_udf.errors import ConfigError, brief
from flink_ml_udf.interpolate import InterpolationError, interpolate_marked
from flink_ml_udf.regular_files import read_text_file
from flink_ml_udf.sources import (  # noqa: F401 - source_for_uri, S3Settings and GcsSettings are config's API too
    BUNDLE_SOURCES,
    BY_NAME,
    BY_SCHEME,
    LOCAL,
    SCHEME_HINT,
    GcsSettings,
    RemoteSettings,
    S3Settings,
    Source,
    local_path,
    source_for_uri,
    uri_scheme,
)
from flink_ml_udf.yaml_loader import YamlProblem, load_yaml

#: The bundle_source values (flink_ml_udf/sources.py has a row for each).
SOURCES = tuple(sorted(source.name for source in BUNDLE_SOURCES))
ON_ERROR = ("fail", "null")
#: How SQL arguments feed a bundle whose only input is a tensor of known size N: ``scalars`` (N DOUBLE
#: arguments packed in order, the default) or ``array`` (one ARRAY<DOUBLE> argument).
INPUTS_MODES = ("scalars", "array")
#: How the bundle's ops sum dot products: ``fast`` (numpy, the default) or ``jvm`` (MLeap's JVM order
#: to the bit, several times slower); flink_ml_udf.mleap.numerics holds a kernel set for each name.
NUMERICS = ("fast", "jvm")
SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENTRY_KEYS = (
    "udf_name",
    "bundle_path",
    "bundle_source",
    "inputs",
    "outputs",
    "result_type",
    "on_error",
    "version",
    "max_bundle_bytes",
    "max_batch_bytes",
    "reload",
    "control",
    "inputs_mode",
    "numerics",
)
#: Keys of an A/B experiment entry (``variants`` replaces ``bundle_path``; ``shadow`` may join either).
EXPERIMENT_KEYS = ("split_key", "split_key_type", "variants", "shadow")
#: What a variant or the shadow may say about its bundle: a plain entry's bundle keys.
BUNDLE_KEYS = ("bundle_path", "bundle_source", "version", "max_bundle_bytes", "reload", "control", "numerics")
VARIANT_KEYS = ("name", "weight") + BUNDLE_KEYS
SHADOW_KEYS = ("name", "sample") + BUNDLE_KEYS
SPLIT_KEY_TYPES = ("STRING", "BIGINT")
RELOAD_KEYS = ("interval",)
CONTROL_KEYS = ("topic", "bootstrap_servers")
#: The shortest reload interval accepted: each worker makes one metadata request per interval.
MIN_RELOAD_INTERVAL_S = 0.1
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
DEFAULT_MAX_BUNDLE_BYTES = 1 << 30
DEFAULT_MAX_BATCH_BYTES = 1 << 30
#: A config file larger than this is refused unread (a thousand UDF entries take ~100 KiB).
MAX_CONFIG_BYTES = 1 << 20
#: Timeouts are at most a day: a larger (or infinite) one is a typo that would hang a job.
MAX_TIMEOUT_SECONDS = 86400.0
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
TOP_KEYS = ("mleap",)
#: Config files read as HOCON (flink-mleap's application.conf) rather than YAML.
HOCON_SUFFIXES = (".conf", ".hocon")
#: The keys of each source's settings section ``mleap.<source>``, from its settings dataclass.
SOURCE_KEYS = {source.name: source.settings_keys for source in BUNDLE_SOURCES if source.settings is not None}
MLEAP_KEYS = ("udf_registry",) + tuple(sorted(SOURCE_KEYS))


@dataclass(frozen=True)
class ReloadSettings:
    """``reload``: each worker asks the model store for the bundle's current version every ``interval_s``."""

    interval_s: float


@dataclass(frozen=True)
class ControlSettings:
    """``control``: each worker follows a Kafka topic of model updates for this UDF."""

    topic: str
    bootstrap_servers: str


@dataclass(frozen=True)
class UdfEntry:
    """One UDF: its SQL name and the bundle it scores."""

    udf_name: str
    bundle_path: str  # an absolute local path for ``file``, a URI for remote sources
    bundle_source: str = "file"
    inputs: Optional[Tuple[str, ...]] = None
    outputs: Optional[Tuple[str, ...]] = None
    result_type: Optional[str] = None
    on_error: str = "fail"
    version: Optional[str] = None
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES  # what one batch's columns may take while scoring
    source_settings: Optional[RemoteSettings] = None  # mleap.<bundle_source>; unset: its defaults (a file: None)
    reload: Optional[ReloadSettings] = None
    control: Optional[ControlSettings] = None
    # An A/B experiment: rows routed by the hash of the SQL argument ``split_key`` to ``variants``
    # (each a plain entry of its own bundle); a ``shadow`` scored beside them, never returned unless asked.
    split_key: Optional[str] = None
    split_key_type: str = "STRING"
    variants: Tuple["Variant", ...] = ()
    shadow: Optional["Variant"] = None
    variant: Optional[str] = None  # set on a variant's (or the shadow's) own entry: its name
    inputs_mode: Optional[str] = None  # scalars | array; None: scalars where the bundle allows it (signature.py)
    numerics: str = "fast"  # fast | jvm: how the bundle's ops sum dot products (NUMERICS)

    def __post_init__(self) -> None:
        if self.source_settings is None and self.bundle_source in BY_NAME:
            object.__setattr__(self, "source_settings", BY_NAME[self.bundle_source].default_settings())

    @property
    def label(self) -> str:
        """How errors name this entry."""
        return f"UDF '{self.udf_name}'" + (f" → variant '{self.variant}'" if self.variant else "")

    @property
    def is_experiment(self) -> bool:
        return bool(self.variants) or self.shadow is not None

    @property
    def served(self) -> Tuple["Variant", ...]:
        """What answers rows: the variants, or the entry itself as the only one."""
        return self.variants or (Variant(self.udf_name, self, 1),)

    @property
    def follows_updates(self) -> bool:
        """Whether workers may switch models while the job runs (reload or control); otherwise the
        version resolved at registration is pinned for every worker, for the job's whole life."""
        return self.reload is not None or self.control is not None


@dataclass(frozen=True)
class Variant:
    """One arm of an experiment (or its shadow): a name, a plain entry for its bundle, its share."""

    name: str
    entry: UdfEntry
    weight: int = 0  # variants: relative share of the keys
    sample: float = 1.0  # shadow: fraction of the keys it also scores


@dataclass(frozen=True)
class AppConfig:
    """The whole config file: where it came from and its UDF entries in file order."""

    path: str
    udfs: Tuple[UdfEntry, ...]
    sources: Mapping[str, RemoteSettings] = field(default_factory=dict)  # mleap.<source> of each remote source

    def entry(self, udf_name: str) -> UdfEntry:
        for entry in self.udfs:
            if entry.udf_name.lower() == udf_name.lower():
                return entry
        raise ConfigError(f"{self.path}: no UDF named {udf_name!r} (UDFs: {', '.join(e.udf_name for e in self.udfs)})")


def load_config(path: str, environ: Optional[Mapping[str, str]] = None) -> AppConfig:
    """Read, interpolate and validate a config file; raises one :class:`ConfigError` listing every problem.

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read (a fifo or ``/dev/zero`` is
    refused, not waited on); see :mod:`flink_ml_udf.yaml_loader` for what YAML is refused.
    A ``.conf`` file is flink-mleap's HOCON format (:mod:`flink_ml_udf.config_hocon`)."""

    if path.endswith(HOCON_SUFFIXES):
        from flink_ml_udf.config_hocon import load_hocon_config

        return load_hocon_config(path, environ)
    text = read_text_file(path, MAX_CONFIG_BYTES, ConfigError, f"{path}: cannot read config file")
    try:
        document = load_yaml(text)
    except YamlProblem as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(document, path, environ)


def parse_config(document: Any, path: str, environ: Optional[Mapping[str, str]] = None) -> AppConfig:
    problems: List[str] = []
    base_dir = os.path.dirname(os.path.abspath(path))
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with key 'mleap', found {type(document).__name__}")
    problems += _unknown_keys(document, TOP_KEYS, f"{path}")
    mleap = document.get("mleap")
    if not isinstance(mleap, dict):
        raise ConfigError("\n".join(problems + [f"{path} → key 'mleap': expected a mapping with key 'udf_registry'"]))
    problems += _unknown_keys(mleap, MLEAP_KEYS, f"{path} → mleap")
    settings: Dict[str, RemoteSettings] = {}
    for source in BUNDLE_SOURCES:
        if source.settings is None:
            continue
        parsed, source_problems = _parse_source(
            source, mleap.get(source.name), f"{path} → mleap.{source.name}", base_dir, environ
        )
        problems += source_problems
        settings[source.name] = parsed
    registry = mleap.get("udf_registry")
    if not isinstance(registry, list) or not registry:
        problems.append(f"{path} → mleap.udf_registry: expected a non-empty list of UDF entries")
        raise ConfigError("\n".join(problems))
    entries: List[UdfEntry] = []
    seen: Dict[str, int] = {}
    for index, raw in enumerate(registry):
        where = f"{path} → mleap.udf_registry[{index}]"
        if isinstance(raw, dict) and isinstance(raw.get("udf_name"), str):
            where += f" ({raw['udf_name'] if len(raw['udf_name']) <= 80 else brief(raw['udf_name'])})"
        entry, entry_problems = _parse_udf(raw, where, base_dir, environ, settings)
        problems += entry_problems
        if entry is None:
            continue
        key = entry.udf_name.lower()  # Flink function names are case-insensitive
        if key in seen:
            problems.append(f"{where} → key 'udf_name': duplicate UDF name {entry.udf_name!r} (also entry {seen[key]})")
            continue
        seen[key] = index
        entries.append(entry)
    if problems:
        raise ConfigError("\n".join(problems))
    return AppConfig(path=os.path.abspath(path), udfs=tuple(entries), sources=settings)


def _unknown_keys(mapping: Mapping[str, Any], allowed: Tuple[str, ...], where: str) -> List[str]:
    return [
        f"{where} → key {brief(key)}: unknown key (allowed: {', '.join(allowed)})"
        for key in mapping
        if key not in allowed
    ]


def _parse_source(
    source: Source, raw: Any, where: str, base_dir: str, environ: Optional[Mapping[str, str]]
) -> Tuple[RemoteSettings, List[str]]:
    """``mleap.<source>``: its keys are its settings dataclass's fields, each checked by its kind
    (flink_ml_udf/sources.py)."""
    if raw is None:
        return source.settings(), []
    if not isinstance(raw, dict):
        return source.settings(), [f"{where}: expected a mapping of settings, found {type(raw).__name__}"]
    problems = _unknown_keys(raw, source.settings_keys, where)
    kinds = {setting.name: setting.metadata for setting in dataclasses.fields(source.settings)}
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in kinds or value is None:
            continue
        try:
            value = _interpolate_value(value, environ)
        except InterpolationError as exc:
            problems.append(f"{where} → key '{key}': {exc}")
            continue
        value, problem = _setting(value, kinds[key], base_dir)
        if problem is not None:
            problems.append(f"{where} → key '{key}': {problem}")
            continue
        values[key] = value
    if values.get("anonymous") and ("profile" in values or "credentials_file" in values):
        problems.append(f"{where} → key 'anonymous': cannot be combined with profile or credentials_file")
    return source.settings(**values), problems


def _setting(value: Any, metadata: Mapping[str, Any], base_dir: str) -> Tuple[Any, Optional[str]]:
    """One source setting's value by its kind (see flink_ml_udf/sources.py), or what is wrong with it."""
    kind = metadata.get("kind")
    if kind == "seconds":
        number = _number(value)
        if number is None or number <= 0:
            finite = "" if number is not None or not isinstance(value, float) else " finite"
            return None, f"expected a positive{finite} number of seconds, found {brief(value)}"
        if number > MAX_TIMEOUT_SECONDS:
            return None, f"expected at most {MAX_TIMEOUT_SECONDS:.0f} seconds, found {brief(value)}"
        return number, None
    if kind == "retries":
        number = _number(value)
        if number is None or not 0 <= number <= 10 or number != int(number):
            return None, f"expected a whole number from 0 to 10, found {brief(value)}"
        return int(number), None
    if kind == "flag":
        flag = {"true": True, "false": False}.get(value.lower()) if isinstance(value, str) else None
        if isinstance(value, bool):
            flag = value
        if flag is None:
            return None, f"expected true or false, found {brief(value)}"
        return flag, None
    if kind == "choice" and (not isinstance(value, str) or value not in metadata["choices"]):
        return None, f"{brief(value)} is not one of {', '.join(metadata['choices'])}"
    if not isinstance(value, str) or not value.strip():
        return None, f"expected a non-empty string, found {brief(value)}"
    if kind == "path":
        return os.path.normpath(os.path.join(base_dir, os.path.expanduser(value))), None
    return value, None


def _number(value: Any) -> Optional[float]:
    """A finite number from a YAML number or a numeric string (e.g. interpolated); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _parse_udf(
    raw: Any,
    where: str,
    base_dir: str,
    environ: Optional[Mapping[str, str]],
    settings: Mapping[str, RemoteSettings],
) -> Tuple[Optional[UdfEntry], List[str]]:
    """A registry entry: a plain one, or an experiment (``variants`` and/or ``shadow``)."""
    if not isinstance(raw, dict) or not any(key in raw for key in EXPERIMENT_KEYS):
        return _parse_entry(raw, where, base_dir, environ, settings)
    common = {key: value for key, value in raw.items() if key not in EXPERIMENT_KEYS}
    problems: List[str] = []
    variants_raw, shadow_raw = raw.get("variants"), raw.get("shadow")
    split_key, split_type = raw.get("split_key"), raw.get("split_key_type", "STRING")
    if variants_raw is not None and "bundle_path" in raw:
        problems.append(f"{where} → key 'variants': an entry has either bundle_path or variants, not both")
    if split_key is not None and not (isinstance(split_key, str) and SQL_IDENTIFIER.match(split_key)):
        problems.append(f"{where} → key 'split_key': expected the name of a SQL argument, found {split_key!r}")
    if not isinstance(split_type, str) or split_type.strip().upper() not in SPLIT_KEY_TYPES:
        problems.append(f"{where} → key 'split_key_type': {split_type!r} is not one of {', '.join(SPLIT_KEY_TYPES)}")
    else:
        split_type = split_type.strip().upper()
    variants: List[Variant] = []
    if variants_raw is not None:
        if split_key is None:
            problems.append(f"{where} → key 'split_key': required with variants (the SQL argument that routes a row)")
        if not isinstance(variants_raw, list) or len(variants_raw) < 2:
            problems.append(
                f"{where} → key 'variants': expected a list of at least two variants, found {variants_raw!r}"
            )
            variants_raw = []
        for index, item in enumerate(variants_raw):
            variant, variant_problems = _parse_arm(
                item, "weight", f"{where} → variants[{index}]", common, base_dir, environ, settings
            )
            problems += variant_problems
            if variant is not None:
                variants.append(variant)
    elif split_key is not None and shadow_raw is None:
        problems.append(f"{where} → key 'split_key': routes rows to variants, but the entry has no 'variants'")
    shadow = None
    if shadow_raw is not None:
        shadow, shadow_problems = _parse_arm(
            shadow_raw, "sample", f"{where} → shadow", common, base_dir, environ, settings
        )
        problems += shadow_problems
        if shadow is not None and shadow.sample < 1 and split_key is None:
            problems.append(f"{where} → shadow → key 'sample': sampling keys needs a 'split_key'")
    names = [v.name for v in variants] + ([shadow.name] if shadow is not None else [])
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"{where} → key 'variants': duplicate variant names {', '.join(map(repr, duplicates))}")
    base, base_problems = _parse_entry(
        common if variants_raw is None else {**common, "bundle_path": "-"}, where, base_dir, environ, settings
    )
    problems += base_problems
    if problems or base is None:
        return None, problems
    if variants:  # the entry's own bundle is its first variant's (what a plain load of the entry serves)
        first = variants[0].entry
        base = replace(base, bundle_path=first.bundle_path, bundle_source=first.bundle_source, version=first.version,
                       source_settings=first.source_settings, reload=first.reload, control=first.control,
                       numerics=first.numerics)  # fmt: skip
    return replace(base, split_key=split_key, split_key_type=split_type, variants=tuple(variants), shadow=shadow), []


def _parse_arm(
    raw: Any,
    share: str,
    where: str,
    common: Mapping[str, Any],
    base_dir: str,
    environ: Optional[Mapping[str, str]],
    settings: Mapping[str, RemoteSettings],
) -> Tuple[Optional[Variant], List[str]]:
    """A variant (``share`` = weight) or the shadow (``share`` = sample): its own keys on top of the
    entry's common ones, parsed as a plain entry."""
    allowed = VARIANT_KEYS if share == "weight" else SHADOW_KEYS
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping with keys {', '.join(allowed)}, found {raw!r}"]
    name = raw.get("name")
    if isinstance(name, str) and name:
        where += f" ({name})"
    problems = _unknown_keys(raw, allowed, where)
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_-]+$", name):
        problems.append(f"{where} → key 'name': expected a name of letters, digits, '_' or '-', found {name!r}")
    amount = raw.get(share)
    if share == "weight":
        if amount is None:
            problems.append(f"{where} → key 'weight': required key is missing")
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            problems.append(f"{where} → key 'weight': expected a positive whole number, found {amount!r}")
    elif amount is not None:
        number = _number(amount)
        if number is None or not 0 < number <= 1:
            problems.append(f"{where} → key 'sample': expected a fraction in (0, 1], found {amount!r}")
        else:
            amount = number
    own = {key: value for key, value in raw.items() if key in BUNDLE_KEYS}
    outputs = common.get("outputs")
    arm_raw = dict(common, **own)
    if isinstance(outputs, list):  # an arm computes the bundle's outputs; the router adds the rest
        arm_raw["outputs"] = [o for o in outputs if not str(o).startswith("shadow_") and o != "model_variant"] or None
    entry, entry_problems = _parse_entry(arm_raw, where, base_dir, environ, settings)
    problems += entry_problems
    if problems or entry is None:
        return None, problems
    entry = replace(entry, variant=name)
    if share == "weight":
        return Variant(name, entry, weight=amount), []
    return Variant(name, entry, sample=1.0 if amount is None else amount), []


def _parse_entry(
    raw: Any,
    where: str,
    base_dir: str,
    environ: Optional[Mapping[str, str]],
    settings: Mapping[str, RemoteSettings],
) -> Tuple[Optional[UdfEntry], List[str]]:
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping, found {type(raw).__name__}"]
    problems = _unknown_keys(raw, ENTRY_KEYS, where)
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in ENTRY_KEYS:
            continue
        try:
            values[key] = _interpolate_value(value, environ)
        except InterpolationError as exc:
            problems.append(f"{where} → key '{key}': {exc}")

    name = values.get("udf_name")
    if name is None:
        problems.append(f"{where} → key 'udf_name': required key is missing")
    elif not isinstance(name, str) or not SQL_IDENTIFIER.match(name):
        problems.append(
            f"{where} → key 'udf_name': {brief(name)} is not a valid SQL identifier (letters, digits, _; not starting with a digit)"
        )

    bundle_path = values.get("bundle_path")
    source = values.get("bundle_source")
    if bundle_path is None:
        if "bundle_path" not in raw:  # a failed ${VAR} in it is reported already
            problems.append(f"{where} → key 'bundle_path': required key is missing")
    elif not isinstance(bundle_path, str) or not bundle_path.strip() or "\0" in bundle_path:
        problems.append(f"{where} → key 'bundle_path': expected a path or URI string, found {brief(bundle_path)}")
        bundle_path = None
    scheme = uri_scheme(bundle_path) if bundle_path else None
    named = BY_SCHEME.get(scheme) if scheme else LOCAL  # the source the path names; None: an unknown scheme
    if source is None:
        source = named.name if named else LOCAL.name
        if named is None:
            problems.append(f"{where} → key 'bundle_path': unknown URI scheme {brief(scheme)} ({SCHEME_HINT})")
    elif not isinstance(source, str) or source not in BY_NAME:
        problems.append(
            f"{where} → key 'bundle_source': unknown source {brief(source)} (expected one of {', '.join(SOURCES)})"
        )
    elif scheme and (named is None or named.name != source):
        problems.append(f"{where} → key 'bundle_source': {source!r} does not match the {scheme}:// URI in bundle_path")
    if bundle_path and source == LOCAL.name:
        bundle_path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(local_path(bundle_path))))

    columns = {}
    for key in ("inputs", "outputs"):
        value = values.get(key)
        if value is None:
            columns[key] = None
        elif isinstance(value, str):
            columns[key] = (value,)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            columns[key] = tuple(value)
        else:
            problems.append(f"{where} → key '{key}': expected a non-empty list of column names, found {brief(value)}")

    inputs_mode = values.get("inputs_mode")
    if inputs_mode is not None and inputs_mode not in INPUTS_MODES:
        problems.append(f"{where} → key 'inputs_mode': {brief(inputs_mode)} is not one of {', '.join(INPUTS_MODES)}")
    numerics = values.get("numerics", "fast")
    if not isinstance(numerics, str) or numerics not in NUMERICS:
        problems.append(f"{where} → key 'numerics': {brief(numerics)} is not one of {', '.join(NUMERICS)}")
    on_error = values.get("on_error", "fail")
    if on_error is None:
        problems.append(
            f"{where} → key 'on_error': has no value (YAML reads ~ or an empty value as null); "
            f"write one of {', '.join(ON_ERROR)}"
        )
    elif not isinstance(on_error, str) or on_error not in ON_ERROR:
        problems.append(f"{where} → key 'on_error': {brief(on_error)} is not one of {', '.join(ON_ERROR)}")
    result_type = values.get("result_type")
    if result_type is not None and not isinstance(result_type, str):
        problems.append(f"{where} → key 'result_type': expected a SQL type name, found {brief(result_type)}")
    version = values.get("version")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, (str, int)):
            problems.append(f"{where} → key 'version': expected a version string, found {brief(version)}")
        version = str(version)
    sizes = {}
    for key, default in (("max_bundle_bytes", DEFAULT_MAX_BUNDLE_BYTES), ("max_batch_bytes", DEFAULT_MAX_BATCH_BYTES)):
        sizes[key] = _size(values.get(key, default))
        if sizes[key] is None:
            problems.append(f"{where} → key '{key}': expected a positive size like 500MiB, found {brief(values[key])}")

    reload, reload_problems = _parse_reload(values.get("reload"), f"{where} → key 'reload'")
    problems += reload_problems
    if reload is not None and version is not None:
        problems.append(
            f"{where} → key 'reload': the entry pins version {version}, which never changes; "
            "remove 'version' to follow the store, or 'reload' to stay on the pin"
        )
    control, control_problems = _parse_control(values.get("control"), f"{where} → key 'control'")
    problems += control_problems

    if problems:
        return None, problems
    return (
        UdfEntry(
            udf_name=name,
            bundle_path=bundle_path,
            bundle_source=source,
            inputs=columns["inputs"],
            inputs_mode=inputs_mode,
            outputs=columns["outputs"],
            result_type=result_type,
            on_error=on_error,
            version=version,
            max_bundle_bytes=sizes["max_bundle_bytes"],
            max_batch_bytes=sizes["max_batch_bytes"],
            source_settings=settings.get(source),
            reload=reload,
            control=control,
            numerics=numerics,
        ),
        [],
    )


def _size(value: Any) -> Optional[int]:
    """Bytes from ``500MiB`` / ``1GiB`` / a number; None unless a positive whole size."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and len(value) > 40):
        return None
    match = _SIZE.match(str(value))
    if match is None or int(match.group(1)) <= 0:
        return None
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def parse_duration(value: Any) -> Optional[float]:
    """Seconds from ``60s``, ``500ms``, ``2m``, ``1h`` or a plain number of seconds; None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    match = _DURATION.match(str(value))
    if match is None:
        return None
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _parse_reload(raw: Any, where: str) -> Tuple[Optional[ReloadSettings], List[str]]:
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping like {{interval: 60s}}, found {raw!r}"]
    problems = _unknown_keys(raw, RELOAD_KEYS, where)
    if "interval" not in raw:
        return None, problems + [f"{where} → key 'interval': required key is missing (e.g. interval: 60s)"]
    seconds = parse_duration(raw["interval"])
    if seconds is None or seconds < MIN_RELOAD_INTERVAL_S:
        problems.append(
            f"{where} → key 'interval': expected a duration of at least {MIN_RELOAD_INTERVAL_S:g} s "
            f"like 60s, 500ms or 2m, found {raw['interval']!r}"
        )
    return (None if problems else ReloadSettings(seconds)), problems


def _parse_control(raw: Any, where: str) -> Tuple[Optional[ControlSettings], List[str]]:
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping with keys topic and bootstrap_servers, found {raw!r}"]
    problems = _unknown_keys(raw, CONTROL_KEYS, where)
    for key in CONTROL_KEYS:
        value = raw.get(key)
        if value is None:
            problems.append(f"{where} → key '{key}': required key is missing")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where} → key '{key}': expected a non-empty string, found {value!r}")
    if problems:
        return None, problems
    return ControlSettings(raw["topic"].strip(), raw["bootstrap_servers"].strip()), []


def _interpolate_value(value: Any, environ: Optional[Mapping[str, str]]) -> Any:
    """``${NAME}`` replaced in a string or a list of strings; a value from the environment keeps the
    reference as its ``repr``, so the messages above name the variable, never its value."""
    if isinstance(value, str):
        return interpolate_marked(value, environ)
    if isinstance(value, list):
        return [_interpolate_value(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: _interpolate_value(item, environ) for key, item in value.items()}
    return value
