"""Throughput of Predict inside Flink: datagen → blackhole, no-UDF arithmetic vs the example bundle.

    python bench/flink_bench.py [--rows 1000000] [--bundle-size 100000 --batch-size 100000]

Both queries read the same datagen table (bounded, unthrottled) in one process, one after the
other, so they share the JVM warm-up; each is run --repeat times and the best run is reported.
Prints rows/s for each and the ratio Predict / no-UDF (target for later tuning: >= 0.85).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from pyflink.table import EnvironmentSettings, TableEnvironment

from flink_ml_udf.flink.registry import configure_python_workers, register_from_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOURCE = """
CREATE TEMPORARY TABLE Features (
    feature1 DOUBLE, feature2 INT, feature3 DOUBLE, feature_timestamp TIMESTAMP(3)
) WITH (
    'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
    'fields.feature1.min' = '0.0', 'fields.feature1.max' = '100.0',
    'fields.feature2.min' = '0', 'fields.feature2.max' = '10',
    'fields.feature3.min' = '-1.0', 'fields.feature3.max' = '1.0'
)"""
SINK = "CREATE TEMPORARY TABLE Sink (prediction DOUBLE) WITH ('connector' = 'blackhole')"
QUERIES = {
    "no-UDF arithmetic": "INSERT INTO Sink SELECT feature1 * 0.5 + feature2 * 3.0 + feature3 * feature3 * 10.0 FROM Features",
    "Predict (example-1: scaler + RF 20 trees)": "INSERT INTO Sink SELECT Predict(feature1, feature2, feature3) FROM Features",
}


def scorer_rows_per_second(rows: int = 100_000, repeat: int = 5) -> float:
    """The UDF's per-batch path alone, to split Predict's cost into scoring and Flink/Arrow transport."""
    import numpy as np
    import pandas as pd

    from flink_ml_udf.bundles import load_entry_model
    from flink_ml_udf.config import load_config
    from flink_ml_udf.flink.scoring import BatchScorer
    from flink_ml_udf.flink.signature import derive_signature

    entry = load_config(os.path.join(REPO, "conf", "application.yaml")).entry("Predict")
    model = load_entry_model(entry).model
    scorer = BatchScorer(entry.udf_name, model, derive_signature(entry, model), entry.on_error)
    rng = np.random.default_rng(0)
    batch = [
        pd.Series(rng.uniform(0, 100, rows)),
        pd.Series(rng.integers(0, 11, rows).astype(np.int32)),
        pd.Series(rng.uniform(-1, 1, rows)),
    ]
    scorer(batch)
    start = time.perf_counter()
    for _ in range(repeat):
        scorer(batch)
    return rows * repeat / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--bundle-size", default=None, help="python.fn-execution.bundle.size (default: registry's)")
    parser.add_argument("--batch-size", default=None, help="python.fn-execution.arrow.batch.size (default: registry's)")
    args = parser.parse_args()

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    overrides = {}
    if args.bundle_size:
        overrides["python.fn-execution.bundle.size"] = args.bundle_size
    if args.batch_size:
        overrides["python.fn-execution.arrow.batch.size"] = args.batch_size
    configure_python_workers(t_env, overrides)
    register_from_config(os.path.join(REPO, "conf", "application.yaml"), t_env)
    t_env.execute_sql(SOURCE.format(rows=args.rows))
    t_env.execute_sql(SINK)

    config = t_env.get_config()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"rows: {args.rows}, parallelism 1, bundle.size {config.get('python.fn-execution.bundle.size', '?')}, "
        f"arrow.batch.size {config.get('python.fn-execution.arrow.batch.size', '?')}"
    )
    best = {}
    for name, query in QUERIES.items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            t_env.execute_sql(query).wait()
            times.append(time.perf_counter() - start)
        best[name] = min(times)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:<45} {args.rows / best[name]:>12,.0f} rows/s  (best of {runs} s, job start included)")
    print(
        f"{'in-process scorer, same model, 100k-row batches':<45} {scorer_rows_per_second():>12,.0f} rows/s  (no Flink)"
    )
    names = list(QUERIES)
    ratio = best[names[0]] / best[names[1]]
    print(f"ratio Predict / no-UDF: {ratio:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
