"""The s3 loader against a real S3 server (moto) on 127.0.0.1: objects, prefixes, versions, failures."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders import loader_for
from flink_ml_udf.mleap import load_bundle
from tests.loaders.conftest import EXAMPLE_1, EXAMPLE_2

ROWS = {
    "feature1": np.array([0.0, 12.5, 55.5, 99.0]),
    "feature2": np.array([0.0, 3.0, 7.0, 10.0]),
    "feature3": np.array([-1.0, -0.25, 0.5, 1.0]),
}


def predictions(model) -> np.ndarray:
    names = [column.name for column in model.input_schema]
    return model.transform_columns({name: ROWS[name] for name in names}).get("prediction", "test")


def entry(uri: str, settings, version=None, name: str = "Fraud") -> UdfEntry:
    return UdfEntry(name, uri, "s3", version=version, source_settings=settings)


def failure(uri: str, settings, version=None) -> str:
    with pytest.raises(LoaderError) as info:
        load_entry_model(entry(uri, settings, version))
    return str(info.value)


def test_zip_object_latest_version(s3_world, cache_dir):
    loaded = load_entry_model(entry("s3://models/fraud.zip", s3_world.settings(cache_dir=cache_dir)))
    # the latest version of fraud.zip is example-2, zipped
    assert loaded.version == s3_world.zip_versions[1]
    assert loaded.uri == "s3://models/fraud.zip"
    assert loaded.path.startswith(cache_dir + os.sep) and loaded.path.endswith("fraud.zip")
    np.testing.assert_array_equal(predictions(loaded.model), predictions(load_bundle(EXAMPLE_2)))


def test_version_pinned_in_entry_or_uri(s3_world, cache_dir):
    settings = s3_world.settings(cache_dir=cache_dir)
    first = s3_world.zip_versions[0]
    by_entry = load_entry_model(entry("s3://models/fraud.zip", settings, version=first))
    by_uri = load_entry_model(entry(f"s3://models/fraud.zip?versionId={first}", settings))
    expected = predictions(load_bundle(EXAMPLE_1))
    for loaded in (by_entry, by_uri):
        assert loaded.version == first
        assert [c.name for c in loaded.model.input_schema] == ["feature1", "feature2", "feature3"]
        np.testing.assert_array_equal(predictions(loaded.model), expected)
    assert failure(f"s3://models/fraud.zip?versionId={first}", settings, version="other") == (
        f"UDF 'Fraud' → bundle s3://models/fraud.zip?versionId={first}: the URI pins version {first}, "
        "but the entry pins other"
    )


def test_folder_prefix_with_and_without_slash(s3_world, cache_dir):
    settings = s3_world.settings(cache_dir=cache_dir)
    with_slash = load_entry_model(entry("s3://models/models/example-2/", settings))
    without = load_entry_model(entry("s3://models/models/example-2", settings))
    assert with_slash.version == without.version and with_slash.version.startswith("sha256:")
    assert with_slash.path == without.path and os.path.basename(with_slash.path) == "example-2"
    np.testing.assert_array_equal(predictions(with_slash.model), predictions(load_bundle(EXAMPLE_2)))
    # the listing hash pins a prefix like a VersionId pins an object
    pinned = load_entry_model(entry("s3://models/models/example-2/", settings, version=with_slash.version))
    assert pinned.path == with_slash.path
    assert failure("s3://models/models/example-2/", settings, version="sha256:0000000000000000") == (
        "UDF 'Fraud' → bundle s3://models/models/example-2/: version sha256:0000000000000000 was pinned (resolved "
        f"when the job was submitted), but the store now has version {with_slash.version}; publish model updates "
        "through 'reload' or 'control' instead of replacing a pinned bundle"
    )


def test_missing_bucket_object_version_prefix(s3_world, cache_dir):
    settings = s3_world.settings(cache_dir=cache_dir)
    assert (
        failure("s3://nobucket/fraud.zip", settings)
        == "UDF 'Fraud' → bundle s3://nobucket/fraud.zip: no such bucket nobucket"
    )
    assert failure("s3://models/nope.zip", settings) == (
        "UDF 'Fraud' → bundle s3://models/nope.zip: no such object or folder prefix in bucket models"
    )
    assert failure("s3://models/fraud.zip", settings, version="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY") == (
        "UDF 'Fraud' → bundle s3://models/fraud.zip: no such version 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY "
        "(NoSuchVersion: The specified version does not exist.)"
    )
    assert failure("s3://models/nope/", settings) == (
        "UDF 'Fraud' → bundle s3://models/nope/: no such object or folder prefix (the prefix nope/ is empty)"
    )
    assert failure("s3://models/empty.zip", settings) == (
        "UDF 'Fraud' → bundle s3://models/empty.zip: corrupt download: the object is empty"
    )


def test_access_denied_and_rejected_keys_never_show_secrets(s3_world, cache_dir):
    denied = failure("s3://models/fraud.zip", s3_world.settings("nobody", cache_dir=cache_dir))
    assert denied == "UDF 'Fraud' → bundle s3://models/fraud.zip: access denied (AccessDenied: Access Denied)"
    rejected = failure("s3://models/fraud.zip", s3_world.settings("ghost", cache_dir=cache_dir))
    assert rejected == (
        "UDF 'Fraud' → bundle s3://models/fraud.zip: access denied: the credentials were rejected "
        "(InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)"
    )
    secrets = [
        line.split("=", 1)[1].strip()
        for line in open(s3_world.credentials_file)
        if line.startswith("aws_secret_access_key")
    ]
    for message in (denied, rejected):
        assert not any(secret in message for secret in secrets)


def test_no_credentials(s3_world, cache_dir, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    settings = s3_world.settings(profile=None, credentials_file=None, cache_dir=cache_dir)
    assert failure("s3://models/fraud.zip", settings) == (
        "UDF 'Fraud' → bundle s3://models/fraud.zip: no credentials: none found in the environment, shared "
        "credentials file or profile (set mleap.s3.profile or credentials_file, or anonymous: true for public buckets)"
    )
    assert failure("s3://models/fraud.zip", s3_world.settings("missing", cache_dir=cache_dir)) == (
        "UDF 'Fraud' → bundle s3://models/fraud.zip: no credentials: AWS profile 'missing' is not configured"
    )


def test_timeout_and_connection_refused(s3_world, cache_dir, silent_url, refused_url):
    timeout = s3_world.settings(endpoint_url=silent_url, read_timeout=0.3, retries=0, cache_dir=cache_dir)
    assert failure("s3://models/fraud.zip", timeout) == (
        f"UDF 'Fraud' → bundle s3://models/fraud.zip: timeout: Read timeout on endpoint URL: "
        f'"{silent_url}/models/fraud.zip"'
    )
    refused = s3_world.settings(endpoint_url=refused_url, retries=1, cache_dir=cache_dir)
    assert failure("s3://models/fraud.zip", refused) == (
        f"UDF 'Fraud' → bundle s3://models/fraud.zip: connection refused or unreachable: Could not connect to the "
        f'endpoint URL: "{refused_url}/models/fraud.zip"'
    )


def test_corrupt_download_is_refused_and_not_cached(s3_world, cache_dir, corrupting_proxy):
    # The proxy flips the last byte of the object. boto3 stores a CRC32 with each upload and botocore
    # checks it on download; objects without one are caught by the MD5 (ETag) check of the loader.
    settings = s3_world.settings(endpoint_url=corrupting_proxy(s3_world.server.url), cache_dir=cache_dir)
    message = failure("s3://models/models/example-1.zip", settings)
    assert message.startswith(
        "UDF 'Fraud' → bundle s3://models/models/example-1.zip: corrupt download of models/example-1.zip: "
        "Expected checksum "
    )
    assert [name for name in os.listdir(cache_dir) if not name.endswith(".lock")] == []
    # the same load straight from the server succeeds
    good = load_entry_model(entry("s3://models/models/example-1.zip", s3_world.settings(cache_dir=cache_dir)))
    assert good.version == s3_world.example_1_version


def test_corrupt_download_caught_by_md5_without_stored_checksum(s3_world, cache_dir, corrupting_proxy):
    # models/plain.zip was uploaded without a CRC32 (see fill_s3): only the ETag's MD5 can tell
    settings = s3_world.settings(endpoint_url=corrupting_proxy(s3_world.server.url), cache_dir=cache_dir)
    assert failure("s3://models/plain.zip", settings) == (
        "UDF 'Fraud' → bundle s3://models/plain.zip: corrupt download of plain.zip: MD5 "
        f"{_base64_md5(EXAMPLE_1, flip_last=True)} differs from the server's {_base64_md5(EXAMPLE_1)}"
    )


def test_missing_extra_names_the_pip_install(s3_world, cache_dir, monkeypatch):
    loader_for("s3")._clients.clear()
    monkeypatch.setitem(sys.modules, "boto3", None)
    try:
        assert failure("s3://models/fraud.zip", s3_world.settings(cache_dir=cache_dir)) == (
            "UDF 'Fraud' → the s3 bundle source needs boto3, which is not installed: pip install 'flink-ml-udf[s3]'"
        )
    finally:
        loader_for("s3")._clients.clear()


def test_cli_inspect_and_score_s3_uri(s3_world, tmp_path):
    config = tmp_path / "application.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            mleap:
              s3:
                endpoint_url: ${{S3_ENDPOINT}}
                region: us-east-1
                credentials_file: {os.path.basename(s3_world.credentials_file)}
                profile: reader
                connect_timeout: 2
                read_timeout: 5
                retries: 1
                cache_dir: cache
              udf_registry:
                - udf_name: Fraud
                  bundle_path: s3://models/fraud.zip
            """
        )
    )
    os.symlink(s3_world.credentials_file, tmp_path / os.path.basename(s3_world.credentials_file))
    cli = os.path.join(os.path.dirname(sys.executable), "flink-ml-udf")
    env = dict(os.environ, S3_ENDPOINT=s3_world.server.url)
    first = s3_world.zip_versions[0]
    completed = subprocess.run(
        [cli, "inspect", f"s3://models/fraud.zip?versionId={first}", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == f"uri:        s3://models/fraud.zip?versionId={first}"
    assert lines[1].startswith(f"bundle:     {tmp_path}/cache/") and lines[1].endswith("/fraud.zip")
    assert lines[2] == f"version:    {first}"

    as_json = subprocess.run(
        [cli, "inspect", "s3://models/models/example-2/", "--json", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    summary = json.loads(as_json.stdout)
    assert summary["uri"] == "s3://models/models/example-2/" and summary["version"].startswith("sha256:")
    assert [c["name"] for c in summary["inputs"]] == ["feature1"]

    frame = tmp_path / "frame.json"
    frame.write_text(
        json.dumps(
            {
                "schema": {"fields": [{"name": name, "type": "double"} for name in ROWS]},
                "rows": np.column_stack(list(ROWS.values())).tolist(),
            }
        )
    )
    scored = subprocess.run(
        [cli, "score", "s3://models/fraud.zip", "--version", first, "--frame", str(frame), "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    column = [f["name"] for f in result["schema"]["fields"]].index("prediction")
    assert [row[column] for row in result["rows"]] == predictions(load_bundle(EXAMPLE_1)).tolist()

    missing = subprocess.run(
        [cli, "inspect", "s3://models/nope.zip", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr == (
        "flink-ml-udf inspect: bundle s3://models/nope.zip: no such object or folder prefix in bucket models\n"
    )


def test_settings_travel_in_the_entry(s3_world, cache_dir):
    """What a worker receives (the pickled entry) is enough to fetch: no client state, no secrets."""
    import pickle

    settings = s3_world.settings(cache_dir=cache_dir)
    shipped = pickle.loads(pickle.dumps(entry("s3://models/fraud.zip", settings)))
    assert shipped.source_settings == settings
    assert "aws_secret_access_key" not in repr(dataclasses.asdict(shipped))
    assert load_entry_model(shipped).version == s3_world.zip_versions[1]


def _base64_md5(path: str, flip_last: bool = False) -> str:
    import base64
    import hashlib

    data = open(path, "rb").read()
    if flip_last:
        data = data[:-1] + bytes([data[-1] ^ 0xFF])
    return base64.b64encode(hashlib.md5(data).digest()).decode()
