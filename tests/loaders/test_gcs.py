"""The gcs loader against a real fake-gcs-server on 127.0.0.1: objects, prefixes, generations, failures."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading

import numpy as np
import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders import loader_for
from flink_ml_udf.mleap import load_bundle
from tests.loaders.conftest import EXAMPLE_1, EXAMPLE_2
from tests.loaders.test_s3 import _base64_md5, predictions


def entry(uri: str, settings, version=None) -> UdfEntry:
    return UdfEntry("Churn", uri, "gcs", version=version, source_settings=settings)


def failure(uri: str, settings, version=None) -> str:
    with pytest.raises(LoaderError) as info:
        load_entry_model(entry(uri, settings, version))
    return str(info.value)


def test_zip_object_latest_generation(gcs_world, cache_dir):
    loaded = load_entry_model(entry("gs://models/fraud.zip", gcs_world.settings(cache_dir=cache_dir)))
    assert loaded.version == gcs_world.zip_generations[1]
    assert loaded.path.startswith(cache_dir + os.sep) and loaded.path.endswith("fraud.zip")
    np.testing.assert_array_equal(predictions(loaded.model), predictions(load_bundle(EXAMPLE_2)))


def test_generation_pinned_in_entry_or_uri(gcs_world, cache_dir):
    settings = gcs_world.settings(cache_dir=cache_dir)
    first = gcs_world.zip_generations[0]
    expected = predictions(load_bundle(EXAMPLE_1))
    for loaded in (
        load_entry_model(entry("gs://models/fraud.zip", settings, version=first)),
        load_entry_model(entry(f"gs://models/fraud.zip#generation={first}", settings)),
    ):
        assert loaded.version == first
        np.testing.assert_array_equal(predictions(loaded.model), expected)
    assert failure("gs://models/fraud.zip", settings, version="v1") == (
        "UDF 'Churn' → bundle gs://models/fraud.zip: version 'v1' is not a GCS generation (a number)"
    )
    assert failure("gs://models/fraud.zip#version=1", settings) == (
        "UDF 'Churn' → bundle gs://models/fraud.zip#version=1: the only URI parameter allowed is #generation=<version>"
    )


def test_folder_prefix(gcs_world, cache_dir):
    settings = gcs_world.settings(cache_dir=cache_dir)
    with_slash = load_entry_model(entry("gs://models/models/example-2/", settings))
    without = load_entry_model(entry("gs://models/models/example-2", settings))
    assert with_slash.version == without.version and with_slash.version.startswith("sha256:")
    assert os.path.basename(with_slash.path) == "example-2"
    np.testing.assert_array_equal(predictions(with_slash.model), predictions(load_bundle(EXAMPLE_2)))


def test_missing_bucket_object_generation(gcs_world, cache_dir):
    settings = gcs_world.settings(cache_dir=cache_dir)
    assert (
        failure("gs://nobucket/fraud.zip", settings)
        == "UDF 'Churn' → bundle gs://nobucket/fraud.zip: no such bucket nobucket"
    )
    assert failure("gs://nobucket/fraud.zip", settings, version="5") == (
        "UDF 'Churn' → bundle gs://nobucket/fraud.zip: no such bucket nobucket"
    )
    assert failure("gs://models/nope.zip", settings) == (
        "UDF 'Churn' → bundle gs://models/nope.zip: no such object or folder prefix in bucket models"
    )
    assert failure("gs://models/fraud.zip#generation=123", settings) == (
        "UDF 'Churn' → bundle gs://models/fraud.zip#generation=123: no such version: generation 123 of fraud.zip "
        "does not exist"
    )


def test_no_credentials(gcs_world, cache_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application-default login there
    settings = gcs_world.settings(anonymous=False, cache_dir=cache_dir)
    message = failure("gs://models/fraud.zip", settings)
    assert message.startswith(
        "UDF 'Churn' → bundle gs://models/fraud.zip: no credentials: Application Default Credentials unusable "
        "(Your default credentials were not found."
    )
    assert message.endswith("set mleap.gcs.credentials_file, or anonymous: true for public buckets")
    missing = str(tmp_path / "nope.json")
    assert failure("gs://models/fraud.zip", gcs_world.settings(anonymous=False, credentials_file=missing)) == (
        f"UDF 'Churn' → bundle gs://models/fraud.zip: no credentials: credentials file {missing} unusable "
        f"(File {missing} was not found.); set mleap.gcs.credentials_file, or anonymous: true for public buckets"
    )


@pytest.fixture
def refusing_token_server():
    """An OAuth token endpoint that refuses every grant, as Google's does for a revoked key."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token"
    server.shutdown()
    server.server_close()


def test_rejected_service_account_is_access_denied_without_secrets(
    gcs_world, cache_dir, tmp_path, refusing_token_server
):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    account = {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "scorer@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": refusing_token_server,
    }
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(account))
    settings = gcs_world.settings(anonymous=False, credentials_file=str(path), cache_dir=cache_dir)
    message = failure("gs://models/fraud.zip", settings)
    assert message == (
        "UDF 'Churn' → bundle gs://models/fraud.zip: access denied: the credentials were rejected when refreshing "
        "a token (('invalid_grant: Invalid JWT Signature.', {'error': 'invalid_grant', 'error_description': "
        "'Invalid JWT Signature.'}))"
    )
    assert "PRIVATE KEY" not in message and pem.splitlines()[1] not in message


def test_timeout_and_connection_refused(gcs_world, cache_dir, silent_url, refused_url):
    timeout = gcs_world.settings(endpoint_url=silent_url, read_timeout=0.3, retries=0, cache_dir=cache_dir)
    message = failure("gs://models/fraud.zip", timeout)
    assert message.startswith("UDF 'Churn' → bundle gs://models/fraud.zip: timeout: ")
    assert "Read timed out. (read timeout=0.3)" in message
    refused = gcs_world.settings(endpoint_url=refused_url, retries=1, cache_dir=cache_dir)
    message = failure("gs://models/fraud.zip", refused)
    assert message.startswith("UDF 'Churn' → bundle gs://models/fraud.zip: connection refused or unreachable: ")
    assert "Connection refused" in message


def test_corrupt_download_is_refused_and_not_cached(gcs_world, cache_dir, corrupting_proxy):
    settings = gcs_world.settings(endpoint_url=corrupting_proxy(gcs_world.server.url), cache_dir=cache_dir)
    assert failure("gs://models/models/example-1.zip", settings) == (
        "UDF 'Churn' → bundle gs://models/models/example-1.zip: corrupt download of models/example-1.zip: MD5 "
        f"{_base64_md5(EXAMPLE_1, flip_last=True)} differs from the server's {_base64_md5(EXAMPLE_1)}"
    )
    assert [name for name in os.listdir(cache_dir) if not name.endswith(".lock")] == []


def test_missing_extra_names_the_pip_install(gcs_world, cache_dir, monkeypatch):
    loader_for("gcs")._clients.clear()
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    try:
        assert failure("gs://models/fraud.zip", gcs_world.settings(cache_dir=cache_dir)) == (
            "UDF 'Churn' → the gcs bundle source needs google-cloud-storage, which is not installed: "
            "pip install 'flink-ml-udf[gcs]'"
        )
    finally:
        loader_for("gcs")._clients.clear()


def test_cli_prints_no_dependency_notices(gcs_world, tmp_path):
    """google-auth and google-api-core warn about future versions when imported (the first run shows
    it); `flink-ml-udf` imports them without passing those notices on to the user."""
    import subprocess

    raw = subprocess.run([sys.executable, "-c", "import google.cloud.storage"], capture_output=True, text=True)
    assert "FutureWarning" in raw.stderr, "the dependencies no longer warn: this test checks nothing now"

    config = tmp_path / "application.yaml"
    config.write_text(
        "mleap:\n"
        f"  gcs: {{endpoint_url: '{gcs_world.server.url}', anonymous: true, cache_dir: '{tmp_path / 'cache'}'}}\n"
        "  udf_registry:\n    - {udf_name: Churn, bundle_path: 'gs://models/fraud.zip'}\n"
    )
    cli = os.path.join(os.path.dirname(sys.executable), "flink-ml-udf")
    command = [cli, "inspect", "gs://models/models/example-1.zip", "--config", str(config)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "random_forest_regression" in completed.stdout
    assert completed.stderr == ""
