"""The FlinkDeployment for the Flink Kubernetes Operator, checked offline (no Kubernetes here): it is
valid against the operator's own CRD schema (tests/data/kubernetes/SOURCES.md), strictly (unknown
fields are errors, as with ``kubectl apply --validate=strict``), and it agrees with the image, the
pinned Flink and the job module."""

from __future__ import annotations

import copy
import functools
import os
import re
import zipfile

import jsonschema
import pytest
import yaml

from flink_ml_udf.flink.job import parse_args
from tests.conftest import REPO
from tests.test_docker import compose, dockerfile, pinned_flink_version

MANIFEST = os.path.join(REPO, "kubernetes", "flinkdeployment.yaml")
CRD = os.path.join(REPO, "tests", "data", "kubernetes", "flinkdeployments.flink.apache.org-v1.yml")
IMAGE_ROOT = "/opt/flink-ml-udf/"


def manifest() -> dict:
    with open(MANIFEST) as handle:
        return yaml.safe_load(handle)


@functools.lru_cache(maxsize=None)
def crd() -> dict:
    """The CRD (590 kB of YAML: read once, with libyaml's loader when PyYAML has it)."""
    with open(CRD) as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def strict(schema):
    """The CRD schema with unknown fields refused wherever the schema lists the fields and does not
    preserve unknown ones (the API server prunes or, with strict validation, rejects them)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            result["additionalProperties"] = False
    return result


def resource_errors(document: dict) -> list:
    """What the API server would refuse in ``document`` as a FlinkDeployment of this CRD."""
    definition = crd()["spec"]
    group, names = definition["group"], definition["names"]
    errors = []
    if document.get("kind") != names["kind"]:
        errors.append(f"kind {document.get('kind')!r} is not {names['kind']!r}")
    served = {f"{group}/{v['name']}": v for v in definition["versions"] if v.get("served")}
    version = served.get(document.get("apiVersion"))
    if version is None:
        return errors + [f"apiVersion {document.get('apiVersion')!r} is not served (served: {sorted(served)})"]
    name = (document.get("metadata") or {}).get("name", "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,43}[a-z0-9])?", name):  # the operator keeps names DNS-1035, ≤45
        errors.append(f"metadata.name {name!r} is not a DNS-1035 label the operator accepts")
    schema = strict(version["schema"]["openAPIV3Schema"])
    body = {key: value for key, value in document.items() if key not in ("apiVersion", "kind", "metadata")}
    validator = jsonschema.Draft7Validator(schema)
    errors += [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(body)]
    return errors


def test_manifest_is_valid_against_the_operator_crd():
    assert resource_errors(manifest()) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["spec"].update(flinkConfiguraton={}),
            "Additional properties are not allowed ('flinkConfiguraton'",
        ),
        (lambda d: d["spec"].update(flinkVersion="v2_9"), "spec.flinkVersion: 'v2_9' is not one of"),
        (lambda d: d["spec"]["job"].update(upgradeMode="rolling"), "spec.job.upgradeMode: 'rolling' is not one of"),
        (lambda d: d["spec"]["job"].update(parallelism="2"), "spec.job.parallelism: '2' is not of type 'integer'"),
        (lambda d: d.update(apiVersion="flink.apache.org/v1"), "apiVersion 'flink.apache.org/v1' is not served"),
    ],
)
def test_the_check_refuses_what_the_api_server_would(change, expected):
    document = copy.deepcopy(manifest())
    change(document)
    assert any(expected in error for error in resource_errors(document)), resource_errors(document)


def test_manifest_agrees_with_the_image_and_the_pinned_flink():
    spec = manifest()["spec"]
    version = pinned_flink_version()
    assert spec["flinkVersion"] == "v" + "_".join(version.split(".")[:2])
    assert spec["image"] == compose()["x-flink-image"]["image"]
    # The PythonDriver from the flink-python jar of the same Flink version (the pip PyFlink ships the same jar).
    assert spec["job"]["jarURI"] == f"local:///opt/flink/opt/flink-python-{version}.jar"
    import pyflink

    jar = os.path.join(os.path.dirname(pyflink.__file__), "opt", f"flink-python-{version}.jar")
    with zipfile.ZipFile(jar) as archive:
        assert spec["job"]["entryClass"].replace(".", "/") + ".class" in archive.namelist()
    # The image's Python, as the compose file configures it.
    python = yaml.safe_load(compose()["services"]["jobmanager"]["environment"]["FLINK_PROPERTIES"])["python.executable"]
    flink_configuration = spec["flinkConfiguration"]
    assert flink_configuration["python.executable"] == flink_configuration["python.client.executable"] == python
    assert "PYFLINK_CLIENT_EXECUTABLE=" + python in dockerfile()


def test_job_arguments_run_the_job_module_on_files_in_the_image():
    args = manifest()["spec"]["job"]["args"]
    assert args[:4] == ["-pyclientexec", "/usr/local/bin/python", "-pym", "flink_ml_udf.flink.job"]
    parsed = parse_args(args[4:])  # the job module's own parser accepts the rest
    assert parsed.no_wait  # application mode: main returns after submitting the INSERT job
    files = [parsed.config, *parsed.sql]
    assert all(path.startswith(IMAGE_ROOT) for path in files)
    relative = [path[len(IMAGE_ROOT) :] for path in files]
    assert relative == ["conf/application.yaml", "sql/features_kafka.sql", "sql/predictions_kafka.sql"]
    copied = {p for line in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile(), re.MULTILINE) for p in line.split()}
    assert all(os.path.exists(os.path.join(REPO, path)) and path.split("/")[0] in copied for path in relative)


def test_prometheus_reporter_port_is_exposed_and_announced():
    spec = manifest()["spec"]
    configuration = spec["flinkConfiguration"]
    assert configuration["metrics.reporter.prom.factory.class"] == (
        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
    )
    import pyflink

    # The reporter ships as a plugin of the same Flink version (in the image's distribution and the pip PyFlink).
    version = pinned_flink_version()
    plugin = os.path.join(os.path.dirname(pyflink.__file__), "plugins", "metrics-prometheus")
    with zipfile.ZipFile(os.path.join(plugin, f"flink-metrics-prometheus-{version}.jar")) as archive:
        factory = configuration["metrics.reporter.prom.factory.class"].replace(".", "/") + ".class"
        assert factory in archive.namelist()
    port = int(configuration["metrics.reporter.prom.port"])
    pod = spec["podTemplate"]
    assert pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}
    [container] = pod["spec"]["containers"]
    assert container["name"] == "flink-main-container"  # the name the operator merges the template into
    assert {"name": "metrics", "containerPort": port, "protocol": "TCP"} in container["ports"]
