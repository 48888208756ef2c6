"""Recovery drills: how long the Kafka exactly-once job takes to come back after a fault, and whether
every id still comes out exactly once.

    python scripts/recovery_drill.py [--kills 3] [--rate 500] [--profile default|fast ...]
                                     [--drill taskmanager|worker|broker ...] [--broker-down 10]

For each settings profile: a private standalone cluster with a spare TaskManager, the job from
sql/features_kafka.sql + sql/predictions_kafka.sql submitted as `flink-ml-udf submit` does, events
produced at a steady rate (flink_ml_udf.testing.drills, which the tests use too). The drills:

    taskmanager  kill -9 the TaskManager running the job, ``--kills`` times (the spare takes over,
                 a new spare is started after each)
    worker       kill -9 the job's Python worker process (the TaskManager lives on)
    broker       stop the broker for ``--broker-down`` s and start it again (its data kept in S3 on
                 a local moto server; the other drills use a broker in memory)

Each prints the seconds from the fault to: the JobManager taking the tasks out of RUNNING (noticed),
every task RUNNING again, and the first committed prediction of an event sent after the fault. After
each drill every id sent so far must be in the predictions topic exactly once (read by the transaction
markers) with the runtime's own value; exit status 1 otherwise. Figures go to the README's
"Recovery after a failure".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.testing.drills import PROFILES, DrillRig, drill_cluster, tally  # noqa: E402
from flink_ml_udf.testing.local_kafka import LocalBroker, durable_broker  # noqa: E402

DRILLS = ("taskmanager", "worker", "broker")


def check(rig: DrillRig, label: str, final: bool = False) -> bool:
    records, sent = rig.finish() if final else rig.settle()
    result = tally(records, sent)
    print(f"[{label}] {'end' if final else 'so far'}: {result.line()}; job running: {rig.running()}", flush=True)
    return result.ok


def run_profile(profile: str, drills: List[str], kills: int, rate: float, broker_down: float) -> bool:
    label = profile
    ok = True
    print(f"[{label}] settings {PROFILES[profile] or 'Flink defaults'}; {rate:.0f} events/s", flush=True)
    with drill_cluster(tempfile.mkdtemp(prefix=f"recovery-{profile}-"), PROFILES[profile]) as cluster:
        if "taskmanager" in drills or "worker" in drills:
            with LocalBroker() as broker, DrillRig(cluster, broker, rate=rate) as rig:
                for _ in range(kills if "taskmanager" in drills else 0):
                    print(f"[{label}] {rig.kill_taskmanager().line()}", flush=True)
                    ok &= check(rig, label)
                if "worker" in drills:
                    print(f"[{label}] {rig.kill_python_worker().line()}", flush=True)
                ok &= check(rig, label, final=True)
        if "broker" in drills:
            with durable_broker() as broker, DrillRig(cluster, broker, rate=rate, tick=0.5) as rig:
                print(f"[{label}] {rig.stop_broker(broker_down).line()}", flush=True)
                ok &= check(rig, label, final=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=3, help="TaskManager kills per profile")
    parser.add_argument("--rate", type=float, default=500.0, help="events/s produced during the drills")
    parser.add_argument("--profile", action="append", choices=sorted(PROFILES), help="default: all profiles")
    parser.add_argument("--drill", action="append", choices=DRILLS, help="default: all drills")
    parser.add_argument("--broker-down", type=float, default=10.0, help="seconds the broker stays down")
    args = parser.parse_args()
    drills = args.drill or list(DRILLS)
    results = [
        run_profile(name, drills, args.kills, args.rate, args.broker_down)
        for name in (args.profile or sorted(PROFILES))
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
