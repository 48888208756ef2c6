"""The table of bundle sources is what config, the URI parsing and the loaders all read."""

from __future__ import annotations

import pytest

from flink_ml_udf import config
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders import LOADERS
from flink_ml_udf.loaders.remote import parse_location
from flink_ml_udf.redact import SHOWN_PARAMETERS
from flink_ml_udf.sources import BY_NAME, GcsSettings, S3Settings, local_path, source_for_uri


def test_each_row_has_its_loader_and_config_reads_its_settings():
    assert {name: type(loader).__name__ for name, loader in LOADERS.items()} == {
        "file": "FileLoader", "s3": "S3Loader", "gcs": "GcsLoader",
    }  # fmt: skip
    assert all(loader.source == name for name, loader in LOADERS.items())
    assert config.SOURCES == ("file", "gcs", "s3")
    assert config.MLEAP_KEYS == ("udf_registry", "gcs", "s3")
    assert config.SOURCE_KEYS == {
        "s3": ("endpoint_url", "credentials_file", "anonymous", "connect_timeout", "read_timeout", "retries",
               "cache_dir", "region", "profile", "addressing_style"),
        "gcs": ("endpoint_url", "credentials_file", "anonymous", "connect_timeout", "read_timeout", "retries",
                "cache_dir", "project"),
    }  # fmt: skip
    assert BY_NAME["s3"].default_settings() == S3Settings() and BY_NAME["file"].default_settings() is None
    assert not hasattr(GcsSettings(), "region") and not hasattr(S3Settings(), "project")


def test_an_entry_without_settings_carries_its_sources_defaults():
    assert config.UdfEntry("P", "gs://b/m.zip", "gcs").source_settings == GcsSettings()
    assert config.UdfEntry("P", "s3://b/m.zip", "s3").source_settings == S3Settings()
    assert config.UdfEntry("P", "/m.zip").source_settings is None


def test_uris_name_their_source_and_pin_by_the_table():
    assert [source_for_uri(u) for u in ("s3://b/k", "gs://b/k", "file:///m.zip", "m.zip", "hdfs://x/y")] == [
        "s3", "gcs", "file", "file", None,
    ]  # fmt: skip
    assert local_path("file:///models/m.zip") == "/models/m.zip" and local_path("models/m.zip") == "models/m.zip"
    assert parse_location("s3://b/models/m.zip?versionId=v1", BY_NAME["s3"]).pin == "v1"
    assert parse_location("gs://b/models/m.zip#generation=17", BY_NAME["gcs"]).pin == "17"
    assert parse_location("gs://b/m.zip?generation=17", BY_NAME["gcs"]).key == "m.zip?generation=17"
    with pytest.raises(LoaderError) as caught:
        parse_location("s3://b/m.zip?generation=17", BY_NAME["s3"])
    assert str(caught.value) == (
        "bundle s3://b/m.zip?generation=17: the only URI parameter allowed is ?versionId=<version>"
    )
    assert {"versionId", "generation", "version"} == SHOWN_PARAMETERS
