"""flink-mleap's application.conf (HOCON, camelCase keys) read into the same entries as YAML: their
example as it ships, their gcs bucket, our own keys in camelCase, and every error with its exact message."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from flink_ml_udf.config import ReloadSettings, UdfEntry, Variant, load_config
from flink_ml_udf.errors import ConfigError
from tests.flink_mleap import THEIR_CONF


def write(tmp_path, text: str, name: str = "application.conf") -> str:
    path = tmp_path / "resources" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def error_of(path: str, environ=None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    return str(info.value)


def test_their_example_config_names_bundles_beside_it(tmp_path):
    """Their bundlePath is a classpath resource; their conf and bundles share src/main/resources."""
    path = write(tmp_path, THEIR_CONF)
    resources = os.path.dirname(path)
    config = load_config(path)
    assert config.path == path
    assert config.udfs == (
        UdfEntry("Predict", os.path.join(resources, "mleap-example-1"), "file"),
        UdfEntry("Predictv2", os.path.join(resources, "mleap-example-2"), "file"),
    )


def test_same_entries_as_the_yaml_form(tmp_path):
    hocon = write(
        tmp_path,
        """
        mleap {
          udfRegistry = [
            { udfName = "Predict", bundlePath = "/models/a.zip", bundleSource = "file", inputsMode = "array",
              outputs = [prediction, model_version], onError = "null", maxBundleBytes = "512MiB",
              reload { interval = 90s } }
          ]
        }
        """,
    )
    yaml = write(
        tmp_path,
        """
        mleap:
          udf_registry:
            - udf_name: Predict
              bundle_path: models/a.zip
              bundle_source: file
              inputs_mode: array
              outputs: [prediction, model_version]
              on_error: "null"
              max_bundle_bytes: 512MiB
              reload: {interval: 90s}
        """,
        name="application.yaml",
    )
    entries = load_config(hocon).udfs
    assert entries == load_config(yaml).udfs
    assert entries[0].inputs_mode == "array"
    assert entries[0].reload == ReloadSettings(90.0)  # HOCON's duration 90s, in seconds
    assert entries[0].max_bundle_bytes == 512 << 20


def test_gcs_bundle_path_is_an_object_in_their_bucket(tmp_path):
    path = write(
        tmp_path,
        """
        mleap {
          gcs { bucket = "models-prod", project = "ml", anonymous = true }
          udfRegistry = [
            { udfName = "Predictv3", bundlePath = "/mleap-example-3", bundleSource = "gcs" },
            { udfName = "Full", bundlePath = "gs://other/x.zip", bundleSource = "gcs" },
            { udfName = "Ab", splitKey = "customer", bundleSource = "gcs", variants = [
                { name = "a", weight = 9, bundlePath = "fraud/a.zip" },
                { name = "b", weight = 1, bundlePath = "/srv/b", bundleSource = "file" } ] }
          ]
        }
        """,
    )
    config = load_config(path)
    predict, full, ab = config.udfs
    assert (predict.bundle_path, predict.bundle_source) == ("gs://models-prod/mleap-example-3", "gcs")
    assert predict.source_settings.project == "ml" and predict.source_settings.anonymous
    assert full.bundle_path == "gs://other/x.zip"
    assert [(v.name, v.entry.bundle_path, v.weight) for v in ab.variants] == [
        ("a", "gs://models-prod/fraud/a.zip", 9),
        ("b", os.path.join(os.path.dirname(path), "srv", "b"), 1),
    ]
    assert isinstance(ab.variants[0], Variant) and ab.split_key == "customer"


def test_their_placeholder_bucket_is_refused_once_an_entry_uses_it(tmp_path):
    text = THEIR_CONF.replace(
        '"/mleap-example-2"\n            bundleSource = "file"', '"/mleap-example-2"\n            bundleSource = "gcs"'
    )
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path} → mleap.gcs → key 'bucket': '--fill--' is not a bucket name (used by mleap.udfRegistry[1] (Predictv2))"
    )


def test_a_gcs_entry_without_bucket(tmp_path):
    path = write(tmp_path, 'mleap { udfRegistry = [ { udfName = "P", bundlePath = "m.zip", bundleSource = "gcs" } ] }')
    assert error_of(path) == (
        f"{path} → mleap.udfRegistry[0] (P) → key 'bundlePath': with bundleSource 'gcs', bundlePath names an object "
        "in mleap.gcs.bucket, which is not set (or write a full gs:// URI)"
    )


def test_every_unsupported_key_and_bad_value_is_named_as_written(tmp_path):
    path = write(
        tmp_path,
        """
        mleap {
          gcs { bucket = "models", projct = "x" }
          registry = []
          udfRegistry = [
            { udfName = "Predict", bundlePath = "/mleap-example-1", bundleSource = "file", modelName = "m" },
            { udfName = "P2", bundlePath = "/b", onError = "nul", inputsMode = "tensor", reload { interval = 1s, jitter = 2 } },
            { udfName = "P3", bundlePath = "/c", bundleSource = "hdfs" },
            { udfName = "P4", splitKey = "k", variants = [
                { name = "a", weight = 1, bundlePath = "a", color = "red" },
                { name = "b", weight = 1, bundlePath = "b" } ] }
          ]
        }
        """,
    )
    gcs_keys = (
        "endpointUrl, credentialsFile, anonymous, connectTimeout, readTimeout, retries, cacheDir, project, bucket"
    )
    entry_keys = (
        "udfName, bundlePath, bundleSource, inputs, outputs, resultType, onError, version, maxBundleBytes, "
        "maxBatchBytes, reload, control, inputsMode, numerics, splitKey, splitKeyType, variants, shadow"
    )
    assert error_of(path).splitlines() == [
        f"{path} → mleap.gcs → key 'projct': unknown key (allowed: {gcs_keys})",
        f"{path} → mleap → key 'registry': unknown key (allowed: udfRegistry, gcs, s3)",
        f"{path} → mleap.udfRegistry[0] (Predict) → key 'modelName': unknown key (allowed: {entry_keys})",
        f"{path} → mleap.udfRegistry[1] (P2) → key 'reload' → key 'jitter': unknown key (allowed: interval)",
        f"{path} → mleap.udfRegistry[3] (P4) → variants[0] (a) → key 'color': unknown key (allowed: name, weight, "
        "bundlePath, bundleSource, version, maxBundleBytes, reload, control, numerics)",
        f"{path} → mleap.udfRegistry[1] (P2) → key 'inputsMode': 'tensor' is not one of scalars, array",
        f"{path} → mleap.udfRegistry[1] (P2) → key 'onError': 'nul' is not one of fail, null",
        f"{path} → mleap.udfRegistry[2] (P3) → key 'bundleSource': unknown source 'hdfs' (expected one of file, gcs, s3)",
    ]


def test_environment_variables_in_strings_and_hocon_substitutions(tmp_path, monkeypatch):
    """``${NAME:-default}`` inside strings is ours (as in YAML); unquoted ``${NAME}`` is HOCON's own
    substitution, which falls back to the process environment."""
    monkeypatch.setenv("MODELS_DIR", "/srv/models")
    path = write(
        tmp_path,
        """
        mleap {
          udfRegistry = [ { udfName = "P", bundlePath = "file://"${MODELS_DIR}"/p.zip", version = "${PIN:-7}" } ]
        }
        """,
    )
    assert load_config(path, environ={"PIN": "12"}).udfs[0] == UdfEntry("P", "/srv/models/p.zip", version="12")
    assert load_config(path, environ={}).udfs[0].version == "7"


def test_helper_keys_outside_mleap_are_refused_too(tmp_path):
    path = write(tmp_path, 'base = "/m"\nmleap { udfRegistry = [ { udfName = "P", bundlePath = ${base}"/p" } ] }')
    assert error_of(path) == f"{path} → key 'base': unknown key (allowed: mleap)"


def test_not_hocon(tmp_path):
    path = write(tmp_path, 'mleap { udfRegistry = [ { udfName = "P" ')
    message = error_of(path)
    assert message.startswith(f"{path}: not valid HOCON: ")


def test_missing_file(tmp_path):
    path = str(tmp_path / "nowhere" / "application.conf")
    assert error_of(path) == f"{path}: cannot read config file: No such file or directory"


def test_includes_of_local_files_work_remote_ones_are_refused(tmp_path):
    write(tmp_path, 'udfRegistry = [ { udfName = "P", bundlePath = "/p" } ]', name="registry.conf")
    path = write(tmp_path, 'mleap { include "registry.conf" }')
    assert [e.udf_name for e in load_config(path).udfs] == ["P"]
    path = write(tmp_path, 'mleap {\n  include url("http://127.0.0.1:9/registry.conf")\n}')
    assert error_of(path) == f"{path}:2: include url(...) is not supported; include a local file instead"


def test_without_pyhocon_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyhocon", None)  # what an install without the extra sees
    path = write(tmp_path, THEIR_CONF)
    assert error_of(path) == (
        f"{path}: reading a HOCON config (flink-mleap's application.conf) needs pyhocon, which is not installed: "
        "pip install 'flink-ml-udf[hocon]'"
    )


def test_durations_in_months_are_refused(tmp_path):
    path = write(
        tmp_path, 'mleap { udfRegistry = [ { udfName = "P", bundlePath = "/p", reload { interval = 2 months } } ] }'
    )
    assert error_of(path).splitlines()[0] == (
        f"{path} → mleap.udfRegistry[0] (P) → key 'reload' → key 'interval': a duration in months or years is not "
        "supported; use ms, s, m or h"
    )


def test_numerics_is_read_in_camel_case_files_too(tmp_path):
    path = write(tmp_path, 'mleap { udfRegistry = [ { udfName = "P", bundlePath = "/p.zip", numerics = "jvm" } ] }')
    assert load_config(path, environ={}).udfs[0].numerics == "jvm"
    bad = write(
        tmp_path, 'mleap { udfRegistry = [ { udfName = "P", bundlePath = "/p.zip", numerics = "exact" } ] }', "b.conf"
    )
    assert error_of(bad) == f"{bad} → mleap.udfRegistry[0] (P) → key 'numerics': 'exact' is not one of fast, jvm"
