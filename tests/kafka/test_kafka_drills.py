"""Fault drills on a real standalone cluster, with the Kafka exactly-once job running (the project's
`features_kafka.sql` + `predictions_kafka.sql`, submitted as production submits it) and events
flowing: kill -9 the TaskManager running the job (three times), kill -9 its Python worker process,
stop the broker for ten seconds. After each: every id exactly once in the predictions topic
(committed records by the transaction markers), each with the runtime's own value, and every task
RUNNING. The drills run through flink_ml_udf.testing.drills, as scripts/recovery_drill.py does; the
recovery times they print are in the README ("Recovery after a failure").

The cluster is this module's own: the "fast" settings (heartbeat timeout 5 s, restart after 1 s) and
a spare TaskManager, so a drill takes seconds, not the minute of Flink's default heartbeats.
"""

from __future__ import annotations

import os
import signal

import pytest

from flink_ml_udf.flink.cluster import _alive
from flink_ml_udf.testing.drills import PROFILES, DrillRig, drill_cluster, tally, wait_until
from flink_ml_udf.testing.local_kafka import LocalBroker, durable_broker

pytestmark = [pytest.mark.flink, pytest.mark.drill]

RATE = 200.0  # events/s: a few thousand events in flight across each drill, light enough for a busy 2-core host


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with drill_cluster(str(tmp_path_factory.mktemp("drill-cluster")), PROFILES["fast"], taskmanagers=2) as running:
        yield running


def test_broker_down_ten_seconds_mid_stream(cluster):
    """tansu in memory loses everything on restart, so this drill's broker keeps its data in S3 (moto)."""
    with durable_broker() as broker, DrillRig(cluster, broker, rate=RATE, tick=0.5, checkpoint_interval="1s") as rig:
        recovery = rig.stop_broker(10.0)
        print(recovery.line())
        assert recovery.output > 10.0  # nothing new was committed while the broker was down
        assert rig.running()
        records, sent = rig.finish()
    result = tally(records, sent)
    assert result.ok, result.line()
    assert result.sent == result.received > 10 * RATE


@pytest.fixture(scope="module")
def rig(cluster):
    """The job on the drill cluster with a broker in memory (the kills need no broker restart)."""
    with LocalBroker() as broker, DrillRig(cluster, broker, rate=RATE, checkpoint_interval="1s") as running:
        yield running


def assert_every_id_once(rig: DrillRig) -> None:
    """Every event sent so far scored exactly once, with the runtime's value, and the job RUNNING."""
    records, sent = rig.settle()
    result = tally(records, sent)
    assert result.ok, result.line()
    assert result.sent == result.received > 0
    assert rig.running()


def test_taskmanager_killed_three_times_mid_stream(rig, cluster):
    for kill in range(3):
        before = set(cluster.taskmanager_pids())
        victim = rig.job_taskmanager()
        workers = cluster.python_worker_pids(victim)
        recovery = rig.kill_taskmanager()
        print(f"kill {kill + 1}: {recovery.line()}")
        assert recovery.noticed is not None and recovery.running is not None
        assert recovery.failovers >= 1  # recorded in the job's exception history (more if a busy host stalls a restart)
        assert victim not in cluster.taskmanager_pids()
        assert [pid for pid in workers if _alive(pid)] == []  # its Python worker exited or was reaped
        assert rig.job_taskmanager() in before - {victim}  # the spare took over
        assert len(cluster.taskmanager_pids()) == 2  # and a new spare is up
        assert_every_id_once(rig)


def test_python_worker_killed_mid_stream(rig, cluster):
    taskmanager = rig.job_taskmanager()
    worker = rig.python_worker(taskmanager)
    recovery = rig.kill_python_worker()
    print(recovery.line())
    assert recovery.noticed is not None and recovery.running is not None
    assert recovery.failovers >= 1
    assert rig.python_worker(rig.job_taskmanager()) != worker  # a new worker scores
    assert taskmanager in cluster.taskmanager_pids()  # the TaskManager lived on
    assert_every_id_once(rig)


def test_stopping_the_cluster_reaps_python_workers_of_killed_taskmanagers(rig, cluster):
    """Last in this module: it stops the module's cluster. A worker stopped with SIGSTOP cannot exit
    by itself when its TaskManager dies (most do not anyway), so it is certainly left behind."""
    victim = rig.job_taskmanager()
    worker = rig.python_worker(victim)
    os.kill(worker, signal.SIGSTOP)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not _alive(victim), 30, "the TaskManager to die")
    assert worker in cluster.orphaned_python_workers()
    cluster.stop()
    wait_until(lambda: not _alive(worker), 30, "the orphaned Python worker to be killed")
