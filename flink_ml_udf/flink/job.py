"""The job: SQL files run in order on a TableEnvironment, with a config's UDFs registered first.

Local minicluster:
    python -m flink_ml_udf.flink.job --config conf/application.yaml \
        --sql sql/features_datagen.sql --sql sql/predict.sql
Flink cluster (what ``flink-ml-udf submit`` runs):
    flink run -pym flink_ml_udf.flink.job --config /abs/application.yaml --sql /abs/a.sql ...

:func:`run_sql_job` is the one sequence behind both this entry point and the SQL runner
(``flink-ml-udf sql``): create the table environment, register the UDFs (or let the files declare
them with ``CREATE FUNCTION ... LANGUAGE PYTHON``), read the statements, add the Kafka connector
when a statement needs it, run.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional, Sequence

from flink_ml_udf.dependency_warnings import ignoring_import_notices
from flink_ml_udf.errors import FlinkMlUdfError


def create_table_environment(batch: bool = False):
    """A streaming (or batch) TableEnvironment with this project's Python worker defaults."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.registry import configure_python_workers

    settings = EnvironmentSettings.in_batch_mode() if batch else EnvironmentSettings.in_streaming_mode()
    with ignoring_import_notices():  # Beam's import of google-cloud-storage, when the gcs extra is installed
        t_env = TableEnvironment.create(settings)
    configure_python_workers(t_env)
    return t_env


def run_sql_job(
    sql_paths: Sequence[str],
    config_path: Optional[str] = None,
    register: bool = True,
    batch: bool = False,
    wait: bool = True,
    log=None,
):
    """Run ``sql_paths`` in order; returns the table environment.

    With ``register`` (the job), every UDF of ``config_path`` is registered first and the files may
    use ``${MODEL_VERSION_<UDF>}``; without it (the SQL runner), ``config_path`` only becomes the
    config that ``CREATE FUNCTION ... AS 'flink_ml_udf.functions.<UDF>' LANGUAGE PYTHON`` reads.
    ``wait=False`` returns once INSERT jobs are submitted (an unbounded job the caller stops).
    """
    from flink_ml_udf.flink.connectors import add_connectors_for
    from flink_ml_udf.flink.functions import CONFIG_ENV
    from flink_ml_udf.flink.registry import register_from_config
    from flink_ml_udf.flink.sql_script import read_statements, run_statements

    t_env = create_table_environment(batch)
    variables: Dict[str, str] = {}
    signatures = {}
    if config_path and register:
        for name, item in register_from_config(config_path, t_env).items():
            if log is not None:
                print(f"registered {item.describe()}", file=log)
            variables.update(item.sql_variables)
            signatures[name] = item.signature
    elif config_path:
        os.environ[CONFIG_ENV] = os.path.abspath(config_path)
    statements = [statement for path in sql_paths for statement in read_statements(path, variables)]
    add_connectors_for(t_env, [statement.text for statement in statements])
    run_statements(t_env, statements, wait=wait, signatures=signatures)
    return t_env


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m flink_ml_udf.flink.job",
        description="Score features with the UDFs of a config, running the given SQL files in order.",
    )
    parser.add_argument(
        "--config", required=True, help="application.yaml with the UDF registry (or flink-mleap's application.conf)"
    )
    parser.add_argument("--sql", action="append", required=True, help="SQL file to run (repeatable, in order)")
    parser.add_argument("--batch", action="store_true", help="run in batch mode instead of streaming")
    parser.add_argument(
        "--no-wait", action="store_true", help="return once INSERT jobs are submitted (detached submissions)"
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        run_sql_job(args.sql, args.config, batch=args.batch, wait=not args.no_wait, log=sys.stderr)
    except FlinkMlUdfError as exc:
        print(f"flink-ml-udf job: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
