"""conf/application.yaml parsing: the happy path and every error, with its exact message."""

from __future__ import annotations

import os
import textwrap

import pytest

from flink_ml_udf.config import GcsSettings, S3Settings, UdfEntry, load_config
from flink_ml_udf.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIG, REPO


def write(tmp_path, text: str) -> str:
    path = tmp_path / "conf" / "application.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_example_config_resolves_paths_against_its_folder():
    config = load_config(EXAMPLE_CONFIG)
    assert config.udfs == (
        UdfEntry("Predict", os.path.join(REPO, "models", "example-1.zip"), "file"),
        UdfEntry("Predictv2", os.path.join(REPO, "models", "example-2"), "file"),
        UdfEntry(
            "PredictVersioned", os.path.join(REPO, "models", "example-1.zip"), outputs=("prediction", "model_version")
        ),
    )


def test_optional_keys_env_interpolation_and_inferred_sources(tmp_path):
    path = write(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Fraud
              bundle_path: gs://${BUCKET}/fraud.zip
              inputs: [amount, country]
              outputs: prediction
              on_error: "null"
              version: 17
            - udf_name: Churn
              bundle_path: ${MODELS:-/srv/models}/churn
              result_type: int
        """,
    )
    config = load_config(path, environ={"BUCKET": "models-prod"})
    assert config.udfs == (
        UdfEntry(
            "Fraud", "gs://models-prod/fraud.zip", "gcs", ("amount", "country"), ("prediction",), None, "null", "17"
        ),
        UdfEntry("Churn", "/srv/models/churn", "file", result_type="int"),
    )


def error_of(tmp_path, text: str, environ=None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ=environ or {})
    return str(info.value)


def test_unknown_key(tmp_path):
    path = str(tmp_path / "conf" / "application.yaml")
    message = error_of(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Predict
              bundle_pth: a.zip
        """,
    )
    assert message == (
        f"{path} → mleap.udf_registry[0] (Predict) → key 'bundle_pth': unknown key (allowed: udf_name, bundle_path, "
        "bundle_source, inputs, outputs, result_type, on_error, version, max_bundle_bytes, max_batch_bytes, reload, control, inputs_mode, "
        "numerics)\n"
        f"{path} → mleap.udf_registry[0] (Predict) → key 'bundle_path': required key is missing"
    )


def test_unknown_source_bad_name_duplicate_all_reported(tmp_path):
    path = str(tmp_path / "conf" / "application.yaml")
    message = error_of(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Predict
              bundle_path: a.zip
              bundle_source: hdfs
            - udf_name: 2fast
              bundle_path: b.zip
            - udf_name: Score
              bundle_path: c.zip
            - udf_name: SCORE
              bundle_path: d.zip
              on_error: ignore
            - udf_name: score
              bundle_path: e.zip
        """,
    )
    assert message.splitlines() == [
        f"{path} → mleap.udf_registry[0] (Predict) → key 'bundle_source': unknown source 'hdfs' (expected one of file, gcs, s3)",
        f"{path} → mleap.udf_registry[1] (2fast) → key 'udf_name': '2fast' is not a valid SQL identifier "
        "(letters, digits, _; not starting with a digit)",
        f"{path} → mleap.udf_registry[3] (SCORE) → key 'on_error': 'ignore' is not one of fail, null",
        f"{path} → mleap.udf_registry[4] (score) → key 'udf_name': duplicate UDF name 'score' (also entry 2)",
    ]


def test_missing_environment_variable(tmp_path):
    path = str(tmp_path / "conf" / "application.yaml")
    message = error_of(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Predict
              bundle_path: s3://${MODEL_BUCKET}/m.zip
        """,
    )
    assert message == (
        f"{path} → mleap.udf_registry[0] (Predict) → key 'bundle_path': environment variable MODEL_BUCKET is not set "
        "(write ${MODEL_BUCKET:-default} to give a default)"
    )


def test_source_contradicting_scheme(tmp_path):
    message = error_of(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Predict
              bundle_path: s3://b/m.zip
              bundle_source: gcs
        """,
    )
    assert message.endswith("→ key 'bundle_source': 'gcs' does not match the s3:// URI in bundle_path")


def test_empty_registry_and_unknown_top_key(tmp_path):
    path = str(tmp_path / "conf" / "application.yaml")
    message = error_of(tmp_path, "mleap:\n  udf_registry: []\nflink: {}\n")
    assert message.splitlines() == [
        f"{path} → key 'flink': unknown key (allowed: mleap)",
        f"{path} → mleap.udf_registry: expected a non-empty list of UDF entries",
    ]


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read config file: No such file or directory$"):
        load_config(str(tmp_path / "nope.yaml"))
    path = write(tmp_path, "mleap: [unclosed\n")
    with pytest.raises(ConfigError, match=r"application.yaml: not valid YAML: "):
        load_config(path)


def test_max_bundle_bytes_sizes(tmp_path):
    path = write(
        tmp_path,
        """
        mleap:
          udf_registry:
            - {udf_name: A, bundle_path: a.zip, max_bundle_bytes: 512MiB}
            - {udf_name: B, bundle_path: b.zip, max_bundle_bytes: 4096}
            - {udf_name: C, bundle_path: c.zip}
        """,
    )
    assert [e.max_bundle_bytes for e in load_config(path).udfs] == [512 << 20, 4096, 1 << 30]
    message = error_of(
        tmp_path, "mleap:\n  udf_registry:\n    - {udf_name: A, bundle_path: a.zip, max_bundle_bytes: 2TB}\n"
    )
    assert message.endswith("→ key 'max_bundle_bytes': expected a positive size like 500MiB, found '2TB'")


def test_max_bundle_bytes_reaches_the_bundle_reader(tmp_path):
    from flink_ml_udf.bundles import load_entry_model

    bundle = os.path.join(REPO, "models", "example-1.zip")
    with pytest.raises(Exception) as info:
        load_entry_model(UdfEntry("Predict", bundle, max_bundle_bytes=1000))
    assert str(info.value) == f"UDF 'Predict' → bundle {bundle}: unpacks to more than 1000 bytes (the configured limit)"


def test_source_sections_reach_their_entries(tmp_path):
    path = write(
        tmp_path,
        """
        mleap:
          s3:
            endpoint_url: ${S3_ENDPOINT:-http://127.0.0.1:9000}
            region: eu-west-1
            profile: models
            credentials_file: ../secrets/aws
            connect_timeout: 2
            read_timeout: 30.5
            retries: 0
            cache_dir: ~/bundles
            addressing_style: path
          gcs:
            project: ${PROJECT}
            anonymous: true
          udf_registry:
            - udf_name: Fraud
              bundle_path: s3://models/fraud.zip?versionId=abc
            - udf_name: Churn
              bundle_path: gs://models/churn/
            - udf_name: Local
              bundle_path: local.zip
        """,
    )
    config = load_config(path, environ={"PROJECT": "ml-prod"})
    s3 = S3Settings(
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-1",
        profile="models",
        credentials_file=str(tmp_path / "secrets" / "aws"),
        connect_timeout=2.0,
        read_timeout=30.5,
        retries=0,
        cache_dir=os.path.expanduser("~/bundles"),
        addressing_style="path",
    )
    gcs = GcsSettings(project="ml-prod", anonymous=True)
    assert [e.source_settings for e in config.udfs] == [s3, gcs, None]  # a local file has no settings
    assert config.sources == {"s3": s3, "gcs": gcs}
    assert config.udfs[0].bundle_path == "s3://models/fraud.zip?versionId=abc"


def test_source_section_errors(tmp_path):
    path = str(tmp_path / "conf" / "application.yaml")
    message = error_of(
        tmp_path,
        """
        mleap:
          s3:
            endpoint: http://x
            read_timeout: -1
            retries: 100
            addressing_style: dns
            profile: ${AWS_PROFILE_NAME}
          gcs:
            anonymous: maybe
            credentials_file: ""
          udf_registry:
            - udf_name: Fraud
              bundle_path: s3://models/fraud.zip
        """,
    )
    assert message.splitlines() == [
        f"{path} → mleap.s3 → key 'endpoint': unknown key (allowed: endpoint_url, credentials_file, anonymous, "
        "connect_timeout, read_timeout, retries, cache_dir, region, profile, addressing_style)",
        f"{path} → mleap.s3 → key 'read_timeout': expected a positive number of seconds, found -1",
        f"{path} → mleap.s3 → key 'retries': expected a whole number from 0 to 10, found 100",
        f"{path} → mleap.s3 → key 'addressing_style': 'dns' is not one of auto, path, virtual",
        f"{path} → mleap.s3 → key 'profile': environment variable AWS_PROFILE_NAME is not set "
        "(write ${AWS_PROFILE_NAME:-default} to give a default)",
        f"{path} → mleap.gcs → key 'anonymous': expected true or false, found 'maybe'",
        f"{path} → mleap.gcs → key 'credentials_file': expected a non-empty string, found ''",
    ]
