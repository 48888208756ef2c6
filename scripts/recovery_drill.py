"""Recovery drill: how long the Kafka exactly-once job takes to come back after a TaskManager dies.

    python scripts/recovery_drill.py [--kills 3] [--rate 500] [--profile default|fast ...]

For each settings profile: a private standalone cluster with two TaskManagers, the local broker, the
job from sql/features_kafka.sql + sql/predictions_kafka.sql submitted with `flink-ml-udf submit`,
events produced at a steady rate. Then, ``--kills`` times: kill -9 the TaskManager that runs the job
(the one with Python workers), start a replacement, and time

    noticed   kill -> the JobManager takes the job's tasks out of RUNNING (TaskManager declared lost)
    running   kill -> every task RUNNING again (on the other TaskManager)
    output    kill -> the first committed prediction of an event produced after the kill

At the end every id must be in the predictions topic exactly once (read_committed) with the
runtime's own value; exit status 1 otherwise. Figures go to the README's cluster section.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Settings trading detection and restart speed against tolerance of slow or busy machines.
PROFILES: Dict[str, Dict[str, str]] = {
    "default": {},  # Flink's defaults: heartbeat.interval 10 s, heartbeat.timeout 50 s, exponential-delay restarts
    "fast": {
        "heartbeat.interval": "1000",
        "heartbeat.timeout": "5000",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "1000",
        "restart-strategy.fixed-delay.delay": "1 s",
        "slot.request.timeout": "60000",
    },
}


class Producer(threading.Thread):
    """Produces feature events with increasing ids at ``rate`` per second until stopped."""

    def __init__(self, bootstrap: str, topic: str, rate: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.rate = bootstrap, topic, rate
        self.events: List[dict] = []
        self.sent_at: List[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        from flink_ml_udf.testing.local_kafka import produce_features

        batch = max(1, int(self.rate / 10))
        next_id = 0
        while not self._halt.is_set():
            started = time.time()
            self.events += produce_features(self.bootstrap, self.topic, range(next_id, next_id + batch), seed=next_id)
            self.sent_at += [started] * batch
            next_id += batch
            time.sleep(max(0.0, 0.1 - (time.time() - started)))

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def first_id_after(self, moment: float) -> int:
        return next(e["id"] for e, t in zip(self.events, self.sent_at) if t > moment)


def tasks_running(address: str, job_id: str) -> bool:
    from flink_ml_udf.flink.cluster import _rest

    job = _rest(address, f"/jobs/{job_id}")
    return job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"])


def wait_until(condition, timeout: float, step: float = 0.1) -> float:
    """Seconds until ``condition()`` held (raises after ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    raise TimeoutError(f"condition not met within {timeout} s")


def drill(profile: str, settings: Dict[str, str], kills: int, rate: float) -> bool:
    from flink_ml_udf.flink.cluster import LocalCluster, cancel_job, free_ports, submit
    from flink_ml_udf.testing.local_kafka import LocalBroker, committed_records, consume, create_topics
    from tests.kafka.test_kafka_e2e import expected_predictions

    work = tempfile.mkdtemp(prefix=f"recovery-{profile}-")
    rest, rpc = free_ports(2)
    with LocalBroker() as broker, LocalCluster(os.path.join(work, "cluster"), rest, rpc, settings=settings) as cluster:
        cluster.start_taskmanager()
        cluster.wait_for_slots(2 * cluster.slots)
        tag = uuid.uuid4().hex[:8]
        features, predictions = f"features-{tag}", f"predictions-{tag}"
        create_topics(broker.bootstrap, [features, predictions])
        env = {k: v for k, v in os.environ.items() if "PYFLINK" not in k}
        env.update(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, FEATURES_TOPIC=features, PREDICTIONS_TOPIC=predictions,
                   KAFKA_GROUP_ID=f"g-{tag}", TRANSACTIONAL_ID_PREFIX=f"tx-{tag}", CHECKPOINT_INTERVAL="2s")  # fmt: skip
        job = submit(os.path.join(REPO, "conf", "application.yaml"),
                     [os.path.join(REPO, "sql", "features_kafka.sql"), os.path.join(REPO, "sql", "predictions_kafka.sql")],
                     cluster.address, parallelism=1, detached=True, env=env)  # fmt: skip
        producer = Producer(broker.bootstrap, features, rate)
        producer.start()
        kill_times: List[str] = []
        print(f"[{profile}] settings {settings or 'Flink defaults'}", flush=True)
        try:
            wait_until(lambda: consume(broker.bootstrap, predictions, 1, timeout=1), 180, step=0.5)
            for kill in range(kills):
                time.sleep(5)  # a few checkpoints in steady state
                [victim] = [pid for pid in cluster.taskmanager_pids() if cluster.python_worker_pids(pid)]
                killed_at = time.time()
                kill_times.append(time.strftime("%H:%M:%S", time.gmtime(killed_at)))
                os.kill(victim, signal.SIGKILL)
                noticed = wait_until(lambda: not tasks_running(cluster.address, job.job_id), 300)
                running = noticed + wait_until(lambda: tasks_running(cluster.address, job.job_id), 300)
                first_new = producer.first_id_after(killed_at + 0.2)
                output = time.time() - killed_at + wait_until(
                    lambda first_new=first_new: any(r["id"] >= first_new for r, _ in consume(broker.bootstrap, predictions, 10**9, 0.5)),
                    300, step=0.2,
                )  # fmt: skip
                print(f"[{profile}] kill {kill + 1}: noticed {noticed:.1f} s, running {running:.1f} s, "
                      f"output {output:.1f} s", flush=True)  # fmt: skip
                cluster.start_taskmanager()
                cluster.wait_for_slots(2 * cluster.slots)
        finally:
            producer.stop()
        sent = producer.events
        consume(broker.bootstrap, predictions, expected=len(sent), timeout=60)  # until the last arrived
        records = committed_records(broker.bootstrap, predictions)
        cancel_job(cluster.address, job.job_id)
    counts = Counter(record["id"] for record in records)
    expected = expected_predictions(sent)
    wrong = sum(1 for record in records if record["prediction"] != expected.get(record["id"]))
    missing = sum(1 for e in sent if e["id"] not in counts)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    print(f"[{profile}] in={len(sent)} out={len(records)} missing={missing} duplicates={duplicates} "
          f"wrong_values={wrong}", flush=True)  # fmt: skip
    if duplicates:
        twice = sorted(i for i, c in counts.items() if c > 1)
        print(f"[{profile}] duplicated ids {twice[0]}..{twice[-1]}; kills at {kill_times}; their scored_at:",
              sorted({r["scored_at"] for r in records if r["id"] in (twice[0], twice[-1])}))  # fmt: skip
    return missing == duplicates == wrong == 0 and len(records) == len(sent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--rate", type=float, default=500.0, help="events/s produced during the drill")
    parser.add_argument("--profile", action="append", choices=sorted(PROFILES), help="default: all profiles")
    args = parser.parse_args()
    sys.path.insert(0, REPO)  # tests.kafka: the runtime's expected values
    ok = [drill(name, PROFILES[name], args.kills, args.rate) for name in (args.profile or sorted(PROFILES))]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
