"""Update sources: what proposes a new model to a slot while the job runs.

- :class:`StorePoller` (``reload: {interval}``) asks the model store for the bundle's current
  version every interval (one metadata request) and proposes a version it has not seen.
- :class:`ControlFollower` (``control: {topic, bootstrap_servers}``) reads a Kafka topic of model
  updates, ``{"udf_name": ..., "bundle_path": ..., "version": ...}`` (and ``"variant"`` for a variant
or the shadow of an experiment): from the beginning when the
  worker opens (the latest record for the UDF decides what it serves, so a restarted worker comes
  back on the latest decision), then every new record as it arrives.

Both run on a daemon thread of their own and only call :meth:`ModelSlot.propose`, which loads and
checks off the scoring path. Neither ever raises into the job: failures are counted and logged by
the slot, once per cause.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Set

from flink_ml_udf.config import ControlSettings
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.slots import ModelSlot
from flink_ml_udf.loaders import loader_for

log = logging.getLogger("flink_ml_udf.reload")


class UpdateSource:
    """A background thread proposing models to one slot; ``stop()`` ends it."""

    name = "update"

    def __init__(self, slot: ModelSlot) -> None:
        self.slot = slot
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "UpdateSource":
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-{self.slot.entry.udf_name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class StorePoller(UpdateSource):
    """Proposes the store's current version of the slot's bundle every ``interval_s``."""

    name = "reload"

    def __init__(self, slot: ModelSlot, interval_s: float) -> None:
        super().__init__(slot)
        self.interval_s = interval_s
        self._outage: Optional[str] = None  # the store error being reported, so it is logged once

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.poll_once()

    def poll_once(self) -> None:
        entry = self.slot.entry
        uri = self.slot.target_uri
        try:
            version = loader_for(entry.bundle_source).resolve(uri, entry.source_settings)
        except Exception as exc:  # noqa: BLE001 - an unreachable store keeps the current model
            cause = str(exc) if isinstance(exc, FlinkMlUdfError) else f"{type(exc).__name__}: {exc}"
            if cause != self._outage:  # once per outage, not once per interval
                self._outage = cause
                self.slot.reject(uri, None, f"cannot ask the store for the current version: {cause}", self.name)
            return
        self._outage = None
        serving = self.slot.current.version if self.slot.loaded else None
        if version != serving and not self.slot.was_rejected(uri, version):
            self.slot.propose(uri, version, resolved_by=self.name)


@dataclass(frozen=True)
class ModelUpdate:
    """One record of a control topic, for one UDF."""

    udf_name: str
    bundle_path: str
    version: Optional[str] = None
    variant: Optional[str] = None  # for a variant (or the shadow) of an experiment

    def to_json(self) -> bytes:
        record = {"udf_name": self.udf_name, "bundle_path": self.bundle_path}
        if self.version is not None:
            record["version"] = self.version
        if self.variant is not None:
            record["variant"] = self.variant
        return json.dumps(record).encode()

    def is_for(self, udf_name: str, variant: Optional[str]) -> bool:
        return self.udf_name.lower() == udf_name.lower() and self.variant == variant


def parse_update(value: Optional[bytes], where: str) -> ModelUpdate:
    """A control record's value → :class:`ModelUpdate`; a FlinkMlUdfError naming ``where`` if malformed."""
    try:
        record = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlinkMlUdfError(f"{where}: not a JSON object ({exc})") from None
    if not isinstance(record, dict):
        raise FlinkMlUdfError(f"{where}: expected a JSON object, found {type(record).__name__}")
    unknown = sorted(set(record) - {"udf_name", "bundle_path", "version", "variant"})
    if unknown:
        raise FlinkMlUdfError(f"{where}: unknown keys {unknown} (allowed: udf_name, bundle_path, version, variant)")
    for key in ("udf_name", "bundle_path"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise FlinkMlUdfError(f"{where}: key {key!r} must be a non-empty string")
    version = record.get("version")
    if version is not None and (not isinstance(version, (str, int)) or isinstance(version, bool)):
        raise FlinkMlUdfError(f"{where}: key 'version' must be a string")
    variant = record.get("variant")
    if variant is not None and (not isinstance(variant, str) or not variant):
        raise FlinkMlUdfError(f"{where}: key 'variant' must be a non-empty string")
    return ModelUpdate(record["udf_name"], record["bundle_path"], None if version is None else str(version), variant)


def import_kafka():
    try:
        import confluent_kafka
    except ImportError:
        raise FlinkMlUdfError(
            "a control topic needs confluent-kafka, which is not installed: pip install 'flink-ml-udf[kafka]'"
        ) from None
    return confluent_kafka


class ControlFollower(UpdateSource):
    """Follows the control topic of the slot's entry (see the module docstring)."""

    name = "control"
    poll_timeout_s = 0.5

    def __init__(self, slot: ModelSlot, control: ControlSettings) -> None:
        super().__init__(slot)
        self.control = control
        self._consumer = None

    @property
    def where(self) -> str:
        return f"control topic {self.control.topic}"

    def decisions(self, timeout_s: float = 30.0) -> List[ModelUpdate]:
        """Read the topic from the beginning to its end (as it is now) and return this UDF's valid
        updates in order (the last one decides); leaves the consumer positioned to follow new records."""
        kafka = import_kafka()
        consumer = self._consumer = kafka.Consumer(
            {
                "bootstrap.servers": self.control.bootstrap_servers,
                "group.id": f"flink-ml-udf-control-{self.slot.entry.udf_name}",  # unused: partitions are assigned
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                "socket.timeout.ms": 10000,
            }
        )
        try:
            metadata = consumer.list_topics(self.control.topic, timeout=timeout_s)
        except kafka.KafkaException as exc:
            raise FlinkMlUdfError(f"{self.where}: cannot reach {self.control.bootstrap_servers}: {exc}") from None
        topic = metadata.topics.get(self.control.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            cause = topic.error if topic is not None and topic.error is not None else "no partitions"
            raise FlinkMlUdfError(f"{self.where} on {self.control.bootstrap_servers}: not usable ({cause})")
        partitions = sorted(topic.partitions)
        consumer.assign([kafka.TopicPartition(self.control.topic, p, kafka.OFFSET_BEGINNING) for p in partitions])
        # Up to each partition's end as the broker reports it in fetches (no ListOffsets: some brokers get it wrong).
        at_end: Set[int] = set()
        found: List[ModelUpdate] = []
        deadline = time.monotonic() + timeout_s
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                raise FlinkMlUdfError(f"{self.where}: not read to its end within {timeout_s:g} s")
            found += self._updates(consumer.consume(num_messages=500, timeout=self.poll_timeout_s), at_end)
        return found

    def _run(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        try:
            while not self._stopping.is_set():
                for update in self._updates(consumer.consume(num_messages=100, timeout=self.poll_timeout_s), set()):
                    self.slot.propose(update.bundle_path, update.version, resolved_by=self.name)
        finally:
            consumer.close()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._thread is None and self._consumer is not None:
            self._consumer.close()

    def _updates(self, messages: Iterable, at_end: Set[int]) -> List[ModelUpdate]:
        """This UDF's valid updates among ``messages``; partitions that reached their end go to ``at_end``."""
        kafka = import_kafka()
        updates: List[ModelUpdate] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == kafka.KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                elif not error.retriable():
                    log.warning("%s: %s: %s", self.slot.label, self.where, error)
                continue
            where = f"{self.where} partition {message.partition()} offset {message.offset()}"
            try:
                update = parse_update(message.value(), where)
            except FlinkMlUdfError as exc:
                self.slot.reject("(unparsed record)", None, str(exc), self.name)
                continue
            if update.is_for(self.slot.entry.udf_name, self.slot.entry.variant):
                updates.append(update)
        return updates


def start_updates(slot: ModelSlot, initial_version: Optional[str]) -> List[UpdateSource]:
    """Load the slot's first model and start what keeps it current, per the entry:

    - control: the latest decision on the topic, else the configured bundle; then follow the topic;
    - reload: the store's current version; then poll it every interval;
    - neither: exactly ``initial_version`` (resolved on the client when the job was submitted).
    """
    entry = slot.entry
    sources: List[UpdateSource] = []
    follower = ControlFollower(slot, entry.control) if entry.control is not None else None
    # The latest decision that loads: a bad latest record is counted and the one before it serves.
    for decision in reversed(follower.decisions() if follower is not None else []):
        if slot.propose(decision.bundle_path, decision.version, resolved_by="control"):
            break
    if not slot.loaded:
        slot.load(None, None if entry.reload is not None else initial_version)
    if follower is not None:
        sources.append(follower.start())
    if entry.reload is not None:
        sources.append(StorePoller(slot, entry.reload.interval_s).start())
    return sources
