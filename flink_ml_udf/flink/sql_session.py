"""SQL sessions: the init script for Flink's SQL client, and a runner for SQL files.

``sql_init_script`` prints what ``sql-client.sh -i init.sql`` needs so that the config's UDFs can be
declared the Flink way (``CREATE TEMPORARY SYSTEM FUNCTION ... LANGUAGE PYTHON``) and run on the
Python workers. ``run_sql_file`` executes the same statements here, on a local minicluster, since the
pip PyFlink package ships no SQL gateway (``sql-client.sh`` cannot start from it).
"""

from __future__ import annotations

import sys
from typing import List, Optional

from flink_ml_udf.config import load_config
from flink_ml_udf.flink.functions import CONFIG_ENV
from flink_ml_udf.flink.registry import PYTHON_WORKER_DEFAULTS


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_init_script(config_path: str, kafka: bool = False) -> str:
    """SET lines (Python executable and files, worker defaults), ADD JAR lines (Kafka jars) and one
    ``CREATE TEMPORARY SYSTEM FUNCTION`` per UDF of the config."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.connectors import kafka_jars
    from flink_ml_udf.flink.sql_names import check_udf_names

    config = load_config(config_path)
    # The planner says which names its parser reserves and which its built-ins use (a JVM for that).
    check_udf_names(config, TableEnvironment.create(EnvironmentSettings.in_batch_mode()))
    lines = [
        f"-- flink-ml-udf functions of {config.path}",
        f"-- The SQL client's Python process must see {CONFIG_ENV}={config.path} in its environment;",
        "-- the Python below must have flink-ml-udf installed (on every TaskManager host too).",
        f"SET 'python.executable' = {_quote(sys.executable)};",
        f"SET 'python.client.executable' = {_quote(sys.executable)};",
    ]
    lines += [f"SET {_quote(key)} = {_quote(value)};" for key, value in PYTHON_WORKER_DEFAULTS.items()]
    if kafka:
        # ADD JAR, not SET 'pipeline.jars': it keeps the jars the session already has.
        lines += [f"ADD JAR {_quote(path)};" for path in kafka_jars()]
    lines += [
        f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {entry.udf_name} "
        f"AS 'flink_ml_udf.functions.{entry.udf_name}' LANGUAGE PYTHON;"
        for entry in config.udfs
    ]
    return "\n".join(lines) + "\n"


def run_sql_file(paths: List[str], config_path: Optional[str] = None, batch: bool = False) -> None:
    """Run SQL files statement by statement on a local minicluster: SET, ADD JAR, CREATE
    TABLE/FUNCTION, INSERT (run as one job), SELECT (printed). With ``config_path``, the config's
    functions can be declared in the files with ``CREATE ... LANGUAGE PYTHON``."""
    from flink_ml_udf.flink.job import run_sql_job

    run_sql_job(paths, config_path, register=False, batch=batch)
