"""The tests' own read_committed: committed_records applies the transaction markers in the log,
because the local broker (tansu) writes them but shows aborted records to read_committed consumers."""

from __future__ import annotations

import json

import pytest

from flink_ml_udf.testing.local_kafka import committed_records, consume, create_topics

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
