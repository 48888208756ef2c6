"""The Kafka SQL connector jars for PyFlink, fetched from PyPI and put on ``pipeline.jars``.

The pip ``apache-flink`` package ships no connectors, and no Maven repository is assumed to be
reachable. The jars come from the PyPI wheel ``shigawire-apache-flink-libraries==2.0.0.post1``:
only ``flink-connector-kafka.jar`` and ``kafka-clients.jar`` are taken out of it, checked by size
and SHA-256, and stored in ``.flink/jars/``. The wheel itself is never installed (it would
overwrite PyFlink 2.3's own jars).

``FLINK_ML_UDF_KAFKA_JARS`` (paths separated by ``;``) uses other jars instead, e.g. the connector
build matching a cluster's Flink version.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence

from flink_ml_udf.wheel_files import PinnedFile, WheelFileError, extract_from_wheel, tools_dir, verified

JARS_ENV = "FLINK_ML_UDF_KAFKA_JARS"
JARS_DIR_ENV = "FLINK_ML_UDF_JARS_DIR"
SOURCE_WHEEL = "shigawire-apache-flink-libraries==2.0.0.post1"


KAFKA_JARS = (
    PinnedFile(
        "pyflink/lib/flink-connector-kafka.jar",
        373398,
        "842885a51c768b2f31c946a2071656c166ee8cc6d3c02fe6c557e134e03bf228",
    ),
    PinnedFile(
        "pyflink/lib/kafka-clients.jar",
        9215194,
        "7568b998572d256f0b7bc0afdc1b7a2588b8b08415c62ce314c864a6851ae9d9",
    ),
)


def jars_dir() -> str:
    return os.environ.get(JARS_DIR_ENV) or os.path.join(tools_dir(), "jars")


def kafka_jars(download: bool = True, folder: Optional[str] = None) -> List[str]:
    """Local paths of the Kafka connector jars: the override, or the verified pinned jars (fetched if missing)."""
    override = os.environ.get(JARS_ENV)
    if override:
        paths = [p for p in override.split(";") if p]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise WheelFileError(f"{JARS_ENV}: no such jar {', '.join(missing)}")
        return paths
    folder = folder or jars_dir()
    paths = [os.path.join(folder, pinned.name) for pinned in KAFKA_JARS]
    if all(verified(path, pinned) for path, pinned in zip(paths, KAFKA_JARS)):
        return paths
    if not download:
        raise WheelFileError(f"Kafka connector jars are missing or corrupt in {folder}; run `make jars`")
    return extract_from_wheel(SOURCE_WHEEL, KAFKA_JARS, folder)


def pipeline_jars_value(paths: Sequence[str]) -> str:
    """The ``pipeline.jars`` setting for local jar paths."""
    return ";".join("file://" + os.path.abspath(path) for path in paths)


def add_kafka_connector(t_env) -> List[str]:
    """Put the Kafka connector jars on ``pipeline.jars`` of ``t_env`` (keeping jars already listed)."""
    paths = kafka_jars()
    config = t_env.get_config()
    current = [jar for jar in (config.get("pipeline.jars", "") or "").split(";") if jar]
    wanted = [jar for jar in pipeline_jars_value(paths).split(";") if jar not in current]
    config.set("pipeline.jars", ";".join(current + wanted))
    return paths


def uses_kafka(statement: str) -> bool:
    """Whether a SQL statement declares a table on the Kafka connector (its jars must then be on
    ``pipeline.jars``)."""
    return re.search(r"'connector'\s*=\s*'(upsert-)?kafka'", statement, re.IGNORECASE) is not None


if __name__ == "__main__":  # `python -m flink_ml_udf.connectors` fetches and verifies the jars
    for path in kafka_jars():
        print(path)
