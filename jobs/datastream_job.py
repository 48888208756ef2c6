"""flink-mleap's DataStream example with this project: random doubles, each mapped to a prediction.

    python jobs/datastream_job.py --config conf/application.yaml --udf Predictv2 [--count 3] [--vectorized]
    flink run -py jobs/datastream_job.py --config /abs/application.conf --udf Predictv2

Theirs (Scala): ``env.fromElements(r(), r(), r()).map(MleapMapFunction(bundlePath, FileBundleLoader)).print()``.
Here the map function is :class:`~flink_ml_udf.flink.datastream.BundleMapFunction`, built from a
config entry (YAML or their HOCON ``application.conf``), so the bundle's version is pinned when the
job is built and metrics, reloads and A/B entries work as for SQL. ``--vectorized`` scores the same
stream through the registered UDF (Table API, Arrow batches) instead: see the module docstring of
:mod:`flink_ml_udf.flink.datastream` for when to prefer which.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import List, Optional

from pyflink.common import Row, Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.datastream import BundleMapFunction, score_stream
from flink_ml_udf.flink.registry import configure_python_workers, register_from_config


def run(config: str, udf_name: str, count: int, vectorized: bool, seed: Optional[int] = None) -> List[tuple]:
    """(element, prediction) for ``count`` random doubles in [0, 1), as the job prints them."""
    rand = random.Random(seed)
    values = [rand.random() for _ in range(count)]
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)  # the workers run this interpreter (flink-ml-udf installed)
    env.set_parallelism(1)
    if vectorized:
        t_env = StreamTableEnvironment.create(env)
        configure_python_workers(t_env)
        udf = register_from_config(config, t_env)[udf_name]
        rows = env.from_collection([Row(v) for v in values], Types.ROW_NAMED(["value"], [Types.DOUBLE()]))
        scored = score_stream(t_env, rows, udf, ["value"], result="prediction")
        with scored.execute_and_collect() as results:
            return [(row.value, row.prediction) for row in results]
    predict = BundleMapFunction(udf_name, config)
    stream = env.from_collection(values, Types.DOUBLE()).map(predict, output_type=predict.output_type)
    with (
        stream.execute_and_collect() as results
    ):  # bounded: collected and printed here (Flink's print() goes to the TaskManager's stdout)
        return list(zip(values, results))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="datastream_job.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="application.yaml, or flink-mleap's application.conf")
    parser.add_argument("--udf", required=True, help="the config entry (UDF name) to score with")
    parser.add_argument("--count", type=int, default=3, help="how many random doubles (default 3, as theirs)")
    parser.add_argument("--vectorized", action="store_true", help="score through the registered UDF in Arrow batches")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random doubles")
    args = parser.parse_args(argv)
    try:
        for value, prediction in run(args.config, args.udf, args.count, args.vectorized, args.seed):
            print(f"{value!r} -> {prediction!r}")
    except FlinkMlUdfError as exc:
        print(f"datastream_job: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
