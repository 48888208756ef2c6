"""Hostile config files: unreadable files, YAML traps, values from the environment, odd values.
Each is a ConfigError naming the file, the entry and the key, bounded in time and memory."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from flink_ml_udf.config import MAX_CONFIG_BYTES, load_config
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.interpolate import Interpolated, MalformedReference, MissingVariable, interpolate
from tests.conftest import finishing
from tests.test_config import write

ENTRY = """
mleap:
  udf_registry:
    - udf_name: Predict
      bundle_path: a.zip
"""


def error_of(path, environ=None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    return str(info.value)


# -- files that cannot be read ------------------------------------------------------------------------


def test_dev_zero_as_config():
    result = finishing(lambda: load_config("/dev/zero"))
    assert str(result) == "/dev/zero: cannot read config file: is a character device, not a regular file"


def test_fifo_as_config(tmp_path):
    fifo = tmp_path / "app.yaml"
    os.mkfifo(fifo)
    result = finishing(lambda: load_config(str(fifo)))
    assert str(result) == f"{fifo}: cannot read config file: is a fifo, not a regular file"


def test_folder_as_config(tmp_path):
    assert error_of(str(tmp_path)) == f"{tmp_path}: cannot read config file: is a folder, not a regular file"


def test_missing_config(tmp_path):
    assert (
        error_of(str(tmp_path / "nope.yaml"))
        == f"{tmp_path / 'nope.yaml'}: cannot read config file: No such file or directory"
    )


def test_config_too_large(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    assert error_of(str(path)) == (
        f"{path}: cannot read config file: is {MAX_CONFIG_BYTES + 1} bytes, more than the limit of {MAX_CONFIG_BYTES} bytes"
    )


@pytest.mark.parametrize("data,where", [(b"mleap: \xff\xfe", "byte 7: 0xff"), (b"\xc3\x28", "byte 0: 0xc3")])
def test_not_utf8(tmp_path, data, where):
    path = tmp_path / "latin.yaml"
    path.write_bytes(data)
    assert error_of(str(path)) == f"{path}: cannot read config file: is not UTF-8 text ({where})"


def test_utf8_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + ENTRY.encode())
    assert load_config(str(path), environ={}).udfs[0].udf_name == "Predict"


# -- YAML traps ----------------------------------------------------------------------------------------------

BOMB = """
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
mleap:
  udf_registry:
    - udf_name: Predict
      bundle_path: a.zip
      inputs: *i
"""


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    path = write(tmp_path, BOMB)
    tracemalloc.start()
    try:
        message = error_of(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (
        message
        == f"{path}: line 7: expands to more than 100000 values (anchors and aliases count each time they are used)"
    )
    assert peak < 64 << 20


def test_moderate_aliases_still_work(tmp_path):
    path = write(
        tmp_path,
        """
        defaults: &defaults {bundle_source: file, on_error: fail}
        mleap:
          udf_registry:
            - <<: *defaults
              udf_name: A
              bundle_path: a.zip
              on_error: "null"
        """,
    )
    message = error_of(path)  # 'defaults' is no config key, but merge and override work
    assert message == f"{path} → key 'defaults': unknown key (allowed: mleap)"


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting(tmp_path, opener, closer):
    path = tmp_path / "deep.yaml"
    path.write_text("mleap: " + opener * 5000 + "1" + closer * 5000 + "\n")
    assert error_of(str(path)) == f"{path}: collections nest too deeply (more than 64 levels are refused)"


def test_nesting_just_over_the_bound(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("mleap: " + "[" * 70 + "1" + "]" * 70 + "\n")
    assert error_of(str(path)) == f"{path}: line 1: collections nest more than 64 levels deep"


def test_recursive_alias(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("mleap: &m\n  udf_registry: [*m]\n")
    assert error_of(str(path)) == f"{path}: line 1: an alias refers to a collection that contains it"


@pytest.mark.parametrize(
    "text,key,line,first",
    [
        ("mleap:\n  udf_registry: []\nmleap: {}\n", "mleap", 3, 1),
        ("mleap:\n  udf_registry:\n    - udf_name: A\n      udf_name: B\n      bundle_path: a.zip\n", "udf_name", 4, 3),
        ("mleap:\n  s3: {region: a, region: b}\n  udf_registry: []\n", "region", 2, 2),
        ("mleap:\n  udf_registry: []\n  'udf_registry': []\n", "udf_registry", 3, 2),
    ],
)
def test_duplicate_keys(tmp_path, text, key, line, first):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    assert (
        error_of(str(path)) == f"{path}: line {line}: key {key!r} appears twice in one mapping (first on line {first})"
    )


@pytest.mark.parametrize(
    "text,detail",
    [
        ("mleap: !!python/object:os.system {}\n", "not valid YAML: could not determine a constructor for the tag"),
        ("mleap: [\n", "not valid YAML: while parsing a flow node"),
        ("mleap:\n\tudf_registry: []\n", "not valid YAML: while scanning for the next token"),
        (
            "date: 2024-13-45\nmleap: {}\n",
            "not valid YAML: a value cannot be read (ValueError: month must be in 1..12)",
        ),
    ],
)
def test_malformed_yaml(tmp_path, text, detail):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert error_of(str(path)).startswith(f"{path}: {detail}")


@pytest.mark.parametrize("text", ["", "# nothing\n", "~\n", "[]\n", "42\n", "'x'\n"])
def test_documents_that_are_not_mappings(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert error_of(str(path)).startswith(f"{path}: expected a mapping with key 'mleap', found ")


# -- on_error: null -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["null", "Null", "NULL", '"null"', "'null'"])
def test_on_error_null_unquoted_or_quoted(tmp_path, written):
    path = write(tmp_path, ENTRY + f"      on_error: {written}\n")
    assert load_config(path, environ={}).udfs[0].on_error == "null"


@pytest.mark.parametrize("written", ["~", ""])
def test_on_error_without_value_is_explained(tmp_path, written):
    path = write(tmp_path, ENTRY + f"      on_error: {written}\n")
    assert error_of(path) == (
        f"{path} → mleap.udf_registry[0] (Predict) → key 'on_error': has no value (YAML reads ~ or an empty value "
        "as null); write one of fail, null"
    )


@pytest.mark.parametrize("written,shown", [("[fail]", "['fail']"), ("yes", "True"), ("FAIL", "'FAIL'"), ("0", "0")])
def test_on_error_other_values(tmp_path, written, shown):
    path = write(tmp_path, ENTRY + f"      on_error: {written}\n")
    assert (
        error_of(path) == f"{path} → mleap.udf_registry[0] (Predict) → key 'on_error': {shown} is not one of fail, null"
    )


def test_version_null_stays_unpinned(tmp_path):
    path = write(tmp_path, ENTRY + "      version: null\n")
    assert load_config(path, environ={}).udfs[0].version is None


# -- values from the environment --------------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    "section,key,shown",
    [
        (
            "s3",
            "retries",
            "expected a whole number from 0 to 10, found '${AWS_SECRET_ACCESS_KEY}' (from the environment)",
        ),
        (
            "s3",
            "connect_timeout",
            "expected a positive number of seconds, found '${AWS_SECRET_ACCESS_KEY}' (from the environment)",
        ),
        ("s3", "anonymous", "expected true or false, found '${AWS_SECRET_ACCESS_KEY}' (from the environment)"),
        (
            "s3",
            "addressing_style",
            "'${AWS_SECRET_ACCESS_KEY}' (from the environment) is not one of auto, path, virtual",
        ),
        (
            "gcs",
            "retries",
            "expected a whole number from 0 to 10, found '${AWS_SECRET_ACCESS_KEY}' (from the environment)",
        ),
    ],
)
def test_environment_values_are_never_echoed(tmp_path, section, key, shown):
    path = write(
        tmp_path, f"mleap:\n  {section}:\n    {key}: ${{AWS_SECRET_ACCESS_KEY}}\n" + ENTRY.split("mleap:\n", 1)[1]
    )
    message = error_of(path, {"AWS_SECRET_ACCESS_KEY": SECRET})
    assert message == f"{path} → mleap.{section} → key '{key}': {shown}"
    assert SECRET not in message


@pytest.mark.parametrize(
    "key,value,shown",
    [
        ("on_error", "${MODE}", "'${MODE}' (from the environment) is not one of fail, null"),
        ("bundle_source", "${MODE}", "unknown source '${MODE}' (from the environment) (expected one of file, gcs, s3)"),
        ("max_bundle_bytes", "${MODE}", "expected a positive size like 500MiB, found '${MODE}' (from the environment)"),
        (
            "max_batch_bytes",
            "x${MODE}y",
            "expected a positive size like 500MiB, found 'x${MODE}y' (from the environment)",
        ),
    ],
)
def test_entry_values_from_the_environment_are_never_echoed(tmp_path, key, value, shown):
    path = write(tmp_path, ENTRY + f"      {key}: {value}\n")
    message = error_of(path, {"MODE": SECRET})
    assert message == f"{path} → mleap.udf_registry[0] (Predict) → key '{key}': {shown}"
    assert SECRET not in message


def test_credentials_in_endpoint_urls_are_redacted(tmp_path):
    path = write(
        tmp_path,
        "mleap:\n  s3:\n    endpoint_url: 5\n    region: ['http://user:hunter2@minio:9000/?X-Amz-Signature=abc']\n"
        + ENTRY.split("mleap:\n", 1)[1],
    )
    message = error_of(path)
    assert "hunter2" not in message and "abc" not in message
    assert message.splitlines()[-1] == (
        f"{path} → mleap.s3 → key 'region': expected a non-empty string, found ['http://***@minio:9000/?X-Amz-Signature=***']"
    )


# -- odd values ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,message",
    [
        (".nan", "expected a positive finite number of seconds, found nan"),
        (".inf", "expected a positive finite number of seconds, found inf"),
        ("-.inf", "expected a positive finite number of seconds, found -inf"),
        ("1e300", "expected at most 86400 seconds, found '1e300'"),  # YAML 1.1 reads 1e300 as a string
        ("1.0e+300", "expected at most 86400 seconds, found 1e+300"),
        ("'nan'", "expected a positive number of seconds, found 'nan'"),
        ("0", "expected a positive number of seconds, found 0"),
        ("true", "expected a positive number of seconds, found True"),
        ("[5]", "expected a positive number of seconds, found [5]"),
    ],
)
def test_timeouts(tmp_path, value, message):
    path = write(tmp_path, f"mleap:\n  s3:\n    read_timeout: {value}\n" + ENTRY.split("mleap:\n", 1)[1])
    assert error_of(path) == f"{path} → mleap.s3 → key 'read_timeout': {message}"


@pytest.mark.parametrize(
    "value,shown", [(".nan", "nan"), (".inf", "inf"), ("2.5", "2.5"), ("11", "11"), ("-1", "-1"), ("1.0e+20", "1e+20")]
)
def test_retries(tmp_path, value, shown):
    path = write(tmp_path, f"mleap:\n  gcs:\n    retries: {value}\n" + ENTRY.split("mleap:\n", 1)[1])
    assert error_of(path) == f"{path} → mleap.gcs → key 'retries': expected a whole number from 0 to 10, found {shown}"


@pytest.mark.parametrize(
    "key,value,shown",
    [
        ("bundle_path", '"a\\0b.zip"', "'a\\x00b.zip'"),
        ("bundle_path", "[a.zip]", "['a.zip']"),
        ("max_bundle_bytes", "1.5GiB", "'1.5GiB'"),
        ("max_bundle_bytes", "-1", "-1"),
        ("max_batch_bytes", "0", "0"),
        ("max_batch_bytes", "true", "True"),
        ("version", "[1]", "[1]"),
        ("version", "{a: 1}", "{'a': 1}"),
        ("udf_name", "'1abc'", "'1abc'"),
        ("udf_name", "[A]", "['A']"),
    ],
)
def test_entry_values(tmp_path, key, value, shown):
    lines = ENTRY.replace("      bundle_path: a.zip\n", "") if key == "bundle_path" else ENTRY
    if key == "udf_name":
        lines = ENTRY.replace("udf_name: Predict", f"udf_name: {value}")
    else:
        lines += f"      {key}: {value}\n"
    path = write(tmp_path, lines)
    message = error_of(path)
    expected = {
        "bundle_path": f"expected a path or URI string, found {shown}",
        "max_bundle_bytes": f"expected a positive size like 500MiB, found {shown}",
        "max_batch_bytes": f"expected a positive size like 500MiB, found {shown}",
        "version": f"expected a version string, found {shown}",
        "udf_name": f"{shown} is not a valid SQL identifier (letters, digits, _; not starting with a digit)",
    }[key]
    name = " (Predict)" if key != "udf_name" else (" (1abc)" if value == "'1abc'" else "")
    assert message == f"{path} → mleap.udf_registry[0]{name} → key '{key}': {expected}"


def test_max_batch_bytes_is_read(tmp_path):
    path = write(tmp_path, ENTRY + "      max_batch_bytes: 64MiB\n")
    assert load_config(path, environ={}).udfs[0].max_batch_bytes == 64 << 20


def test_huge_values_are_shown_briefly(tmp_path):
    path = write(tmp_path, ENTRY + "      result_type: [" + ", ".join(["x" * 100] * 1000) + "]\n")
    assert error_of(path) == (
        f"{path} → mleap.udf_registry[0] (Predict) → key 'result_type': expected a SQL type name, found "
        "['" + "x" * 37 + "..." + "x" * 37 + "…"
    )


# -- ${...} references ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,environ,expected",
    [
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("${A:-${B}}", {"A": "a", "B": "b"}, "a"),
        ("${A:-${B:-${C:-deep}}}", {}, "deep"),
        ("x${A:-}y", {}, "xy"),
        ("${A:-a}}", {}, "a}"),
        ("${A:-{b}}", {}, "{b}"),  # the first } ends the default, as before
        ("$A ${ ${1}", {}, "$A ${ ${1}"),
        ("${A", {"A": "x"}, "${A"),  # not a reference: plain text, as before
        ("-- ${MODEL_VERSION_<UDF>}", {}, "-- ${MODEL_VERSION_<UDF>}"),
        ("${A B}", {"A": "x"}, "${A B}"),
        ("${A}", {"A": "${B}"}, "${B}"),  # values from the environment are not re-read
    ],
)
def test_interpolation(text, environ, expected):
    assert interpolate(text, environ) == expected


@pytest.mark.parametrize(
    "text,error,message",
    [
        ("${A:-${B}}", MissingVariable, "environment variable B is not set (write ${B:-default} to give a default)"),
        ("${A:-x", MalformedReference, "${A:-... is never closed with '}'"),
        ("${A:-${B}", MalformedReference, "${A:-... is never closed with '}'"),
        ("${A" + ":-${A" * 20 + "}" * 21, MalformedReference, "references nest more than 10 defaults deep"),
    ],
)
def test_interpolation_errors(text, error, message):
    with pytest.raises(error) as info:
        interpolate(text, {})
    assert str(info.value) == message


def test_interpolated_repr_names_the_variable():
    from flink_ml_udf.interpolate import interpolate_marked

    value = interpolate_marked("${A}-x", {"A": SECRET})
    assert isinstance(value, Interpolated) and value == SECRET + "-x"
    assert repr(value) == "'${A}-x' (from the environment)"
    assert interpolate_marked("${A:-d}", {}) == "d" and not isinstance(interpolate_marked("${A:-d}", {}), Interpolated)
    import pickle

    assert repr(pickle.loads(pickle.dumps(value))) == repr(value)


def test_nested_default_in_a_config(tmp_path):
    path = write(tmp_path, ENTRY.replace("bundle_path: a.zip", "bundle_path: ${MODELS:-${HOME_MODELS:-/srv}}/a.zip"))
    assert load_config(path, environ={"HOME_MODELS": "/home/m"}).udfs[0].bundle_path == "/home/m/a.zip"
    path = write(tmp_path, ENTRY.replace("bundle_path: a.zip", "bundle_path: ${MODELS:-${HOME_MODELS/a.zip"))
    assert (
        error_of(path)
        == f"{path} → mleap.udf_registry[0] (Predict) → key 'bundle_path': ${{MODELS:-... is never closed with '}}'"
    )


# -- numerics --------------------------------------------------------------------------------------------------------


def test_numerics_is_read_per_entry_and_per_variant(tmp_path):
    path = write(
        tmp_path,
        ENTRY
        + "      numerics: jvm\n"
        + "    - udf_name: Plain\n      bundle_path: b.zip\n"
        + "    - udf_name: Ab\n      split_key: k\n      numerics: jvm\n      variants:\n"
        + "        - {name: a, weight: 1, bundle_path: a.zip}\n"
        + "        - {name: b, weight: 1, bundle_path: b.zip, numerics: fast}\n"
        + "      shadow: {name: s, bundle_path: c.zip}\n",
    )
    predict, plain, ab = load_config(path, environ={}).udfs
    assert (predict.numerics, plain.numerics) == ("jvm", "fast")
    assert [v.entry.numerics for v in ab.variants] == ["jvm", "fast"]  # a variant inherits the entry's, or says its own
    assert ab.shadow.entry.numerics == "jvm"
    assert ab.numerics == "jvm"  # the entry's own bundle is its first variant's


@pytest.mark.parametrize("value,shown", [("exact", "'exact'"), ("JVM", "'JVM'"), ("[jvm]", "['jvm']"), ("1", "1")])
def test_numerics_values(tmp_path, value, shown):
    path = write(tmp_path, ENTRY + f"      numerics: {value}\n")
    assert error_of(path) == (
        f"{path} → mleap.udf_registry[0] (Predict) → key 'numerics': {shown} is not one of fast, jvm"
    )


def test_numerics_of_a_variant_is_checked_and_named(tmp_path):
    path = write(
        tmp_path,
        ENTRY.replace("      bundle_path: a.zip\n", "")
        + "      split_key: k\n      variants:\n"
        + "        - {name: a, weight: 1, bundle_path: a.zip, numerics: exact}\n"
        + "        - {name: b, weight: 1, bundle_path: b.zip}\n",
    )
    assert error_of(path) == (
        f"{path} → mleap.udf_registry[0] (Predict) → variants[0] (a) → key 'numerics': 'exact' is not one of fast, jvm"
    )
