"""Kafka → Predict → Kafka: sustained events/s and end-to-end latency, exactly-once vs at-least-once.

    python bench/kafka_bench.py [--seconds 10] [--rates 1000,10000] [--bundle-time 1000] [--jobs no-UDF,Predict]

For each delivery guarantee: one unthrottled run (sustained throughput, skipped with
--unthrottled-events 0) and one run per offered rate (latency p50/p99 from the event's timestamp
to the prediction being consumed with read_committed). Each run is made once per job: "Predict"
is sql/predictions_kafka.sql as shipped; "no-UDF" is the same job with Predict's call replaced by
JVM arithmetic, so no Python worker: the harness (producer, broker, consumer, all on these two
cores) plus Flink's Kafka source and sink. Their difference is what the Python UDF adds. Local
broker (tansu) unless KAFKA_BOOTSTRAP_SERVERS is set; one partition, parallelism 1, example-1
bundle. Exactly-once latency is bounded below by the checkpoint interval (transactions commit on
checkpoints), at-least-once latency by python.fn-execution.bundle.time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from scripts.kafka_demo import JVM_STAND_IN, make_table_environment, run  # noqa: E402

JOBS = {"no-UDF": JVM_STAND_IN, "Predict": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each fixed-rate run")
    parser.add_argument("--rates", default="1000,10000", help="offered rates in events/s, comma separated")
    parser.add_argument("--unthrottled-events", type=int, default=50_000)
    parser.add_argument("--bundle-time", default="1000", help="python.fn-execution.bundle.time in ms")
    parser.add_argument("--checkpoint-interval", default="2s")
    parser.add_argument("--guarantees", default="at-least-once,exactly-once")
    parser.add_argument("--jobs", default="no-UDF,Predict", help=f"comma separated, of {', '.join(JOBS)}")
    args = parser.parse_args()

    from flink_ml_udf.testing.local_kafka import kafka_for_tests

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"bundle.time {args.bundle_time} ms, checkpoint interval {args.checkpoint_interval}, parallelism 1")
    with kafka_for_tests() as bootstrap:
        t_env = make_table_environment()
        t_env.get_config().set("python.fn-execution.bundle.time", args.bundle_time)
        for guarantee in args.guarantees.split(","):
            plans = [(None, args.unthrottled_events)] if args.unthrottled_events else []
            plans += [(float(rate), int(float(rate) * args.seconds)) for rate in args.rates.split(",")]
            for rate, events in plans:
                for job in args.jobs.split(","):
                    report = run(t_env, bootstrap, events, rate, guarantee, args.checkpoint_interval, JOBS[job])
                    print(f"{job}: " + " | ".join(report.lines()), flush=True)


if __name__ == "__main__":
    main()
