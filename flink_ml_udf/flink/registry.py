"""Register every UDF of a config in a PyFlink ``TableEnvironment``.

Bundles are loaded and checked on the client first, all of them, so that a bad entry fails the
job before it is submitted, with every problem listed at once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Union

from pyflink.table import TableEnvironment

from flink_ml_udf.config import AppConfig, UdfEntry, load_config
from flink_ml_udf.errors import ConfigError, FlinkMlUdfError
from flink_ml_udf.flink.router import ServingPlan, serving_plan
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.flink.sql_names import check_udf_names
from flink_ml_udf.flink.udf import make_udf
from flink_ml_udf.redact import redact

#: Python worker settings applied unless the job sets its own. Bigger bundles and Arrow batches
#: amortize the per-batch cost of the Python bridge (measured: bench/RESULTS.md).
PYTHON_WORKER_DEFAULTS: Mapping[str, str] = {
    "python.fn-execution.bundle.size": "100000",
    "python.fn-execution.arrow.batch.size": "100000",
    "python.fn-execution.bundle.time": "1000",
}


@dataclass(frozen=True)
class RegisteredUdf:
    """What was registered under one name: the serving plan (entry, SQL signature, arms and their versions)."""

    plan: ServingPlan

    @property
    def entry(self) -> UdfEntry:
        return self.plan.entry

    @property
    def signature(self) -> Signature:
        return self.plan.signature

    @property
    def version(self) -> str:
        return self.plan.version

    @property
    def sql_variables(self) -> Dict[str, str]:
        """What SQL files may reference for this UDF: ``${MODEL_VERSION_<NAME>}``, the bundle version
        resolved at registration. For a pinned entry every row is scored by it; an entry that follows
        updates (reload, control) says per row which version scored it through the ``model_version``
        output instead."""
        return {f"MODEL_VERSION_{self.entry.udf_name.upper()}": self.version}

    def describe(self) -> str:
        return redact(self.plan.describe())


def configure_python_workers(t_env: TableEnvironment, overrides: Optional[Mapping[str, str]] = None) -> None:
    """Apply :data:`PYTHON_WORKER_DEFAULTS` (and ``python.executable`` = this interpreter) where unset."""
    config = t_env.get_config()
    settings = dict(PYTHON_WORKER_DEFAULTS)
    settings["python.executable"] = sys.executable
    settings.update(overrides or {})
    for key, value in settings.items():
        if config.get(key, None) is None:
            config.set(key, value)


def validate(config: AppConfig) -> Dict[str, RegisteredUdf]:
    """Load every bundle of ``config`` and derive its signature; one error lists all failures."""
    registered: Dict[str, RegisteredUdf] = {}
    problems: List[str] = []
    for entry in config.udfs:
        try:
            registered[entry.udf_name] = RegisteredUdf(serving_plan(entry))
        except FlinkMlUdfError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(
            f"{config.path}: {len(problems)} of {len(config.udfs)} UDFs cannot be used:\n" + "\n".join(problems)
        )
    return registered


def register_from_config(
    config_or_path: Union[AppConfig, str],
    t_env: TableEnvironment,
) -> Dict[str, RegisteredUdf]:
    """Validate every entry, then register one vectorized UDF per entry as a temporary system function,
    replacing a function already registered under the same name."""
    config = load_config(config_or_path) if isinstance(config_or_path, str) else config_or_path
    check_udf_names(config, t_env)  # a name the planner reserves or uses for a built-in is refused first
    registered = validate(config)
    configure_python_workers(t_env)
    for name, item in registered.items():
        # Registering a config again replaces its functions (a new bundle version, a reloaded config).
        t_env.drop_temporary_system_function(name)
        t_env.create_temporary_system_function(name, make_udf(item.plan))
    return registered
