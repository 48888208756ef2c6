"""Score features with the UDFs of a config, running the given SQL files in order.

Local minicluster:
    python jobs/predict_job.py --config conf/application.yaml \
        --sql sql/features_datagen.sql --sql sql/predict.sql
Flink cluster:
    flink run -py jobs/predict_job.py --config conf/application.yaml --sql ... --sql ...
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from pyflink.table import EnvironmentSettings, TableEnvironment

from flink_ml_udf.connectors import add_connectors_for
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.registry import register_from_config
from flink_ml_udf.sql_script import read_statements, run_statements


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="application.yaml with the UDF registry")
    parser.add_argument("--sql", action="append", required=True, help="SQL file to run (repeatable, in order)")
    parser.add_argument("--batch", action="store_true", help="run in batch mode instead of streaming")
    parser.add_argument(
        "--no-wait", action="store_true", help="return once INSERT jobs are submitted (detached submissions)"
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    settings = EnvironmentSettings.in_batch_mode() if args.batch else EnvironmentSettings.in_streaming_mode()
    t_env = TableEnvironment.create(settings)
    try:
        registered = register_from_config(args.config, t_env)
        for item in registered.values():
            print(f"registered {item.describe()}", file=sys.stderr)
        variables = {key: value for item in registered.values() for key, value in item.sql_variables.items()}
        statements = [statement for path in args.sql for statement in read_statements(path, variables)]
        add_connectors_for(t_env, [statement.text for statement in statements])
        run_statements(t_env, statements, wait=not args.no_wait)
    except FlinkMlUdfError as exc:
        print(f"predict_job: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
