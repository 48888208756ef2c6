"""What a config file becomes: frozen dataclasses of the UDF entries and their settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from flink_ml_udf.config.keys import DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BUNDLE_BYTES
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.sources import BY_NAME, RemoteSettings


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
