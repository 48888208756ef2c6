"""Shared fixtures: sklearn-built bundles and one PyFlink TableEnvironment per test session."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_CONFIG = os.path.join(REPO, "conf", "application.yaml")

# Failure drills (flink_ml_udf.flink.udf.FAULT_FILE_ENV): set before any JVM or Python worker starts, so
# every worker sees it; a test arms one failure by creating the file.
FAULT_FILE = os.path.join(tempfile.gettempdir(), f"flink-ml-udf-fault-{os.getpid()}")
os.environ["FLINK_ML_UDF_FAULT_FILE"] = FAULT_FILE
# Credential chains must never wait for a cloud metadata server that is not there: set for every
# process the tests start (JVMs, Python workers, cluster daemons), like the fault file.
os.environ["NO_GCE_CHECK"] = "true"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def float32_exact(frame: pd.DataFrame) -> pd.DataFrame:
    """Round features to float32 values: sklearn trees compare float32(x) with a double threshold,
    MLeap compares the double; on float32-representable inputs both walk the same path."""
    return frame.astype(np.float32).astype(np.float64)


def subprocess_env(**extra: str) -> dict:
    """The environment for a child process that starts its own JVM: without this session's PyFlink
    gateway variables, and without an empty JAVA_HOME (PyFlink would look for ``bin/java``)."""
    env = {k: v for k, v in os.environ.items() if "PYFLINK" not in k}
    if not env.get("JAVA_HOME"):
        env.pop("JAVA_HOME", None)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One private standalone Flink cluster (2 slots) for every cluster test of the session."""
    from flink_ml_udf.flink.cluster import LocalCluster, free_ports

    rest, rpc = free_ports(2)
    with LocalCluster(str(tmp_path_factory.mktemp("cluster")), rest, rpc, slots=2) as running:
        yield running


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """A Kafka broker for the session: tansu on 127.0.0.1, or KAFKA_BOOTSTRAP_SERVERS."""
    from flink_ml_udf.testing.local_kafka import kafka_for_tests

    with kafka_for_tests() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def t_env():
    """One streaming TableEnvironment (one local minicluster JVM) for every Flink test."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    from flink_ml_udf.flink.registry import configure_python_workers

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    configure_python_workers(env)
    env.get_config().set("parallelism.default", "1")
    return env
