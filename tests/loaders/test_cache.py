"""The bundle cache: hits skip the server, writes are atomic, damage is detected, processes share entries."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import time

import pytest

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import S3Settings, UdfEntry
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.cache import MANIFEST, BundleCache, Staging, default_cache_dir
from tests.loaders.conftest import EXAMPLE_1, fill_s3, start_moto

URI = "s3://models/fraud.zip"


def write_example(staging: Staging) -> None:
    with staging.open("") as writer, open(EXAMPLE_1, "rb") as source:
        writer.write(source.read())


def test_miss_downloads_once_then_hits(tmp_path):
    cache = BundleCache(str(tmp_path))
    calls = []

    def download(staging: Staging) -> None:
        calls.append(1)
        write_example(staging)

    path = cache.get_or_fetch(URI, "v1", "fraud.zip", download)
    again = cache.get_or_fetch(URI, "v1", "fraud.zip", download)
    assert path == again == os.path.join(cache.entry_dir(URI, "v1"), "fraud.zip")
    assert open(path, "rb").read() == open(EXAMPLE_1, "rb").read()
    assert calls == [1]
    # another version of the same URI is another entry
    assert cache.get_or_fetch(URI, "v2", "fraud.zip", download) != path and calls == [1, 1]
    assert sorted(os.listdir(cache.entry_dir(URI, "v1"))) == ["fraud.zip", MANIFEST]


def test_failed_download_leaves_nothing(tmp_path):
    cache = BundleCache(str(tmp_path))

    def broken(staging: Staging) -> None:
        with staging.open("") as writer:
            writer.write(b"PK\x03\x04 half a zip")
        raise LoaderError("bundle s3://models/fraud.zip: timeout: read timed out")

    with pytest.raises(LoaderError, match="timeout"):
        cache.get_or_fetch(URI, "v1", "fraud.zip", broken)
    assert [name for name in os.listdir(tmp_path) if not name.endswith(".lock")] == []
    assert cache.lookup(URI, "v1") is None


def test_damaged_entry_is_dropped_and_fetched_again(tmp_path, caplog):
    cache = BundleCache(str(tmp_path))
    path = cache.get_or_fetch(URI, "v1", "fraud.zip", write_example)
    data = bytearray(open(path, "rb").read())
    data[100] ^= 0xFF  # same size, other content
    open(path, "wb").write(bytes(data))

    with caplog.at_level(logging.WARNING, logger="flink_ml_udf.loaders.cache"):
        assert cache.lookup(URI, "v1") is None
    digest = re.search(r"fraud\.zip has SHA-256 ([0-9a-f]{16})…, expected ([0-9a-f]{16})…", caplog.text)
    assert digest is not None and digest.group(1) != digest.group(2)
    assert cache.get_or_fetch(URI, "v1", "fraud.zip", write_example) == path
    assert open(path, "rb").read() == open(EXAMPLE_1, "rb").read()

    open(path, "ab").write(b"tail")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flink_ml_udf.loaders.cache"):
        assert cache.lookup(URI, "v1") is None
    size = os.path.getsize(EXAMPLE_1)
    assert f"fraud.zip has {size + 4} bytes, expected {size}" in caplog.text


def _load_in_process(root: str, counter: str, results) -> None:
    def slow_download(staging: Staging) -> None:
        with open(counter, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        write_example(staging)

    results.put(BundleCache(root).get_or_fetch(URI, "v1", "fraud.zip", slow_download))


def test_processes_on_one_host_download_once(tmp_path):
    root, counter = str(tmp_path / "cache"), str(tmp_path / "downloads")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_load_in_process, args=(root, counter, results)) for _ in range(4)]
    for process in processes:
        process.start()
    paths = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert len(open(counter).read().splitlines()) == 1
    assert len(set(paths)) == 1 and open(paths[0], "rb").read() == open(EXAMPLE_1, "rb").read()


def test_default_folder_is_the_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), "flink-ml-udf", "bundles")
    assert BundleCache().root == default_cache_dir()


def object_gets(server, key: str) -> int:
    """Requests for ``key`` in moto's access log (ANSI colours stripped)."""
    log = re.sub(r"\x1b\[[0-9;]*m", "", server.log())
    return len(re.findall(rf'"GET /models/{re.escape(key)}(\?[^ ]*)? HTTP', log))


def test_second_load_does_not_download_and_pinned_load_needs_no_server(tmp_path):
    server = start_moto()  # its own server: this test stops it
    try:
        versions, _ = fill_s3(server)
        credentials = tmp_path / "credentials"  # authentication is off on this server: any key will do
        credentials.write_text("[test]\naws_access_key_id = test\naws_secret_access_key = test\n")
        settings = S3Settings(
            endpoint_url=server.url,
            region="us-east-1",
            credentials_file=str(credentials),
            profile="test",
            connect_timeout=1,
            read_timeout=5,
            retries=0,
            cache_dir=str(tmp_path / "cache"),
        )
        latest = UdfEntry("Fraud", URI, "s3", source_settings=settings)
        pinned = UdfEntry("Fraud", URI, "s3", version=versions[1], source_settings=settings)

        started = time.monotonic()
        first = load_entry_model(latest)
        download_seconds = time.monotonic() - started
        assert object_gets(server, "fraud.zip") == 2  # one-byte version probe + the download

        started = time.monotonic()
        second = load_entry_model(latest)
        unpinned_hit_seconds = time.monotonic() - started
        assert object_gets(server, "fraud.zip") == 3  # the probe only: the version is cached
        assert second.path == first.path and second.version == first.version == versions[1]

        started = time.monotonic()
        assert load_entry_model(pinned).path == first.path
        pinned_hit_seconds = time.monotonic() - started
        assert object_gets(server, "fraud.zip") == 3  # a pinned, cached version asks nothing

        server.stop()
        assert load_entry_model(pinned).path == first.path
        with pytest.raises(LoaderError) as info:
            load_entry_model(latest)
        assert str(info.value) == (
            f"UDF 'Fraud' → bundle {URI}: connection refused or unreachable: Could not connect to the endpoint URL: "
            f'"{server.url}/models/fraud.zip"'
        )
        print(
            f"\ncache figures: download {download_seconds * 1000:.1f} ms, unpinned hit {unpinned_hit_seconds * 1000:.1f} ms, "
            f"pinned hit {pinned_hit_seconds * 1000:.2f} ms"
        )
    finally:
        server.stop()


def test_gcs_second_load_does_not_download(gcs_world, cache_dir):
    entry = UdfEntry("Fraud", "gs://models/fraud.zip", "gcs", source_settings=gcs_world.settings(cache_dir=cache_dir))

    def downloads() -> int:
        return gcs_world.server.log().count("GET /download/storage/v1/b/models/o/fraud.zip?")

    before = downloads()
    first = load_entry_model(entry)
    assert downloads() == before + 1
    assert load_entry_model(entry).path == first.path
    assert downloads() == before + 1
