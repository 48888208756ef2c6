"""Embedded scoring against a model server, in the same Flink job: what embedding is worth.

    python bench/rpc_bench.py [--rows 1000000] [--rpc-rows 20000] [--repeat 2]

One local minicluster (parallelism 1), one datagen table, the example-1 bundle, three ways:
  (a) embedded   Predict: the bundle scored inside the Python worker, per Arrow batch
  (b) RPC/row    a Python UDF calling a local HTTP model server once per row (JSON, keep-alive)
  (c) RPC/batch  a pandas UDF sending each Arrow batch to the same server (Arrow IPC both ways)
The server (bench/model_server.py: Starlette on uvicorn, the same runtime) runs on 127.0.0.1 in
its own process on the same two cores. Every design first scores a small table (warm-up, not
timed). Throughput is rows / job time (job start and worker start included). Latency is
per call as the UDF sees it: one row for (b), one Arrow batch for (a) and (c) (up to
``arrow.batch.size`` rows), written by each worker at close() and summed up here.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np
import pandas as pd
import pyarrow as pa
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.config import load_config  # noqa: E402
from flink_ml_udf.flink.registry import configure_python_workers  # noqa: E402
from flink_ml_udf.flink.signature import derive_signature  # noqa: E402
from flink_ml_udf.flink.udf import BundleFunction, flink_type  # noqa: E402
from flink_ml_udf.ports import free_port  # noqa: E402

BUNDLE = os.path.join(REPO, "models", "example-1.zip")
SOURCE = """
CREATE TEMPORARY TABLE {name} (feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH (
    'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
    'fields.feature1.min' = '0.0', 'fields.feature1.max' = '100.0',
    'fields.feature2.min' = '0', 'fields.feature2.max' = '10',
    'fields.feature3.min' = '-1.0', 'fields.feature3.max' = '1.0'
)"""
ARROW_STREAM = "application/vnd.apache.arrow.stream"


class _Timed:
    """Per-call latencies of one worker, appended to ``<log>.<pid>.npy`` at close()."""

    def start_timing(self, log: str) -> None:
        self._log, self._seconds = log, []

    def save_timing(self) -> None:
        if self._seconds:
            np.save(f"{self._log}.{os.getpid()}.{time.monotonic_ns()}.npy", np.array(self._seconds))


class EmbeddedTimed(BundleFunction, _Timed):
    """(a) Predict itself, timed per batch."""

    def __init__(self, entry, signature, log: str) -> None:
        super().__init__(entry, signature)
        self.log = log

    def open(self, function_context: FunctionContext) -> None:
        super().open(function_context)
        self.start_timing(self.log)

    def eval(self, *arguments):
        start = time.perf_counter()
        result = super().eval(*arguments)
        self._seconds.append(time.perf_counter() - start)
        return result

    def close(self) -> None:
        self.save_timing()
        super().close()


class _Remote(ScalarFunction, _Timed):
    """A UDF holding one keep-alive HTTP connection to the model server."""

    timeout = 30

    def __init__(self, port: int, log: str) -> None:
        self.port, self.log = port, log

    def open(self, function_context: FunctionContext) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.start_timing(self.log)

    def close(self) -> None:
        self.save_timing()
        self.connection.close()


class RemotePerRow(_Remote):
    """(b) One HTTP request per row."""

    def eval(self, feature1, feature2, feature3):
        start = time.perf_counter()
        body = json.dumps({"feature1": feature1, "feature2": feature2, "feature3": feature3})
        self.connection.request("POST", "/score", body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        value = json.loads(response.read())["prediction"]
        self._seconds.append(time.perf_counter() - start)
        return value


class RemotePerBatch(_Remote):
    """(c) One HTTP request per Arrow batch, the columns as an Arrow IPC stream."""

    timeout = 120

    def eval(self, feature1: pd.Series, feature2: pd.Series, feature3: pd.Series) -> pd.Series:
        start = time.perf_counter()
        table = pa.table({"feature1": feature1, "feature2": feature2, "feature3": feature3})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        self.connection.request("POST", "/score_batch", sink.getvalue().to_pybytes(), {"Content-Type": ARROW_STREAM})
        result = pa.ipc.open_stream(self.connection.getresponse().read()).read_all()
        values = result.column("prediction").to_pandas()
        self._seconds.append(time.perf_counter() - start)
        return values


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, os.path.join(REPO, "bench", "model_server.py"), BUNDLE, str(port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the model server did not answer on 127.0.0.1:{port} within 60 s")


def latencies(log: str) -> np.ndarray:
    folder, prefix = os.path.split(log)
    files = [os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(prefix + ".")]
    values = np.concatenate([np.load(f) for f in files]) if files else np.zeros(0)
    for f in files:
        os.remove(f)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for (a) and (c)")
    parser.add_argument("--rpc-rows", type=int, default=20_000, help="rows for (b), the per-row RPC")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="rpc-bench-")
    port = free_port()
    server = start_server(port)
    try:
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        t_env.get_config().set("parallelism.default", "1")
        configure_python_workers(t_env)
        config_path = os.path.join(folder, "rpc.yaml")
        with open(config_path, "w") as handle:
            handle.write(f"mleap:\n  udf_registry:\n    - udf_name: Predict\n      bundle_path: {BUNDLE}\n")
        entry = load_config(config_path).entry("Predict")
        from flink_ml_udf.bundles import load_entry_model

        signature = derive_signature(entry, load_entry_model(entry).model)
        types = [flink_type(t) for t in signature.argument_types]
        logs = {key: os.path.join(folder, key) for key in ("embedded", "row", "batch")}
        functions = {
            "Embedded": udf(EmbeddedTimed(entry, signature, logs["embedded"]), input_types=types,
                            result_type=DataTypes.DOUBLE(), func_type="pandas"),
            "RemoteRow": udf(RemotePerRow(port, logs["row"]), input_types=types, result_type=DataTypes.DOUBLE()),
            "RemoteBatch": udf(RemotePerBatch(port, logs["batch"]), input_types=types,
                               result_type=DataTypes.DOUBLE(), func_type="pandas"),
        }  # fmt: skip
        for name, function in functions.items():
            t_env.create_temporary_system_function(name, function)
        t_env.execute_sql(SOURCE.format(name="Features", rows=args.rows))
        t_env.execute_sql(SOURCE.format(name="FewFeatures", rows=args.rpc_rows))
        t_env.execute_sql(SOURCE.format(name="WarmFeatures", rows=2_000))
        t_env.execute_sql("CREATE TEMPORARY TABLE Sink (prediction DOUBLE) WITH ('connector' = 'blackhole')")
        runs = {
            "(a) embedded (Predict)": ("Embedded", "Features", args.rows, "embedded"),
            "(b) RPC per row (HTTP/JSON)": ("RemoteRow", "FewFeatures", args.rpc_rows, "row"),
            "(c) RPC per batch (HTTP/Arrow)": ("RemoteBatch", "Features", args.rows, "batch"),
        }
        print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"arrow.batch.size {t_env.get_config().get('python.fn-execution.arrow.batch.size', '?')}")  # fmt: skip
        for function, _, _, log in runs.values():  # JVM and workers warm, not timed
            t_env.execute_sql(
                f"INSERT INTO Sink SELECT {function}(feature1, feature2, feature3) FROM WarmFeatures"
            ).wait()
            latencies(logs[log])
        results: Dict[str, List[float]] = {name: [] for name in runs}
        calls: Dict[str, np.ndarray] = {}
        for _ in range(args.repeat):
            for name, (function, table, rows, log) in runs.items():
                start = time.perf_counter()
                t_env.execute_sql(
                    f"INSERT INTO Sink SELECT {function}(feature1, feature2, feature3) FROM {table}"
                ).wait()
                results[name].append(rows / (time.perf_counter() - start))
                calls[name] = np.concatenate([calls.get(name, np.zeros(0)), latencies(logs[log])])
        embedded = max(results["(a) embedded (Predict)"])
        print("| design | rows/s (best, range) | vs embedded | latency per call p50 / p99 | rows per call |")
        print("|---|---:|---:|---:|---:|")
        for name, rates in results.items():
            per_call = calls[name]
            rows_per_call = runs[name][2] * args.repeat / max(len(per_call), 1)
            print(
                f"| {name} | {max(rates):,.0f} ({min(rates):,.0f} - {max(rates):,.0f}) | {max(rates) / embedded:.3f}x "
                f"| {np.percentile(per_call, 50) * 1e3:.2f} / {np.percentile(per_call, 99) * 1e3:.2f} ms "
                f"| {rows_per_call:,.0f} |"
            )
        row_rate = max(results["(b) RPC per row (HTTP/JSON)"])
        print(f"embedded / RPC per row: {embedded / row_rate:.1f}x (target >= 20x)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
