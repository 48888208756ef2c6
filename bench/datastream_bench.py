"""DataStream scoring: the per-element map function vs the vectorized path, side by side in one JVM.

    python bench/datastream_bench.py [--rows 20000] [--repeat 2]

Each job reads the same bounded number sequence (NumberSequenceSource, Java), scores it with
Predictv2 of conf/application.yaml (example-2: feature1 → min-max scaler → linear regression) and
drops the results in a Java discarding sink, so the two differ only in how elements reach the model:

- ``map``: ``BundleMapFunction`` (one Python call per element, pickled elements);
- ``vectorized``: ``score_stream`` (the registered pandas UDF over Arrow batches);
- ``identity map``: a Python ``map(lambda x: x)``, the floor of any per-element Python function.

Each job runs at two sizes (the map function at --rows and 5x, the identity map at 10x those, the
vectorized path at 50x), alternating, and the best of --repeat runs is kept; rows/s is the slope
(extra rows / extra seconds), so job and Python worker start-up cancel out. Ratios come from one
run, side by side. Also the in-process cost of one ``BundleMapFunction.map`` call and of one row in
a 100k-row batch of the UDF, without Flink, to show where the time goes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors import Sink
from pyflink.datastream.connectors.number_seq import NumberSequenceSource
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment

from flink_ml_udf.config import load_config
from flink_ml_udf.flink.datastream import BundleMapFunction, score_stream
from flink_ml_udf.flink.registry import configure_python_workers, register_from_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "conf", "application.yaml")
UDF = "Predictv2"


def discard() -> Sink:
    return Sink(get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())


def environments():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.set_python_executable(sys.executable)
    t_env = StreamTableEnvironment.create(env)
    configure_python_workers(t_env)
    return env, t_env


def numbers(env, rows: int):
    from pyflink.common import WatermarkStrategy

    return env.from_source(NumberSequenceSource(0, rows - 1), WatermarkStrategy.no_watermarks(), "numbers")


def run_map(rows: int) -> float:
    env, _ = environments()
    predict = BundleMapFunction(UDF, CONFIG)
    numbers(env, rows).map(predict, output_type=predict.output_type).sink_to(discard())
    return timed(env)


def run_vectorized(rows: int) -> float:
    env, t_env = environments()
    udf = register_from_config(CONFIG, t_env)[UDF]
    score_stream(t_env, numbers(env, rows), udf).sink_to(discard())  # BIGINT f0, cast to DOUBLE by the planner
    return timed(env)


def run_identity(rows: int) -> float:
    env, _ = environments()
    numbers(env, rows).map(lambda n: n, output_type=Types.LONG()).sink_to(discard())
    return timed(env)


def timed(env) -> float:
    started = time.perf_counter()
    env.execute()
    return time.perf_counter() - started


def in_process_costs() -> tuple:
    """(µs per BundleMapFunction.map call, ns per row of a 100k-row UDF batch), without Flink."""
    from flink_ml_udf.flink.udf import BundleFunction

    class Group:  # a metric group that records nothing
        def add_group(self, *args):
            return self

        def counter(self, name):
            return type("C", (), {"inc": lambda self, n=1: None})()

        def gauge(self, name, fn):
            return None

    class Context:
        def get_metric_group(self):
            return Group()

    predict = BundleMapFunction(UDF, load_config(CONFIG))
    predict._function.open(Context())
    values = np.random.default_rng(0).uniform(0, 100, 20_000)
    started = time.perf_counter()
    for value in values:
        predict.map(float(value))
    per_element = (time.perf_counter() - started) / len(values) * 1e6
    function = BundleFunction(predict.plan)
    function.open(Context())
    batch = pd.Series(np.random.default_rng(1).uniform(0, 100, 100_000))
    function.eval(batch)
    started = time.perf_counter()
    for _ in range(5):
        function.eval(batch)
    per_row = (time.perf_counter() - started) / 5 / len(batch) * 1e9
    return per_element, per_row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=20_000, help="the map function's smaller job (identity x10, vectorized x50)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    per_element, per_row = in_process_costs()
    runs = {"map": (run_map, args.rows), "vectorized": (run_vectorized, 50 * args.rows),
            "identity map": (run_identity, 10 * args.rows)}  # fmt: skip
    best = {(name, size): float("inf") for name, (_, rows) in runs.items() for size in (rows, 5 * rows)}
    for _ in range(args.repeat):
        for name, (run, rows) in runs.items():
            for size in (rows, 5 * rows):
                best[name, size] = min(best[name, size], run(size))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{UDF} of conf/application.yaml; each job at two sizes, best of {args.repeat}; rows/s = the extra rows of "
          "the bigger job / its extra seconds (job start and Python worker start cancel out)")  # fmt: skip
    rate = {}
    for name, (_, rows) in runs.items():
        small, big = best[name, rows], best[name, 5 * rows]
        rate[name] = 4 * rows / max(big - small, 1e-9)
        print(f"  {name:14s} {rate[name]:12,.0f} rows/s   ({rows} rows {small:.1f} s, {5 * rows} rows {big:.1f} s)")
    print(f"  vectorized / map: {rate['vectorized'] / rate['map']:.1f}x; "
          f"map / identity map: {rate['map'] / rate['identity map']:.2f}")  # fmt: skip
    print(
        f"in process: BundleMapFunction.map {per_element:.0f} µs per element; UDF batch of 100k {per_row:.0f} ns per row"
    )


if __name__ == "__main__":
    main()
