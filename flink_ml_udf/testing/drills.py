"""Fault drills on a real cluster: the Kafka exactly-once job running, events flowing, a fault
injected, the recovery timed and the output checked.

:func:`drill_cluster` starts a private standalone cluster with a spare TaskManager. A
:class:`DrillRig` runs on it, against a broker of the caller's (in memory, or one that keeps its data
across a restart: :func:`~flink_ml_udf.testing.local_kafka.durable_broker`): fresh topics, the job
from ``sql/features_kafka.sql`` + ``sql/predictions_kafka.sql`` submitted as production submits it,
and a :class:`SteadyProducer` sending feature events at a fixed rate. Its drills
(:meth:`DrillRig.kill_taskmanager`, :meth:`DrillRig.kill_python_worker`, :meth:`DrillRig.stop_broker`)
each return a :class:`Recovery`: the seconds from the fault to the job noticing, to every task running
again and to the first committed prediction of an event sent after the fault. :meth:`DrillRig.settle`
then waits until every event sent is scored, and :func:`tally` checks each id came out exactly once
with the runtime's own value. The tests (tests/kafka/test_kafka_drills.py), the drill script
(scripts/recovery_drill.py) and the soak (bench/soak.py) all run through here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import signal
import threading
import time
import urllib.error
import uuid
from array import array
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from flink_ml_udf.errors import FlinkMlUdfError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(REPO, "conf", "application.yaml")
SQL_FILES = (os.path.join(REPO, "sql", "features_kafka.sql"), os.path.join(REPO, "sql", "predictions_kafka.sql"))
SCORING_UDF = "PredictVersioned"  # the UDF sql/predictions_kafka.sql calls

#: Cluster settings trading failure detection and restart speed against tolerance of slow or busy hosts
#: (README, "Recovery after a failure").
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

FEATURES = ("feature1", "feature2", "feature3")


class DrillError(FlinkMlUdfError):
    """A drill could not be run or its job did not recover within the time allowed."""


def wait_until(condition: Callable[[], object], timeout: float, what: str, step: float = 0.1) -> float:
    """Seconds until ``condition()`` held; :class:`DrillError` naming ``what`` after ``timeout`` s."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")


# -- events in -----------------------------------------------------------------------------------


class SteadyProducer(threading.Thread):
    """Feature events with ids 0, 1, 2, ... at ``rate`` per second (a batch every ``tick`` s) until stopped.

    One idempotent Kafka producer for the whole run: while the broker is down, events queue in the
    client (for up to ``message.timeout.ms``) and go out when it is back, and a retried send after a
    restart is never written twice (a duplicate event would look like a duplicate prediction).
    Events are kept as columns (ids and features, a few bytes each) so long soaks stay small; an
    event whose delivery failed is counted in ``failed`` and fails the check."""

    def __init__(self, bootstrap: str, topic: str, rate: float, tick: float = 0.1, seed: int = 1) -> None:
        super().__init__(daemon=True, name=f"producer-{topic}")
        self.bootstrap, self.topic, self.rate, self.tick = bootstrap, topic, rate, tick
        self.columns = {"feature1": array("d"), "feature2": array("l"), "feature3": array("d")}
        self.batches: List[Tuple[float, int]] = []  # (time sent, first id of the batch)
        self.failed: List[str] = []
        self._rng = random.Random(seed)
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.error: Optional[BaseException] = None

    @property
    def sent(self) -> int:
        return len(self.columns["feature1"])

    def run(self) -> None:
        from confluent_kafka import Producer

        from flink_ml_udf.testing.local_kafka import feature_event

        producer = Producer({
            "bootstrap.servers": self.bootstrap,
            "enable.idempotence": True,
            # one request at a time: with several in flight, tansu on S3 storage can store a later batch
            # first and answer OutOfOrderSequence, which is fatal to an idempotent producer
            "max.in.flight.requests.per.connection": 1,
            "linger.ms": 5,
            "message.timeout.ms": 120000,
            "queue.buffering.max.messages": 1000000,
            "log_level": 2,  # connection refused while a drill has the broker down is expected
        })  # fmt: skip
        try:
            per_tick = self.rate * self.tick
            due, started = 0.0, time.monotonic()
            while not self._halt.is_set():
                due += per_tick
                batch = int(due) - self.sent
                now = time.time()
                for _ in range(batch):
                    event = feature_event(self.sent, self._rng)
                    self._send(producer, event)
                    with self._lock:
                        for name in FEATURES:
                            self.columns[name].append(event[name])
                if batch:
                    self.batches.append((now, self.sent - batch))
                producer.poll(0)
                started += self.tick
                time.sleep(max(0.0, started - time.monotonic()))
            remaining = producer.flush(150)
            if remaining:
                self.failed.append(f"{remaining} events still queued at the end")
        except BaseException as exc:  # re-raised by stop(), in the thread that checks
            self.error = exc

    def _send(self, producer, event: dict) -> None:
        while True:
            try:
                producer.produce(self.topic, key=str(event["id"]), value=json.dumps(event), on_delivery=self._delivered)
                return
            except BufferError:  # the client's queue is full (broker down for long): wait for room
                producer.poll(0.1)

    def _delivered(self, error, message) -> None:
        if error is not None:
            self.failed.append(f"event {message.key().decode()}: {error}")

    def stop(self) -> None:
        """Stop sending; returns once every event was delivered (or failed)."""
        self._halt.set()
        self.join()
        if self.error is not None:
            raise DrillError(f"the feature producer stopped: {self.error}") from self.error

    def first_id_after(self, moment: float) -> int:
        """The first id sent after ``moment`` (epoch seconds)."""
        wait_until(lambda: self.batches and self.batches[-1][0] > moment, 30, "the producer's next batch")
        return next(first for sent_at, first in self.batches if sent_at > moment)

    def snapshot(self) -> Dict[str, np.ndarray]:
        """Every event sent so far as columns: ``id`` and the features."""
        with self._lock:
            columns = {name: np.array(values, dtype=np.float64) for name, values in self.columns.items()}
        columns["id"] = np.arange(len(columns["feature1"]), dtype=np.int64)
        return columns


# -- the runtime's own values and the exactly-once tally ----------------------------------------


def runtime_predictions(columns: Mapping[str, np.ndarray], config: str = CONFIG, udf: str = SCORING_UDF) -> np.ndarray:
    """What the MLeap runtime itself predicts for these events, with the bundle the job registered."""
    from flink_ml_udf.bundles import load_entry_model
    from flink_ml_udf.config import load_config

    model = load_entry_model(load_config(config).entry(udf)).model
    return model.transform_columns({n: np.asarray(columns[n], dtype=np.float64) for n in FEATURES}).get(
        "prediction", "drill check"
    )


@dataclass(frozen=True)
class Tally:
    """The predictions topic against the events sent: ``ok`` when every id is there exactly once with
    the runtime's own value and nothing else is. ``examples`` names a few ids of each problem."""

    sent: int
    received: int
    missing: int
    duplicated: int  # records beyond the first of an id
    unknown: int  # records of ids never sent
    wrong_values: int
    examples: str = dataclasses.field(default="", compare=False)

    @property
    def ok(self) -> bool:
        return self.received == self.sent and self.missing == self.duplicated == self.unknown == self.wrong_values == 0

    def line(self) -> str:
        return (f"in={self.sent} out={self.received} missing={self.missing} duplicated={self.duplicated} "
                f"unknown={self.unknown} wrong_values={self.wrong_values}{self.examples}")  # fmt: skip


def tally(records: Sequence[Tuple[int, float]], columns: Mapping[str, np.ndarray]) -> Tally:
    """Count ``records`` (``(id, prediction)`` of every committed prediction) against the events sent."""
    sent = len(columns["id"])
    counts = np.bincount([i for i, _ in records if 0 <= i < sent], minlength=sent)
    expected = runtime_predictions(columns)
    unknown = [i for i, _ in records if not 0 <= i < sent]
    wrong = [i for i, value in records if 0 <= i < sent and value != expected[i]]
    problems = {
        "missing": np.flatnonzero(counts == 0).tolist(),
        "duplicated": np.flatnonzero(counts > 1).tolist(),
        "unknown": sorted(set(unknown)),
        "wrong": sorted(set(wrong)),
    }
    return Tally(
        sent=sent,
        received=len(records),
        missing=len(problems["missing"]),
        duplicated=int(np.maximum(counts - 1, 0).sum()),
        unknown=len(unknown),
        wrong_values=len(wrong),
        examples="".join(f"; {kind} ids e.g. {ids[:5]}" for kind, ids in problems.items() if ids),
    )


# -- the job's state -----------------------------------------------------------------------------


def tasks_running(address: str, job_id: str) -> bool:
    """The job is RUNNING and so is every one of its tasks."""
    from flink_ml_udf.flink.cluster import _rest

    job = _rest(address, f"/jobs/{job_id}")
    if job["state"] in ("FAILED", "CANCELED", "FINISHED"):
        raise DrillError(f"job {job_id} ended {job['state']}")
    return job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"])


def process_rss(pid: int) -> int:
    """Resident set size of a process in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Recovery:
    """Seconds from a fault to each step of the job's recovery."""

    drill: str
    outage: float  # how long the fault lasted before it was undone (the broker's down time); 0 for a kill
    noticed: Optional[float]  # the job's tasks left RUNNING (None: they never did)
    running: Optional[float]  # every task RUNNING again (None: they never left)
    output: float  # the first committed prediction of an event sent after the fault
    failovers: int  # failures the job recorded for the fault (its exception history)
    orphans: int = 0  # processes the fault left behind (the killed TaskManager's Python worker and its script)

    def line(self) -> str:
        noticed = "stayed RUNNING" if self.noticed is None else f"noticed {self.noticed:.1f} s"
        running = "" if self.running is None else f", running {self.running:.1f} s"
        outage = f", back after {self.output - self.outage:.1f} s of the outage's end" if self.outage else ""
        orphans = f", {self.orphans} orphaned Python worker process(es) reaped" if self.orphans else ""
        return (f"{self.drill}: {noticed}{running}, first new output {self.output:.1f} s{outage}, "
                f"{self.failovers} failover(s){orphans}")  # fmt: skip


# -- the rig -------------------------------------------------------------------------------------


@contextlib.contextmanager
def drill_cluster(folder: str, settings: Mapping[str, str] = PROFILES["fast"], taskmanagers: int = 2):
    """A private standalone cluster (see :class:`~flink_ml_udf.flink.cluster.LocalCluster`) with
    ``taskmanagers`` TaskManagers of two slots: the job runs on one, the others are spares."""
    from flink_ml_udf.flink.cluster import LocalCluster
    from flink_ml_udf.ports import free_ports

    rest, rpc = free_ports(2)
    with LocalCluster(folder, rest, rpc, settings=settings) as cluster:
        for _ in range(taskmanagers - 1):
            cluster.start_taskmanager()
        cluster.wait_for_slots(taskmanagers * cluster.slots)
        yield cluster


class DrillRig:
    """The Kafka exactly-once job on ``cluster`` (see :func:`drill_cluster`) reading from and writing
    to ``broker``, with events flowing at ``rate`` per second (a batch every ``tick`` s).

    Use as a context manager: on exit the producer stops and the job is cancelled (the cluster and
    the broker belong to the caller). Every drill expects the cluster to have a spare TaskManager
    and leaves it with one again."""

    def __init__(
        self,
        cluster,
        broker,
        rate: float = 200.0,
        tick: float = 0.1,
        checkpoint_interval: str = "2s",
        env: Optional[Mapping[str, str]] = None,
        timeout: float = 180.0,
    ) -> None:
        self.cluster, self.broker, self.rate, self.tick = cluster, broker, rate, tick
        self.checkpoint_interval, self.timeout = checkpoint_interval, timeout
        self.env = dict(env if env is not None else os.environ)
        self.taskmanagers = len(cluster.taskmanager_pids())
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "DrillRig":
        try:
            self.start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.close()

    def start(self) -> None:
        """Fresh topics, the job submitted (detached) as production submits it, events flowing; returns
        once the first prediction is committed."""
        from flink_ml_udf.flink.cluster import submit
        from flink_ml_udf.testing.local_kafka import CommittedReader, create_topics

        tag = uuid.uuid4().hex[:8]
        self.features, self.predictions = f"features-{tag}", f"predictions-{tag}"
        create_topics(self.broker.bootstrap, [self.features, self.predictions])
        self._output = CommittedReader(self.broker.bootstrap, self.predictions, keep=_id_and_prediction)
        env = {k: v for k, v in self.env.items() if "PYFLINK" not in k}  # not a test session's gateway
        if not env.get("JAVA_HOME"):
            env.pop("JAVA_HOME", None)
        env.update(KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap, FEATURES_TOPIC=self.features,
                   PREDICTIONS_TOPIC=self.predictions, KAFKA_GROUP_ID=f"g-{tag}", TRANSACTIONAL_ID_PREFIX=f"tx-{tag}",
                   CHECKPOINT_INTERVAL=self.checkpoint_interval)  # fmt: skip
        self.job_id = submit(CONFIG, SQL_FILES, self.cluster.address, parallelism=1, detached=True, env=env).job_id
        self._stack.callback(self._cancel)
        self.producer = SteadyProducer(self.broker.bootstrap, self.features, self.rate, tick=self.tick)
        self.producer.start()
        self._stack.callback(self._stop_producer)
        wait_until(self.committed, self.timeout, "the job's first committed prediction", step=0.5)

    def _cancel(self) -> None:
        from flink_ml_udf.flink.cluster import cancel_job

        with contextlib.suppress(OSError, urllib.error.URLError):
            cancel_job(self.cluster.address, self.job_id)

    def _stop_producer(self) -> None:
        if self.producer.is_alive():
            self.producer.stop()

    # -- observing -------------------------------------------------------------------------------

    def committed(self) -> List[Tuple[int, float]]:
        """``(id, prediction)`` of every committed record of the predictions topic, in offset order
        (read incrementally: each call fetches only what is new)."""
        return self._output.read(self.timeout)

    def running(self) -> bool:
        return tasks_running(self.cluster.address, self.job_id)

    def failures(self) -> int:
        """How many failures the job has had (its exception history: one entry per failover)."""
        from flink_ml_udf.flink.cluster import _rest

        answer = _rest(self.cluster.address, f"/jobs/{self.job_id}/exceptions?maxExceptions=1000")
        return len((answer.get("exceptionHistory") or {}).get("entries") or [])

    def job_taskmanager(self) -> int:
        """The TaskManager running the job (the one with Python workers)."""
        found: List[int] = []

        def one_with_workers() -> bool:
            found[:] = [pid for pid in self.cluster.taskmanager_pids() if self.cluster.python_worker_pids(pid)]
            return len(found) == 1

        wait_until(one_with_workers, 60, "one TaskManager with Python workers", step=0.5)
        return found[0]

    def python_worker(self, taskmanager: int) -> int:
        """The Python process that runs the UDFs for ``taskmanager``: ``python -m
        pyflink.fn_execution.beam.beam_boot``, which runs Beam's SDK harness in-process, under the
        shell script ``pyflink-udf-runner.sh`` (killing only the script leaves the worker running)."""
        from flink_ml_udf.flink.cluster import _command_line

        workers: List[int] = []

        def one_worker() -> bool:  # a worker of a job cancelled a moment ago may still be exiting
            pids = self.cluster.python_worker_pids(taskmanager)
            workers[:] = [pid for pid in pids if "pyflink.fn_execution" in _command_line(pid)]
            return len(workers) == 1

        wait_until(one_worker, 60, f"one Python worker process of TaskManager {taskmanager}", step=0.5)
        return workers[0]

    def memory(self) -> Dict[str, int]:
        """RSS in bytes of the job's TaskManager and of its Python worker process."""
        taskmanager = self.job_taskmanager()
        return {"taskmanager": process_rss(taskmanager), "python": process_rss(self.python_worker(taskmanager))}

    # -- drills ----------------------------------------------------------------------------------

    def kill_taskmanager(self) -> Recovery:
        """kill -9 the TaskManager running the job: the spare takes over; then a new spare is started."""
        from flink_ml_udf.flink.cluster import _alive

        victim = self.job_taskmanager()
        workers = self.cluster.python_worker_pids(victim)
        recovery = self._drill("TaskManager kill -9", lambda: os.kill(victim, signal.SIGKILL), failover=True)
        orphans = [pid for pid in workers if _alive(pid)]  # often the killed TaskManager's worker lives on
        for pid in orphans:
            os.kill(pid, signal.SIGKILL)  # reaped, as the host's supervisor would (a container dies whole)
        recovery = dataclasses.replace(recovery, orphans=len(orphans))
        self.cluster.start_taskmanager()
        self.cluster.wait_for_slots(self.taskmanagers * self.cluster.slots, timeout=self.timeout)
        return recovery

    def kill_python_worker(self) -> Recovery:
        """kill -9 the Python worker process of the job's TaskManager (the TaskManager lives on)."""
        worker = self.python_worker(self.job_taskmanager())
        return self._drill("Python worker kill -9", lambda: os.kill(worker, signal.SIGKILL), failover=True)

    def stop_broker(self, seconds: float = 10.0) -> Recovery:
        """Stop the broker, keep it down for ``seconds``, start it again (same port; the broker must
        keep its data, see :func:`~flink_ml_udf.testing.local_kafka.durable_broker`)."""
        name = f"broker down {seconds:.0f} s"
        return self._drill(name, self.broker.stop, failover=False, undo=self.broker.start, outage=seconds)

    def _drill(
        self,
        name: str,
        fault: Callable[[], None],
        failover: bool,
        undo: Optional[Callable[[], object]] = None,
        outage: float = 0.0,
    ) -> Recovery:
        """Inject ``fault`` (undone by ``undo`` after ``outage`` s) and time the recovery: every task
        RUNNING and a committed prediction of an event sent after the fault. ``failover``: the fault
        must take the job's tasks out of RUNNING (so the wait cannot end before the job noticed)."""
        wait_until(self.running, self.timeout, "every task RUNNING before the drill")
        failures = self.failures()
        fault_at = time.time()
        fault()
        noticed = running = output = None
        first_new = self.producer.first_id_after(fault_at)
        undone = undo is None
        deadline = time.monotonic() + self.timeout + outage
        while True:
            if time.monotonic() > deadline:
                raise DrillError(f"{name}: no recovery within {self.timeout + outage:.0f} s (noticed after {noticed} s, "
                                 f"running after {running} s, output after {output} s)")  # fmt: skip
            elapsed = time.time() - fault_at
            if not undone and elapsed >= outage:
                undo()
                undone = True
            up = self.running()
            if not up and noticed is None:
                noticed = elapsed
            if up and noticed is not None and running is None:
                running = elapsed
            if undone and output is None and (noticed is not None or not failover):
                if max((record_id for record_id, _ in self.committed()), default=-1) >= first_new:
                    output = time.time() - fault_at
            if output is not None and up and (running is not None or (noticed is None and not failover)):
                break
            time.sleep(0.2)
        return Recovery(name, outage, noticed, running, output, self.failures() - failures)

    def settle(self, timeout: Optional[float] = None) -> Tuple[List[Tuple[int, float]], Dict[str, np.ndarray]]:
        """Wait until every event sent so far has its committed prediction; returns the committed
        ``(id, prediction)`` records of those events and the events (as columns). Records of events
        sent later are left out here (they are checked by a later call)."""
        sent = self.producer.snapshot()
        count = len(sent["id"])
        records: List[Tuple[int, float]] = []

        def complete() -> bool:
            records[:] = [record for record in self.committed() if record[0] < count]
            return len({record_id for record_id, _ in records}) >= count

        wait_until(complete, timeout or self.timeout, f"predictions of the {count} events sent", step=0.5)
        if self.producer.failed:
            raise DrillError(
                f"{len(self.producer.failed)} feature events were not delivered: {self.producer.failed[:3]}"
            )
        return records, sent

    def finish(self) -> Tuple[List[Tuple[int, float]], Dict[str, np.ndarray]]:
        """Stop the events, wait for the last predictions; every committed record and every event sent."""
        self.producer.stop()
        records, sent = self.settle()
        return self.committed(), sent


def _id_and_prediction(record: dict) -> Tuple[int, float]:
    return record["id"], record["prediction"]
