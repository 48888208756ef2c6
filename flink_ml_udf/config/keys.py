"""The config's vocabularies and limits: every key each section allows, the values some keys
take, and the defaults. One table each; the YAML and HOCON readers and the messages read them."""

from __future__ import annotations

import re

from flink_ml_udf.sources import BUNDLE_SOURCES

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
DEFAULT_MAX_BUNDLE_BYTES = 1 << 30
DEFAULT_MAX_BATCH_BYTES = 1 << 30
#: A config file larger than this is refused unread (a thousand UDF entries take ~100 KiB).
MAX_CONFIG_BYTES = 1 << 20
#: Timeouts are at most a day: a larger (or infinite) one is a typo that would hang a job.
MAX_TIMEOUT_SECONDS = 86400.0
TOP_KEYS = ("mleap",)
#: Config files read as HOCON (flink-mleap's application.conf) rather than YAML.
HOCON_SUFFIXES = (".conf", ".hocon")
#: The keys of each source's settings section ``mleap.<source>``, from its settings dataclass.
SOURCE_KEYS = {source.name: source.settings_keys for source in BUNDLE_SOURCES if source.settings is not None}
MLEAP_KEYS = ("udf_registry",) + tuple(sorted(SOURCE_KEYS))
