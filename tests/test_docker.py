"""The Docker deployment, checked without a Docker engine (none runs on the development machine):
the compose file parses and wires the services together, and the image agrees with the project."""

from __future__ import annotations

import os
import re

import yaml

from tests.conftest import REPO

DOCKER = os.path.join(REPO, "docker")


def compose() -> dict:
    with open(os.path.join(DOCKER, "docker-compose.yml")) as handle:
        return yaml.safe_load(handle)


def dockerfile() -> str:
    with open(os.path.join(DOCKER, "Dockerfile")) as handle:
        return handle.read()


def pinned_flink_version() -> str:
    with open(os.path.join(REPO, "pyproject.toml")) as handle:
        return re.search(r'"apache-flink==([\d.]+)"', handle.read()).group(1)


def test_image_flink_version_matches_pyproject():
    version = pinned_flink_version()
    assert re.findall(r"^ARG FLINK_VERSION=(\S+)$", dockerfile(), re.MULTILINE) == [version, version]
    assert "FROM flink:${FLINK_VERSION}-java17 AS flink" in dockerfile()
    assert compose()["x-flink-image"]["build"]["args"]["FLINK_VERSION"] == version


def test_every_copied_path_exists():
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile(), re.MULTILINE)
    paths = [p for line in copied for p in line.split()]
    assert "flink_ml_udf" in paths and "models" in paths
    assert [p for p in paths if not os.path.exists(os.path.join(REPO, p))] == []


def test_services_are_wired_together():
    services = compose()["services"]
    assert set(services) == {"jobmanager", "taskmanager", "kafka", "submitter", "minio"}
    assert services["minio"]["profiles"] == ["s3"]
    assert services["jobmanager"]["command"] == "jobmanager" and services["taskmanager"]["command"] == "taskmanager"
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    submitter = services["submitter"]
    assert submitter["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert set(submitter["depends_on"]) == {"jobmanager", "taskmanager", "kafka"}
    properties = yaml.safe_load(services["jobmanager"]["environment"]["FLINK_PROPERTIES"])
    assert properties["jobmanager.rpc.address"] == "jobmanager"
    assert properties["python.executable"] == "/usr/local/bin/python"


def test_submitter_runs_project_files_that_exist():
    command = compose()["services"]["submitter"]["entrypoint"]
    assert command[:2] == ["flink", "run"]
    image_root = "/opt/flink-ml-udf/"
    files = [arg for arg in command if arg.startswith(image_root)]
    assert command[command.index("-pym") + 1] == "flink_ml_udf.flink.job"  # the job ships inside the package
    assert [f[len(image_root) :] for f in files] == [
        "conf/application.yaml",
        "sql/features_kafka.sql",
        "sql/predictions_kafka.sql",
    ]
    assert all(os.path.exists(os.path.join(REPO, f[len(image_root) :])) for f in files)
