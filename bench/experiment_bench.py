"""What an experiment costs per batch: a 2-variant split and a shadow against a plain entry.

    python bench/experiment_bench.py [--rows 100000] [--repeat 30]     # the UDF's per-batch path
    python bench/experiment_bench.py --flink [--flink-rows 1000000]    # whole jobs on a local minicluster

The UDF's per-batch path (``Router.score`` as ``eval`` calls it: key hashing, splitting, each
variant's scorer, putting rows back in order, the shadow) on the same batches, side by side in one
run, with the example-1 model (scaler + RF 20 trees) for every variant and the shadow, so that only
the routing differs. Prints rows/s and batch p50/p99 of each, and the ratios to the plain entry.
With ``--flink``: the same four UDFs in four jobs (datagen with a random 10-character key → UDF →
blackhole, parallelism 1, best of two runs each), where the Arrow bridge is part of every row's cost.
Targets: split ≥ 0.9x plain; shadow ≈ plain + the shadow's own scoring time (a second full scoring
of the sampled rows).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import textwrap
import time

import numpy as np
import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.config import load_config  # noqa: E402
from flink_ml_udf.flink.router import Router, serving_plan  # noqa: E402
from flink_ml_udf.flink.slots import ModelSlot  # noqa: E402

MODEL = os.path.join(REPO, "models", "example-1.zip")
CONFIG = f"""
mleap:
  udf_registry:
    - udf_name: Plain
      bundle_path: {MODEL}
    - udf_name: SplitAB
      split_key: customer_id
      variants:
        - {{name: champion, bundle_path: {MODEL}, weight: 90}}
        - {{name: challenger, bundle_path: {MODEL}, weight: 10}}
    - udf_name: Shadowed
      bundle_path: {MODEL}
      shadow: {{name: candidate, bundle_path: {MODEL}}}
    - udf_name: SplitShadowed
      split_key: customer_id
      variants:
        - {{name: champion, bundle_path: {MODEL}, weight: 90}}
        - {{name: challenger, bundle_path: {MODEL}, weight: 10}}
      shadow: {{name: candidate, bundle_path: {MODEL}, sample: 0.25}}
"""


def router(config, name: str) -> Router:
    plan = serving_plan(config.entry(name))
    slots = [ModelSlot(arm.variant.entry, arm.signature) for arm in plan.arms]
    for slot, arm in zip(slots, plan.arms):
        slot.load(None, arm.version)
    shadow = None
    if plan.shadow is not None:
        shadow = ModelSlot(plan.shadow.variant.entry, plan.shadow.signature)
        shadow.load()
    return Router(plan, slots, shadow)


def flink_jobs(config_path: str, rows: int) -> None:
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.registry import register_from_config

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    register_from_config(config_path, t_env)
    t_env.execute_sql(
        f"CREATE TEMPORARY TABLE Features (customer_id STRING, feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH ("
        f"'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000', "
        "'fields.customer_id.length' = '10', 'fields.feature1.min' = '0', 'fields.feature1.max' = '100', "
        "'fields.feature2.min' = '0', 'fields.feature2.max' = '10', 'fields.feature3.min' = '-1', 'fields.feature3.max' = '1')"
    )
    t_env.execute_sql("CREATE TEMPORARY TABLE Sink (p DOUBLE) WITH ('connector' = 'blackhole')")
    calls = {"Plain": "Plain(feature1, feature2, feature3)", "SplitAB": "SplitAB(customer_id, feature1, feature2, feature3)",
             "Shadowed": "Shadowed(feature1, feature2, feature3)",
             "SplitShadowed": "SplitShadowed(customer_id, feature1, feature2, feature3)"}  # fmt: skip
    best = {}
    for name, call in calls.items():
        times = []
        for _ in range(2):
            started = time.perf_counter()
            t_env.execute_sql(f"INSERT INTO Sink SELECT {call} FROM Features").wait()
            times.append(time.perf_counter() - started)
        best[name] = min(times)
    print(f"Flink jobs: {rows:,} datagen rows → UDF → blackhole, parallelism 1, best of 2 (job start included)")
    for name, seconds in best.items():
        print(f"{name:14s} {rows / seconds:>12,.0f} rows/s   throughput {best['Plain'] / seconds:.2f}x plain")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per batch")
    parser.add_argument("--repeat", type=int, default=30, help="batches per variant of the loop")
    parser.add_argument("--flink", action="store_true", help="also run the four UDFs in Flink jobs")
    parser.add_argument("--flink-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "app.yaml")
        with open(path, "w") as handle:
            handle.write(textwrap.dedent(CONFIG))
        config = load_config(path)
        routers = {name: router(config, name) for name in ("Plain", "SplitAB", "Shadowed", "SplitShadowed")}
        if args.flink:
            flink_jobs(path, args.flink_rows)
    rng = np.random.default_rng(0)
    n = args.rows
    features = [pd.Series(rng.uniform(0, 100, n)), pd.Series(rng.integers(0, 11, n).astype(float)),
                pd.Series(rng.uniform(-1, 1, n))]  # fmt: skip
    keys = pd.Series([f"customer-{i}" for i in rng.integers(0, 10**7, n)])
    batches = {
        "Plain": features,
        "SplitAB": [keys] + features,
        "Shadowed": features,
        "SplitShadowed": [keys] + features,
    }
    times = {name: [] for name in routers}
    for _ in range(args.repeat):  # interleaved, so load on the machine hits every variant alike
        for name, scorer in routers.items():
            started = time.perf_counter()
            scorer.score(batches[name])
            times[name].append(time.perf_counter() - started)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{n}-row batches x {args.repeat}; every model: example-1 (scaler + RF 20 trees)")  # fmt: skip
    plain = np.median(times["Plain"])
    for name, samples in times.items():
        samples = np.array(samples)
        p50, p99 = np.percentile(samples, [50, 99]) * 1e3
        print(f"{name:14s} {n / np.median(samples):>12,.0f} rows/s   batch p50 {p50:7.1f} ms  p99 {p99:7.1f} ms   "
              f"throughput {plain / np.median(samples):.2f}x plain")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
