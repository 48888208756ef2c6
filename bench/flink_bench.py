"""Throughput of Predict inside Flink against PyFlink's own floor, side by side in one run.

    python bench/flink_bench.py [--rows 1000000] [--repeat 3] [--steady-rows 5000000]
                                [--bundle-size N --batch-size N]

Two workloads, each datagen → blackhole at parallelism 1 in one local minicluster:
  example-1  three DOUBLE/INT columns → scaler + RF 20 trees (models/example-1.zip)
  airbnb     8 DOUBLE + 5 STRING columns → 5 string indexers, assemblers, scaler, RF 20 trees
             (tests/data/spark/airbnb.model.rf.zip); the strings come from the bundle's labels
and three queries over the same columns for each: no Python UDF (arithmetic in the JVM), a
trivial pandas UDF (``a + c``: what PyFlink's Arrow bridge costs any Python UDF), and Predict.
Queries run round-robin, ``--repeat`` times each; the best run and the range are printed, with
the ratios Predict / trivial (targets: >= 0.9 for example-1, >= 0.8 for airbnb) and trivial /
no-UDF. Every query first runs once on a small table (JVM and worker warm-up, not timed). Rates
are rows / job time (submission, Python worker start and bundle load included, ~1-3 s); best
and range over the rounds. The machine is shared, so wall-clock rates are noisy: each run also
counts the CPU seconds the job took (the JVM and the Python workers it starts, from /proc), and
rows per CPU-second compare the queries' cost independently of what else runs. The in-process
line is ``BatchScorer`` alone on 100k-row batches (no Flink, CPU time): our share of the cost.

Every job pays a fixed cost besides its rows: submission, the Python worker's start and, for
Predict, the worker's ``open()`` (the bundle load, and numba's own start-up when it loads the
compiled kernels from its cache). With ``--steady-rows N`` each query also runs on N rows in every
round, and the bench prints the steady rate (the extra rows over the extra time, from the median
times of the two sizes) and the fixed cost (the time the short run took beyond its rows at that
rate): the two parts that the rate of one size mixes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np
import pandas as pd
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.flink.registry import configure_python_workers, register_from_config  # noqa: E402

AIRBNB_BUNDLE = os.path.join(REPO, "tests", "data", "spark", "airbnb.model.rf.zip")
AIRBNB_LABELS = {
    "room_type": ["Entire home/apt", "Private room", "Shared room"],
    "host_is_superhost": ["0.0", "1.0"],
    "cancellation_policy": ["strict", "moderate", "flexible", "super_strict_30"],
    "instant_bookable": ["0.0", "1.0"],
    "state": ["Other", "NY", "CA", "London", "Berlin", "IL", "TX", "WA", "DC", "OR"],
}
AIRBNB_DOUBLES = [
    "bathrooms",
    "bedrooms",
    "security_deposit",
    "cleaning_fee",
    "extra_people",
    "number_of_reviews",
    "square_feet",
    "review_scores_rating",
]

EXAMPLE_SOURCE = """
CREATE TEMPORARY TABLE {table} (
    feature1 DOUBLE, feature2 INT, feature3 DOUBLE
) WITH (
    'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
    'fields.feature1.min' = '0.0', 'fields.feature1.max' = '100.0',
    'fields.feature2.min' = '0', 'fields.feature2.max' = '10',
    'fields.feature3.min' = '-1.0', 'fields.feature3.max' = '1.0'
)"""


def airbnb_source(rows: int, suffix: str) -> List[str]:
    """A datagen table of doubles and label codes, and a view turning the codes into the labels."""
    doubles = ", ".join(f"{name} DOUBLE" for name in AIRBNB_DOUBLES)
    codes = ", ".join(f"{name}_code INT" for name in AIRBNB_LABELS)
    options = [f"'fields.{name}.min' = '0.0', 'fields.{name}.max' = '100.0'" for name in AIRBNB_DOUBLES]
    options += [f"'fields.{name}_code.min' = '0', 'fields.{name}_code.max' = '{len(labels) - 1}'" for name, labels in AIRBNB_LABELS.items()]  # fmt: skip
    table = (
        f"CREATE TEMPORARY TABLE AirbnbCodes{suffix} ({doubles}, {codes}) WITH ("
        f"'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000', "
        + ", ".join(options)
        + ")"
    )
    cases = []
    for name, labels in AIRBNB_LABELS.items():
        whens = " ".join(f"WHEN {i} THEN '{label}'" for i, label in enumerate(labels))
        cases.append(f"CASE {name}_code {whens} END AS {name}")
    view = (
        f"CREATE TEMPORARY VIEW Airbnb{suffix} AS SELECT {', '.join(AIRBNB_DOUBLES)}, {', '.join(cases)} "
        f"FROM AirbnbCodes{suffix}"
    )
    return [table, view]


AIRBNB_ARGUMENTS = ", ".join(AIRBNB_DOUBLES + list(AIRBNB_LABELS))
WORKLOADS: Dict[str, Dict[str, str]] = {
    "example-1": {
        "no-UDF": "INSERT INTO Sink SELECT feature1 * 0.5 + feature2 * 3.0 + feature3 * feature3 * 10.0 FROM Features",
        "trivial pandas UDF": "INSERT INTO Sink SELECT Trivial3(feature1, feature2, feature3) FROM Features",
        "Predict": "INSERT INTO Sink SELECT Predict(feature1, feature2, feature3) FROM Features",
    },
    "airbnb": {
        "no-UDF": "INSERT INTO Sink SELECT "
        + " + ".join(AIRBNB_DOUBLES)
        + " + "
        + " + ".join(f"CHAR_LENGTH({name})" for name in AIRBNB_LABELS)
        + " FROM Airbnb",
        "trivial pandas UDF": f"INSERT INTO Sink SELECT Trivial13({AIRBNB_ARGUMENTS}) FROM Airbnb",
        "Predict": f"INSERT INTO Sink SELECT PredictAirbnb({AIRBNB_ARGUMENTS}) FROM Airbnb",
    },
}


def register_trivial_udfs(t_env: TableEnvironment) -> None:
    """Pandas UDFs that do next to nothing over the same columns as Predict: PyFlink's floor."""

    def first_plus_third(*columns: pd.Series) -> pd.Series:
        return columns[0] + columns[2]

    types3 = [DataTypes.DOUBLE(), DataTypes.INT(), DataTypes.DOUBLE()]
    types13 = [DataTypes.DOUBLE()] * len(AIRBNB_DOUBLES) + [DataTypes.STRING()] * len(AIRBNB_LABELS)
    for name, types in (("Trivial3", types3), ("Trivial13", types13)):
        function = udf(first_plus_third, input_types=types, result_type=DataTypes.DOUBLE(), func_type="pandas")
        t_env.create_temporary_system_function(name, function)


def bench_config(folder: str) -> str:
    """The example config plus the airbnb RF pipeline as ``PredictAirbnb``."""
    path = os.path.join(folder, "bench.yaml")
    with open(path, "w") as handle:
        handle.write(
            "mleap:\n  udf_registry:\n"
            f"    - udf_name: Predict\n      bundle_path: {os.path.join(REPO, 'models', 'example-1.zip')}\n"
            f"    - udf_name: PredictAirbnb\n      bundle_path: {AIRBNB_BUNDLE}\n"
        )
    return path


def scorer_rows_per_second(config_path: str, name: str, batch: List[pd.Series], repeat: int = 5) -> float:
    """The UDF's per-batch path alone, to split Predict's cost into scoring and Flink/Arrow transport."""
    from flink_ml_udf.bundles import load_entry_model
    from flink_ml_udf.config import load_config
    from flink_ml_udf.flink.scoring import BatchScorer
    from flink_ml_udf.flink.signature import derive_signature

    entry = load_config(config_path).entry(name)
    model = load_entry_model(entry).model
    scorer = BatchScorer(entry.udf_name, model, derive_signature(entry, model), entry.on_error)
    scorer(batch)
    start = time.process_time()
    for _ in range(repeat):
        scorer(batch)
    return len(batch[0]) * repeat / (time.process_time() - start)


def in_process_batches(rows: int = 100_000) -> Dict[str, List[pd.Series]]:
    rng = np.random.default_rng(0)
    example = [
        pd.Series(rng.uniform(0, 100, rows)),
        pd.Series(rng.integers(0, 11, rows).astype(np.int32)),
        pd.Series(rng.uniform(-1, 1, rows)),
    ]
    airbnb = [pd.Series(rng.uniform(0, 100, rows)) for _ in AIRBNB_DOUBLES]
    airbnb += [pd.Series(np.array(rng.choice(labels, rows), dtype=object)) for labels in AIRBNB_LABELS.values()]
    return {"example-1": example, "airbnb": airbnb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steady-rows", type=int, default=0, help="also run N rows: steady rate and fixed cost")
    parser.add_argument("--workloads", default="example-1,airbnb")
    parser.add_argument("--bundle-size", default=None, help="python.fn-execution.bundle.size (default: registry's)")
    parser.add_argument("--batch-size", default=None, help="python.fn-execution.arrow.batch.size (default: registry's)")
    args = parser.parse_args()
    workloads = args.workloads.split(",")

    folder = tempfile.mkdtemp(prefix="flink-bench-")
    config_path = bench_config(folder)
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    overrides = {}
    if args.bundle_size:
        overrides["python.fn-execution.bundle.size"] = args.bundle_size
    if args.batch_size:
        overrides["python.fn-execution.arrow.batch.size"] = args.batch_size
    configure_python_workers(t_env, overrides)
    register_from_config(config_path, t_env)
    register_trivial_udfs(t_env)
    sizes = {"": args.rows, "Warm": 20_000}
    if args.steady_rows:
        if args.steady_rows <= args.rows:
            parser.error("--steady-rows must be more than --rows")
        sizes["Steady"] = args.steady_rows
    for suffix, rows in sizes.items():
        t_env.execute_sql(EXAMPLE_SOURCE.format(table=f"Features{suffix}", rows=rows))
        for statement in airbnb_source(rows, suffix):
            t_env.execute_sql(statement)
    t_env.execute_sql("CREATE TEMPORARY TABLE Sink (prediction DOUBLE) WITH ('connector' = 'blackhole')")

    config = t_env.get_config()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"rows: {args.rows}, parallelism 1, bundle.size {config.get('python.fn-execution.bundle.size', '?')}, "
        f"arrow.batch.size {config.get('python.fn-execution.arrow.batch.size', '?')}, repeat {args.repeat}"
    )
    jvm = jvm_pid()

    def timed(workload: str, name: str, suffix: str) -> Tuple[float, float]:
        query = WORKLOADS[workload][name].replace(" FROM Features", f" FROM Features{suffix}")
        query = query.replace(" FROM Airbnb", f" FROM Airbnb{suffix}")
        cpu, start = cpu_seconds(jvm), time.perf_counter()
        t_env.execute_sql(query).wait()
        return time.perf_counter() - start, cpu_seconds(jvm) - cpu

    for workload in workloads:
        for name in WORKLOADS[workload]:
            timed(workload, name, "Warm")
    wall: Dict[str, Dict[str, List[float]]] = {w: {q: [] for q in WORKLOADS[w]} for w in workloads}
    cpu: Dict[str, Dict[str, List[float]]] = {w: {q: [] for q in WORKLOADS[w]} for w in workloads}
    long: Dict[str, Dict[str, List[float]]] = {w: {q: [] for q in WORKLOADS[w]} for w in workloads}
    for _ in range(args.repeat):  # round-robin, so that a noisy minute hits every query alike
        for workload in workloads:
            for name in WORKLOADS[workload]:
                seconds, cpu_used = timed(workload, name, "")
                wall[workload][name].append(args.rows / seconds)
                cpu[workload][name].append(args.rows / cpu_used)
                if args.steady_rows:
                    long[workload][name].append(timed(workload, name, "Steady")[0])
    batches = in_process_batches()
    for workload in workloads:
        print(f"\n{workload}")
        best = {}
        for name in WORKLOADS[workload]:
            rates, costs = wall[workload][name], cpu[workload][name]
            best[name] = {"wall": max(rates), "cpu": float(np.median(costs))}
            print(
                f"  {name:<20} {max(rates):>9,.0f} rows/s (range {min(rates):,.0f} - {max(rates):,.0f}); "
                f"{best[name]['cpu']:>9,.0f} rows per CPU-second (median; range {min(costs):,.0f} - {max(costs):,.0f})"
            )
        udf_name = "Predict" if workload == "example-1" else "PredictAirbnb"
        scorer = scorer_rows_per_second(config_path, udf_name, batches[workload])
        print(f"  {'in-process scorer':<20} {scorer:>9,.0f} rows/s (100k-row batches, no Flink, CPU time)")
        target = 0.9 if workload == "example-1" else 0.8
        for kind, label in (("wall", "rows/s"), ("cpu", "rows per CPU-second")):
            predict, trivial, none = (best[q][kind] for q in ("Predict", "trivial pandas UDF", "no-UDF"))
            print(
                f"  {label:<19} Predict / trivial UDF: {predict / trivial:.2f} (target >= {target}); "
                f"trivial / no-UDF: {trivial / none:.2f}; Predict / no-UDF: {predict / none:.2f}"
            )
        if args.steady_rows:
            short = {name: [args.rows / rate for rate in rates] for name, rates in wall[workload].items()}
            print_steady(workload, args.rows, args.steady_rows, short, long[workload], target)


def print_steady(
    workload: str,
    rows: int,
    steady_rows: int,
    short: Dict[str, List[float]],
    long: Dict[str, List[float]],
    target: float,
) -> None:
    """The steady rate and fixed cost of each query, from the median times of the two sizes."""
    steady = {}
    for name in WORKLOADS[workload]:
        t_short, t_long = float(np.median(short[name])), float(np.median(long[name]))
        steady[name] = (steady_rows - rows) / (t_long - t_short)
        fixed = t_short - rows / steady[name]
        print(
            f"  {name:<20} steady {steady[name]:>9,.0f} rows/s, fixed cost {fixed:5.2f} s "
            f"(median {t_short:.2f} s for {rows:,} rows, {t_long:.2f} s for {steady_rows:,})"
        )
    predict, trivial, none = (steady[q] for q in ("Predict", "trivial pandas UDF", "no-UDF"))
    print(
        f"  steady rows/s       Predict / trivial UDF: {predict / trivial:.2f} (target >= {target}); "
        f"trivial / no-UDF: {trivial / none:.2f}; Predict / no-UDF: {predict / none:.2f}"
    )


def jvm_pid() -> int:
    from pyflink.java_gateway import get_gateway

    return int(get_gateway().jvm.ProcessHandle.current().pid())


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid``, its finished children and its live descendants (the Python workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, seen, stack = 0.0, set(), [pid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # ended meanwhile: its time is in its parent's children counters
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        total += (utime + stime + (cutime + cstime if current == pid else 0)) / ticks
    return total


if __name__ == "__main__":
    main()
