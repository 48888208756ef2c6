"""A Kafka broker for the session (tansu on 127.0.0.1, or KAFKA_BOOTSTRAP_SERVERS) and a
TableEnvironment with the Kafka connector, checkpoints and restarts configured, plus what was
registered for Predict (its version goes into the predictions)."""

from __future__ import annotations

import pytest

from flink_ml_udf.local_kafka import kafka_for_tests
from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture(scope="session")
def kafka_bootstrap():
    with kafka_for_tests() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_env(t_env):
    from flink_ml_udf.connectors import add_kafka_connector
    from flink_ml_udf.registry import register_from_config

    add_kafka_connector(t_env)
    config = t_env.get_config()
    config.set("restart-strategy.type", "fixed-delay")
    config.set("restart-strategy.fixed-delay.attempts", "20")
    config.set("restart-strategy.fixed-delay.delay", "500 ms")
    return t_env, register_from_config(EXAMPLE_CONFIG, t_env)["Predict"]
