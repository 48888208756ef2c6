"""Shared fixtures: sklearn-built bundles, model versions for the model-as-data tests, the test
cluster and broker, and one PyFlink TableEnvironment per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Fuzz tests (marker "fuzz"): the default profile is the short run inside `make test`; `make fuzz`
# passes --hypothesis-profile=fuzz. No deadline per example: tests/fuzzing.py bounds time itself.
settings.register_profile(
    "default", max_examples=250, deadline=None, derandomize=True
)  # CI: the same examples each run
settings.register_profile("fuzz", max_examples=3000, deadline=None)

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


def finishing(call, seconds: float = 30.0):
    """``call()``'s result or the exception it raised, run in a thread so that a hang (an ``open()``
    on a fifo) fails the test after ``seconds`` instead of stalling the suite."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["value"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    return outcome["value"]


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
    from flink_ml_udf.flink.cluster import LocalCluster
    from flink_ml_udf.ports import free_ports

    rest, rpc = free_ports(2)
    # Every job loads its classes (Kafka connector, Beam) into the TaskManager's metaspace again; the session's
    # few dozen jobs ran past Flink's default 256m, and the TaskManager died of "OutOfMemoryError: Metaspace".
    settings = {"taskmanager.memory.jvm-metaspace.size": "512m"}
    with LocalCluster(str(tmp_path_factory.mktemp("cluster")), rest, rpc, slots=2, settings=settings) as running:
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


# -- model versions: two compatible bundles that score differently, and bad updates ----------


@dataclass(frozen=True)
class ModelVersions:
    v1: str  # example-1: feature1..3 -> scaler -> RF 20 trees
    v2: str  # same inputs and output, another forest: different predictions
    incompatible: str  # example-2 as a zip: one input, so another SQL signature
    corrupt: str  # not a zip at all
    hostile: str  # a zip whose entry climbs out of the bundle


def build_model_versions(folder: str) -> ModelVersions:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.preprocessing import StandardScaler

    from flink_ml_udf.export.sklearn import export_bundle, fit_pipeline, mleap_pipeline

    os.makedirs(folder, exist_ok=True)
    v1 = shutil.copy(os.path.join(REPO, "models", "example-1.zip"), os.path.join(folder, "v1.zip"))
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"feature1": rng.uniform(0, 100, 500), "feature2": rng.integers(0, 11, 500).astype(float),
                         "feature3": rng.uniform(-1, 1, 500)})  # fmt: skip
    features = ["feature1", "feature2", "feature3"]
    pipeline = mleap_pipeline(
        features, [StandardScaler(), RandomForestRegressor(n_estimators=5, max_depth=3, random_state=1)]
    )
    fit_pipeline(pipeline, data[features], 100.0 - data.feature1 + 7.0 * data.feature3)
    v2 = export_bundle(pipeline, os.path.join(folder, "v2.zip"), form="zip")
    incompatible = os.path.join(folder, "incompatible.zip")
    source = os.path.join(REPO, "models", "example-2")
    with zipfile.ZipFile(incompatible, "w") as archive:
        for root, _, files in os.walk(source):
            for name in files:
                full = os.path.join(root, name)
                archive.write(full, os.path.relpath(full, source))
    corrupt = os.path.join(folder, "corrupt.zip")
    with open(corrupt, "wb") as handle:
        handle.write(b"PK\x03\x04 this is not a zip archive " * 10)
    hostile = os.path.join(folder, "hostile.zip")
    with zipfile.ZipFile(v1) as good, zipfile.ZipFile(hostile, "w") as bad:
        for item in good.infolist():
            bad.writestr(item, good.read(item))
        bad.writestr("../escape.json", "{}")
    return ModelVersions(v1, v2, incompatible, corrupt, hostile)


@pytest.fixture(scope="session")
def model_versions(tmp_path_factory) -> ModelVersions:
    return build_model_versions(str(tmp_path_factory.mktemp("model-versions")))
