"""The tests' own read_committed: committed_records applies the transaction markers in the log,
because the local broker (tansu) writes them but shows aborted records to read_committed consumers."""

from __future__ import annotations

import json
import struct
from types import SimpleNamespace

import pytest

from flink_ml_udf.testing.local_kafka import CommittedReader, committed_records, consume, create_topics

pytestmark = pytest.mark.flink


def test_committed_records_hide_aborted_and_open_transactions(kafka_bootstrap):
    from confluent_kafka import Producer

    topic = "tx-markers"
    create_topics(kafka_bootstrap, [topic])
    transactional = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": "markers-1"})
    transactional.init_transactions(10)
    for ids, commit in (([1, 2], True), ([3], False), ([4], True)):
        transactional.begin_transaction()
        for i in ids:
            transactional.produce(topic, json.dumps({"id": i}))
        transactional.flush()
        (transactional.commit_transaction if commit else transactional.abort_transaction)(10)
    plain = Producer({"bootstrap.servers": kafka_bootstrap})
    plain.produce(topic, json.dumps({"id": 10}))
    plain.flush()
    transactional.begin_transaction()
    transactional.produce(topic, json.dumps({"id": 5}))  # left open: not visible yet
    transactional.flush()
    assert committed_records(kafka_bootstrap, topic) == [{"id": 1}, {"id": 2}, {"id": 4}, {"id": 10}]
    fencing = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": "markers-1"})
    fencing.init_transactions(30)  # aborts the open transaction of the same transactional id
    fencing.begin_transaction()
    fencing.produce(topic, json.dumps({"id": 6}))
    fencing.commit_transaction(10)
    assert committed_records(kafka_bootstrap, topic) == [{"id": 1}, {"id": 2}, {"id": 4}, {"id": 10}, {"id": 6}]
    # What the broker's own read_committed shows (tansu: aborted records too; a real Kafka: the same as above).
    seen = [record["id"] for record, _ in consume(kafka_bootstrap, topic, expected=100, timeout=3)]
    assert set(seen) >= {1, 2, 4, 10, 6}


def _batch(producer: int, epoch: int, *ids: int, marker: str = "", offset: list):
    """A record batch as kafka-python parses it: data records of ``ids``, or a COMMIT/ABORT marker."""
    records = []
    for value in ids or [None]:
        key = struct.pack(">hh", 0, 1 if marker == "COMMIT" else 0) if marker else None
        records.append(SimpleNamespace(offset=offset[0], key=key, value=json.dumps({"id": value})))
        offset[0] += 1
    kind = SimpleNamespace(producer_id=producer, producer_epoch=epoch, is_control_batch=bool(marker))
    kind.is_transactional = True
    return kind, records


def test_committed_records_fence_producer_epochs_as_a_broker_does():
    """A broker refuses a fenced producer's writes: records of an older epoch than the producer has
    used are never visible, even when a later COMMIT of that producer follows, and an open
    transaction is aborted by the producer's next epoch. ``describe`` lists what was read."""
    reader, offset = CommittedReader("127.0.0.1:1", "t"), [0]
    reader.trace = []
    for batch in (
        _batch(7, 0, 1, 2, offset=offset),
        _batch(7, 0, marker="COMMIT", offset=offset),
        _batch(7, 0, 3, 4, offset=offset),  # open when the job failed over
        _batch(7, 1, marker="ABORT", offset=offset),  # the restarted producer's init aborts it, epoch 1
        _batch(7, 0, 5, offset=offset),  # the failed producer's late write, stored after the marker
        _batch(7, 1, 6, offset=offset),
        _batch(8, 0, 7, offset=offset),  # another producer, open
        _batch(8, 1, 8, offset=offset),  # its next epoch writes without a marker in between: 7 aborted
        _batch(8, 1, marker="COMMIT", offset=offset),
        _batch(7, 2, marker="COMMIT", offset=offset),  # a marker with a bumped epoch ends its transaction
    ):
        reader.take(*batch)
    assert [record["id"] for record in reader.records()] == [1, 2, 6, 8]
    assert reader.describe().splitlines() == [
        "producer 7 epoch 0: offsets 0-1, 2 records",
        "producer 7 epoch 0: COMMIT at 2",
        "producer 7 epoch 0: offsets 3-4, 2 records",
        "producer 7 epoch 1: ABORT at 5",
        "producer 7 epoch 0: offsets 6-6, 1 records",
        "producer 7 epoch 1: offsets 7-7, 1 records",
        "producer 8 epoch 0: offsets 8-8, 1 records",
        "producer 8 epoch 1: offsets 9-9, 1 records",
        "producer 8 epoch 1: COMMIT at 10",
        "producer 7 epoch 2: COMMIT at 11",
    ]
