"""A TableEnvironment with the Kafka connector, checkpoints and restarts configured, plus what was
registered for Predict (its version goes into the predictions)."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE_CONFIG


@pytest.fixture(scope="session")
def kafka_env(t_env):
    """A TableEnvironment of its own (same JVM as ``t_env``, already started), because the Kafka
    jobs turn on checkpointing and a bounded restart strategy, which must not leak into other tests."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.connectors import add_kafka_connector
    from flink_ml_udf.flink.registry import configure_python_workers, register_from_config

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    configure_python_workers(env)
    add_kafka_connector(env)
    config = env.get_config()
    config.set("parallelism.default", "1")
    config.set("restart-strategy.type", "fixed-delay")
    config.set("restart-strategy.fixed-delay.attempts", "20")
    config.set("restart-strategy.fixed-delay.delay", "500 ms")
    return env, register_from_config(EXAMPLE_CONFIG, env)["Predict"]
