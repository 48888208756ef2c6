"""Reading a config document into :class:`~flink_ml_udf.config.entries.AppConfig`: every section
checked against its key table, every problem collected and reported in one :class:`ConfigError`,
each naming the file, the entry and the key."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from flink_ml_udf.config.entries import AppConfig, ControlSettings, ReloadSettings, UdfEntry, Variant
from flink_ml_udf.config.keys import (
    BUNDLE_KEYS,
    CONTROL_KEYS,
    DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_MAX_BUNDLE_BYTES,
    ENTRY_KEYS,
    EXPERIMENT_KEYS,
    HOCON_SUFFIXES,
    INPUTS_MODES,
    MAX_CONFIG_BYTES,
    MIN_RELOAD_INTERVAL_S,
    MLEAP_KEYS,
    NUMERICS,
    ON_ERROR,
    RELOAD_KEYS,
    SHADOW_KEYS,
    SOURCES,
    SPLIT_KEY_TYPES,
    SQL_IDENTIFIER,
    TOP_KEYS,
    VARIANT_KEYS,
)
from flink_ml_udf.config.values import (
    finite_number,
    interpolate_value,
    parse_duration,
    setting_value,
    size_bytes,
    unknown_keys,
)
from flink_ml_udf.errors import ConfigError, brief
from flink_ml_udf.interpolate import InterpolationError
from flink_ml_udf.regular_files import read_text_file
from flink_ml_udf.sources import (
    BUNDLE_SOURCES,
    BY_NAME,
    BY_SCHEME,
    LOCAL,
    SCHEME_HINT,
    RemoteSettings,
    Source,
    local_path,
    uri_scheme,
)
from flink_ml_udf.yaml_loader import YamlProblem, load_yaml


def load_config(path: str, environ: Optional[Mapping[str, str]] = None) -> AppConfig:
    """Read, interpolate and validate a config file; raises one :class:`ConfigError` listing every problem.

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read (a fifo or ``/dev/zero`` is
    refused, not waited on); see :mod:`flink_ml_udf.yaml_loader` for what YAML is refused.
    A ``.conf`` file is flink-mleap's HOCON format (:mod:`flink_ml_udf.config.hocon`)."""

    if path.endswith(HOCON_SUFFIXES):
        from flink_ml_udf.config.hocon import load_hocon_config

        return load_hocon_config(path, environ)
    text = read_text_file(path, MAX_CONFIG_BYTES, ConfigError, f"{path}: cannot read config file")
    try:
        document = load_yaml(text)
    except YamlProblem as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(document, path, environ)


def parse_config(document: Any, path: str, environ: Optional[Mapping[str, str]] = None) -> AppConfig:
    problems: List[str] = []
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with key 'mleap', found {type(document).__name__}")
    problems += unknown_keys(document, TOP_KEYS, f"{path}")
    mleap = document.get("mleap")
    if not isinstance(mleap, dict):
        raise ConfigError("\n".join(problems + [f"{path} → key 'mleap': expected a mapping with key 'udf_registry'"]))
    problems += unknown_keys(mleap, MLEAP_KEYS, f"{path} → mleap")
    base_dir = os.path.dirname(os.path.abspath(path))
    settings: Dict[str, RemoteSettings] = {}
    for source in BUNDLE_SOURCES:
        if source.settings is None:
            continue
        parsed, source_problems = _parse_source(
            source, mleap.get(source.name), f"{path} → mleap.{source.name}", base_dir, environ
        )
        problems += source_problems
        settings[source.name] = parsed
    reading = Reading(base_dir, environ, settings)
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
        entry, entry_problems = _parse_udf(raw, where, reading)
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


@dataclass(frozen=True)
class Reading:
    """What every entry of one file is read against: the file's folder (relative bundle paths), the
    environment (``${NAME}``) and the settings of each remote source (``mleap.<source>``)."""

    base_dir: str
    environ: Optional[Mapping[str, str]]
    settings: Mapping[str, RemoteSettings]


def _parse_source(
    source: Source, raw: Any, where: str, base_dir: str, environ: Optional[Mapping[str, str]]
) -> Tuple[RemoteSettings, List[str]]:
    """``mleap.<source>``: its keys are its settings dataclass's fields, each checked by its kind
    (flink_ml_udf/sources.py)."""
    if raw is None:
        return source.settings(), []
    if not isinstance(raw, dict):
        return source.settings(), [f"{where}: expected a mapping of settings, found {type(raw).__name__}"]
    problems = unknown_keys(raw, source.settings_keys, where)
    kinds = {setting.name: setting.metadata for setting in dataclasses.fields(source.settings)}
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in kinds or value is None:
            continue
        try:
            value = interpolate_value(value, environ)
        except InterpolationError as exc:
            problems.append(f"{where} → key '{key}': {exc}")
            continue
        value, problem = setting_value(value, kinds[key], base_dir)
        if problem is not None:
            problems.append(f"{where} → key '{key}': {problem}")
            continue
        values[key] = value
    if values.get("anonymous") and ("profile" in values or "credentials_file" in values):
        problems.append(f"{where} → key 'anonymous': cannot be combined with profile or credentials_file")
    return source.settings(**values), problems


def _parse_udf(
    raw: Any,
    where: str,
    reading: Reading,
) -> Tuple[Optional[UdfEntry], List[str]]:
    """A registry entry: a plain one, or an experiment (``variants`` and/or ``shadow``)."""
    if not isinstance(raw, dict) or not any(key in raw for key in EXPERIMENT_KEYS):
        return _parse_entry(raw, where, reading)
    common = {key: value for key, value in raw.items() if key not in EXPERIMENT_KEYS}
    problems: List[str] = []
    variants_raw, shadow_raw = raw.get("variants"), raw.get("shadow")
    split_key, split_type = raw.get("split_key"), raw.get("split_key_type", "STRING")
    if variants_raw is not None and "bundle_path" in raw:
        problems.append(f"{where} → key 'variants': an entry has either bundle_path or variants, not both")
    if split_key is not None and not (isinstance(split_key, str) and SQL_IDENTIFIER.match(split_key)):
        problems.append(f"{where} → key 'split_key': expected the name of a SQL argument, found {brief(split_key)}")
    if not isinstance(split_type, str) or split_type.strip().upper() not in SPLIT_KEY_TYPES:
        problems.append(
            f"{where} → key 'split_key_type': {brief(split_type)} is not one of {', '.join(SPLIT_KEY_TYPES)}"
        )
    else:
        split_type = split_type.strip().upper()
    variants: List[Variant] = []
    if variants_raw is not None:
        if split_key is None:
            problems.append(f"{where} → key 'split_key': required with variants (the SQL argument that routes a row)")
        if not isinstance(variants_raw, list) or len(variants_raw) < 2:
            problems.append(
                f"{where} → key 'variants': expected a list of at least two variants, found {brief(variants_raw)}"
            )
            variants_raw = []
        for index, item in enumerate(variants_raw):
            variant, variant_problems = _parse_arm(item, "weight", f"{where} → variants[{index}]", common, reading)
            problems += variant_problems
            if variant is not None:
                variants.append(variant)
    elif split_key is not None and shadow_raw is None:
        problems.append(f"{where} → key 'split_key': routes rows to variants, but the entry has no 'variants'")
    shadow = None
    if shadow_raw is not None:
        shadow, shadow_problems = _parse_arm(shadow_raw, "sample", f"{where} → shadow", common, reading)
        problems += shadow_problems
        if shadow is not None and shadow.sample < 1 and split_key is None:
            problems.append(f"{where} → shadow → key 'sample': sampling keys needs a 'split_key'")
    names = [v.name for v in variants] + ([shadow.name] if shadow is not None else [])
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"{where} → key 'variants': duplicate variant names {', '.join(map(repr, duplicates))}")
    base, base_problems = _parse_entry(
        common if variants_raw is None else {**common, "bundle_path": "-"}, where, reading
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
    reading: Reading,
) -> Tuple[Optional[Variant], List[str]]:
    """A variant (``share`` = weight) or the shadow (``share`` = sample): its own keys on top of the
    entry's common ones, parsed as a plain entry."""
    allowed = VARIANT_KEYS if share == "weight" else SHADOW_KEYS
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping with keys {', '.join(allowed)}, found {brief(raw)}"]
    name = raw.get("name")
    if isinstance(name, str) and name:
        where += f" ({name})"
    problems = unknown_keys(raw, allowed, where)
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_-]+$", name):
        problems.append(f"{where} → key 'name': expected a name of letters, digits, '_' or '-', found {brief(name)}")
    amount = raw.get(share)
    if share == "weight":
        if amount is None:
            problems.append(f"{where} → key 'weight': required key is missing")
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            problems.append(f"{where} → key 'weight': expected a positive whole number, found {brief(amount)}")
    elif amount is not None:
        number = finite_number(amount)
        if number is None or not 0 < number <= 1:
            problems.append(f"{where} → key 'sample': expected a fraction in (0, 1], found {brief(amount)}")
        else:
            amount = number
    own = {key: value for key, value in raw.items() if key in BUNDLE_KEYS}
    outputs = common.get("outputs")
    arm_raw = dict(common, **own)
    if isinstance(outputs, list):  # an arm computes the bundle's outputs; the router adds the rest
        arm_raw["outputs"] = [o for o in outputs if not str(o).startswith("shadow_") and o != "model_variant"] or None
    entry, entry_problems = _parse_entry(arm_raw, where, reading)
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
    reading: Reading,
) -> Tuple[Optional[UdfEntry], List[str]]:
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping, found {type(raw).__name__}"]
    problems = unknown_keys(raw, ENTRY_KEYS, where)
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in ENTRY_KEYS:
            continue
        try:
            values[key] = interpolate_value(value, reading.environ)
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
        problems.append(
            f"{where} → key 'bundle_source': {brief(source)} does not match the {scheme}:// URI in bundle_path"
        )
    if bundle_path and source == LOCAL.name:
        bundle_path = os.path.normpath(os.path.join(reading.base_dir, os.path.expanduser(local_path(bundle_path))))

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
        sizes[key] = size_bytes(values.get(key, default))
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
            source_settings=reading.settings.get(source),
            reload=reload,
            control=control,
            numerics=numerics,
        ),
        [],
    )


def _parse_reload(raw: Any, where: str) -> Tuple[Optional[ReloadSettings], List[str]]:
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping like {{interval: 60s}}, found {brief(raw)}"]
    problems = unknown_keys(raw, RELOAD_KEYS, where)
    if "interval" not in raw:
        return None, problems + [f"{where} → key 'interval': required key is missing (e.g. interval: 60s)"]
    seconds = parse_duration(raw["interval"])
    if seconds is None or seconds < MIN_RELOAD_INTERVAL_S:
        problems.append(
            f"{where} → key 'interval': expected a duration of at least {MIN_RELOAD_INTERVAL_S:g} s "
            f"like 60s, 500ms or 2m, found {brief(raw['interval'])}"
        )
    return (None if problems else ReloadSettings(seconds)), problems


def _parse_control(raw: Any, where: str) -> Tuple[Optional[ControlSettings], List[str]]:
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping with keys topic and bootstrap_servers, found {brief(raw)}"]
    problems = unknown_keys(raw, CONTROL_KEYS, where)
    for key in CONTROL_KEYS:
        value = raw.get(key)
        if value is None:
            problems.append(f"{where} → key '{key}': required key is missing")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where} → key '{key}': expected a non-empty string, found {brief(value)}")
    if problems:
        return None, problems
    return ControlSettings(raw["topic"].strip(), raw["bootstrap_servers"].strip()), []
