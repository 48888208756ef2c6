"""Hot reload under load: does swapping in a 20 MB bundle stall scoring?

    python bench/reload_bench.py [--steady 10] [--batch 10000] [--trees 300]

The worker's scoring loop as the UDF runs it (``slot.current`` read once per batch, the
BatchScorer on a batch of ``--batch`` rows, back to back) on the main thread, while the reload
poller (its own thread, as on a worker) notices a new version of a ~20 MB bundle in the store,
loads it, checks it and swaps it in. Prints throughput and batch-time p50/p99/max in steady
state (before publishing), while the new version loads (publish → swap) and in the 5 s after the
swap, and the ratio of the worst batch of the reload to the steady p99 (target: at most 2x). Flink's Arrow bridge is not in the loop:
it does not change when a model is swapped; the GIL the loader shares with scoring does.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np
import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.bundles import load_entry_model  # noqa: E402
from flink_ml_udf.config import ReloadSettings, UdfEntry  # noqa: E402
from flink_ml_udf.flink.signature import derive_signature  # noqa: E402
from flink_ml_udf.flink.slots import ModelSlot  # noqa: E402
from flink_ml_udf.flink.updates import StorePoller  # noqa: E402

FEATURES = ["feature1", "feature2", "feature3"]


def big_bundle(folder: str, trees: int, seed: int) -> str:
    """A scaler + random forest bundle of roughly 20 MB (JSON trees) on the example features."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.preprocessing import StandardScaler

    from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline

    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"feature1": rng.uniform(0, 100, 20000), "feature2": rng.integers(0, 11, 20000).astype(float),
                         "feature3": rng.uniform(-1, 1, 20000)})  # fmt: skip
    target = 0.5 * data.feature1 + 3 * np.sin(data.feature2) + 10 * data.feature3**2 + rng.normal(0, 1, len(data))
    forest = RandomForestRegressor(n_estimators=trees, max_depth=12, random_state=seed, n_jobs=1)
    pipeline = mleap_pipeline(FEATURES, [StandardScaler(), forest])
    fit_pipeline(pipeline, data[FEATURES], target)
    return export_bundle(pipeline, os.path.join(folder, f"forest-{seed}.zip"), form="zip")


def summary(times_s: np.ndarray, rows: int) -> str:
    us = times_s * 1e6
    p50, p99 = np.percentile(us, [50, 99])
    return (f"{len(us):5d} batches, {len(us) * rows / times_s.sum():,.0f} rows/s, batch p50 {p50:,.0f} µs, "
            f"p99 {p99:,.0f} µs, max {us.max():,.0f} µs")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steady", type=float, default=10.0, help="seconds of steady state before publishing")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per batch")
    parser.add_argument("--trees", type=int, default=300, help="trees per forest (300 at depth 12: ~20 MB)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="reload-bench-")
    try:
        first, second = big_bundle(work, args.trees, 1), big_bundle(work, args.trees, 2)
        store = os.path.join(work, "store.zip")
        shutil.copy(first, store)
        entry = UdfEntry("Predict", store, reload=ReloadSettings(0.2))
        slot = ModelSlot(entry, derive_signature(entry, load_entry_model(entry).model))
        slot.load()
        poller = StorePoller(slot, 0.2).start()
        rng = np.random.default_rng(0)
        batch = [pd.Series(rng.uniform(0, 100, args.batch)), pd.Series(rng.integers(0, 11, args.batch).astype(float)),
                 pd.Series(rng.uniform(-1, 1, args.batch))]  # fmt: skip
        started, published, swapped = time.monotonic(), None, None
        stamps, durations, versions = [], [], []
        first_version = slot.current.version
        while swapped is None or time.monotonic() - swapped < 5.0:
            now = time.monotonic()
            if now - started > args.steady + 300:
                raise SystemExit(f"no swap within 300 s of publishing (failures: {slot.stats.last_failure})")
            if published is None and now - started > args.steady:
                staging = store + ".tmp"
                shutil.copy(second, staging)
                os.replace(staging, store)  # publish: write, then rename
                published = now
            served = slot.current  # once per batch, as the UDF does
            t0 = time.perf_counter()
            served.scorer(batch)
            durations.append(time.perf_counter() - t0)
            stamps.append(now)
            versions.append(served.version)
            if swapped is None and served.version != first_version:
                swapped = now
        poller.stop()
        stamps, durations = np.array(stamps), np.array(durations)
        size_mb = os.path.getsize(second) / 1e6
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{args.batch}-row batches; bundle {size_mb:.1f} MB zip ({args.trees} trees, depth 12)")  # fmt: skip
        steady = durations[stamps < published]
        loading = durations[(stamps >= published) & (stamps < swapped)]
        after = durations[stamps >= swapped]
        print(f"steady state       : {summary(steady, args.batch)}")
        print(f"while loading      : {summary(loading, args.batch)}")
        print(f"5 s after the swap : {summary(after, args.batch)}")
        print(f"the scoring loop saw the new version {swapped - published:.1f} s after publishing; "
              f"reloads={slot.stats.reloads} failures={slot.stats.reload_failures}")  # fmt: skip
        worst = max(loading.max(), after.max())
        print(f"worst batch of the reload / steady p99 = {worst / np.percentile(steady, 99):.2f}x (target <= 2x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
