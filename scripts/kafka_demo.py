"""Kafka demo: features topic → Predict → predictions topic, exactly-once, measured.

    python scripts/kafka_demo.py [--events 100000] [--rate EVENTS_PER_S] [--at-least-once]

Starts a local broker (tansu on 127.0.0.1; or uses KAFKA_BOOTSTRAP_SERVERS), creates fresh topics,
starts the job from sql/features_kafka.sql + sql/predictions_kafka.sql, warms it up, produces the
feature events (ids 0..N-1, stamped with their send time), consumes `predictions` with
read_committed, and prints

    in=N out=N duplicates=0 missing=0
    throughput and end-to-end latency p50/p99 (event timestamp -> prediction consumed)

then stops the job and the broker. Exit status 1 if any id is missing or duplicated.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import List, Optional

import numpy as np

from flink_ml_udf.testing.drills import SCORING_UDF

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_EVENTS = 200


@dataclass
class Report:
    guarantee: str
    events: int
    rate: Optional[float]
    received: int
    duplicates: int
    missing: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def throughput(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")

    def lines(self) -> List[str]:
        p50, p99 = np.percentile(self.latencies_ms, [50, 99]) if len(self.latencies_ms) else (np.nan, np.nan)
        rate = f"{self.rate:,.0f} ev/s offered" if self.rate else "unthrottled"
        return [
            f"in={self.events} out={self.received} duplicates={self.duplicates} missing={self.missing}",
            f"delivery: {self.guarantee}, {rate}: {self.throughput:,.0f} events/s end to end "
            f"({self.events} events in {self.seconds:.1f} s)",
            f"latency event -> prediction consumed: p50 {p50:.0f} ms, p99 {p99:.0f} ms",
        ]


def event_time_ms(text: str) -> float:
    stamp = datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=timezone.utc)  # Flink drops ".000"
    return stamp.timestamp() * 1000.0


#: What predictions_kafka.sql scores each event with (a ROW of prediction and model_version);
#: ``run(..., expression=...)`` swaps it for an expression of the same type, e.g. JVM arithmetic, to
#: measure the same pipeline without a Python worker (bench/kafka_bench.py).
PREDICT_CALL = f"{SCORING_UDF}(feature1, feature2, feature3)"
#: The same ROW type from JVM arithmetic: the job without a Python worker.
JVM_STAND_IN = (
    "CAST(ROW(feature1 * 0.5 + feature2 * 3.0 + feature3, 'jvm') AS ROW<prediction DOUBLE, model_version STRING>)"
)


def run(
    t_env,
    bootstrap: str,
    events: int,
    rate: Optional[float],
    guarantee: str,
    checkpoint_interval: str = "2s",
    expression: Optional[str] = None,
) -> Report:
    """One job run on fresh topics; the job is cancelled before returning."""
    from flink_ml_udf.flink.registry import register_from_config
    from flink_ml_udf.flink.sql_script import read_statements, run_statements
    from flink_ml_udf.testing.local_kafka import committed_records, consume, create_topics, produce_features

    tag = uuid.uuid4().hex[:8]
    features, predictions = f"features-{tag}", f"predictions-{tag}"
    create_topics(bootstrap, [features, predictions])
    os.environ.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        FEATURES_TOPIC=features,
        PREDICTIONS_TOPIC=predictions,
        KAFKA_GROUP_ID=f"demo-{tag}",
        TRANSACTIONAL_ID_PREFIX=f"demo-{tag}",
        DELIVERY_GUARANTEE=guarantee,
        CHECKPOINT_INTERVAL=checkpoint_interval,
    )
    registered = register_from_config(os.path.join(REPO, "conf", "application.yaml"), t_env)
    variables = {k: v for item in registered.values() for k, v in item.sql_variables.items()}
    for table in ("Features", "Predictions"):
        t_env.execute_sql(f"DROP TEMPORARY TABLE IF EXISTS {table}")
    statements = read_statements(os.path.join(REPO, "sql", "features_kafka.sql"), variables) + read_statements(
        os.path.join(REPO, "sql", "predictions_kafka.sql"), variables
    )
    if expression is not None:
        if not any(PREDICT_CALL in statement.text for statement in statements):
            raise RuntimeError(f"sql/predictions_kafka.sql no longer calls {PREDICT_CALL}")
        statements = [replace(s, text=s.text.replace(PREDICT_CALL, expression)) for s in statements]
    job = run_statements(t_env, statements, wait=False)[-1].get_job_client()
    try:
        # Warm-up: the first records start the Python workers; measure only after they answered.
        produce_features(bootstrap, features, range(-WARMUP_EVENTS, 0))
        warm = consume(bootstrap, predictions, expected=WARMUP_EVENTS, timeout=180)
        if len(warm) < WARMUP_EVENTS:
            raise RuntimeError(f"job produced {len(warm)} of {WARMUP_EVENTS} warm-up predictions in 180 s")
        collected: List = []
        expected = WARMUP_EVENTS + events
        reader = threading.Thread(
            target=lambda: collected.extend(consume(bootstrap, predictions, expected=expected, timeout=600))
        )
        reader.start()
        start = time.time()
        produce_features(bootstrap, features, range(events), rate=rate)
        reader.join()
        # A second full read catches duplicates that arrived after the last expected record.
        records = [r for r in committed_records(bootstrap, predictions) if r["id"] >= 0]
        measured = [r for r in collected if r[0]["id"] >= 0]
        last = max((received for _, received in measured), default=start * 1000.0)
    finally:
        job.cancel().result()
    counts = Counter(record["id"] for record in records)
    latencies = np.array([received - event_time_ms(record["feature_timestamp"]) for record, received in measured])
    return Report(
        guarantee=guarantee,
        events=events,
        rate=rate,
        received=len(records),
        duplicates=sum(c - 1 for c in counts.values() if c > 1),
        missing=sum(1 for i in range(events) if i not in counts),
        seconds=last / 1000.0 - start,
        latencies_ms=latencies,
    )


def make_table_environment():
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.connectors import add_kafka_connector

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    add_kafka_connector(t_env)
    t_env.get_config().set("parallelism.default", "1")  # one partition per topic here
    return t_env


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=None, help="offered events/s (default: as fast as possible)")
    parser.add_argument("--at-least-once", action="store_true", help="at-least-once sink instead of exactly-once")
    args = parser.parse_args(argv)

    from flink_ml_udf.testing.local_kafka import kafka_for_tests

    with kafka_for_tests() as bootstrap:
        print(f"broker: {bootstrap}", flush=True)
        report = run(
            make_table_environment(),
            bootstrap,
            args.events,
            args.rate,
            "at-least-once" if args.at_least_once else "exactly-once",
        )
    for line in report.lines():
        print(line)
    return 0 if report.missing == 0 and report.duplicates == 0 and report.received == args.events else 1


if __name__ == "__main__":
    sys.exit(main())
