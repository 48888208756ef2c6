"""The CLI under hostile input: every failure is one line on stderr naming what is at fault, exit
status 2, nothing on stdout, no traceback; nothing hangs."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.test_cli import CLI, EXAMPLE_1, run

FRAME = {
    "schema": {"fields": [{"name": f"feature{i}", "type": "double"} for i in (1, 2, 3)]},
    "rows": [[1.0, 2.0, 3.0]],
}


def failed(completed, start: str) -> str:
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith(start), completed.stderr
    return completed.stderr.rstrip("\n")


@pytest.mark.parametrize(
    "content,message",
    [
        (b"\xff\xfe{}", "cannot read: is not UTF-8 text (byte 0: 0xff)"),
        (b"", "is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"[" * 100000, "is not valid JSON: nested too deeply"),
        (b'{"schema": {"fields": []}, "rows": [], "rows": []}', ": an object names key 'rows' twice"),
        (b"[]", " → LeapFrame JSON must be an object with a 'schema.fields' list and a 'rows' list"),
    ],
)
def test_frame_files(tmp_path, content, message):
    path = tmp_path / "frame.json"
    path.write_bytes(content)
    stderr = failed(run("score", EXAMPLE_1, "--frame", str(path)), "flink-ml-udf score: frame ")
    assert stderr.endswith(message) and str(path) in stderr


def test_wrong_type_in_a_double_column(tmp_path):
    document = dict(FRAME, rows=[[1.0, "abc", 3.0]])
    stderr = failed(run("score", EXAMPLE_1, "--frame", "-", stdin=json.dumps(document)), "flink-ml-udf score: ")
    assert (
        stderr
        == "flink-ml-udf score: frame - → LeapFrame row 0, field 'feature2' (double): expected a number, found 'abc'"
    )


def test_dev_zero_as_frame():
    stderr = failed(run("score", EXAMPLE_1, "--frame", "/dev/zero"), "flink-ml-udf score: ")
    assert stderr == "flink-ml-udf score: frame /dev/zero: cannot read: is a character device, not a regular file"


def test_fifo_as_frame(tmp_path):
    fifo = tmp_path / "frame.json"
    os.mkfifo(fifo)
    stderr = failed(run("score", EXAMPLE_1, "--frame", str(fifo)), "flink-ml-udf score: ")
    assert stderr == f"flink-ml-udf score: frame {fifo}: cannot read: is a fifo, not a regular file"


def test_dev_zero_on_stdin_is_bounded():
    with open("/dev/zero", "rb") as zeros:
        completed = subprocess.run(
            [CLI, "score", EXAMPLE_1, "--frame", "-"], stdin=zeros, capture_output=True, text=True, timeout=120
        )
    stderr = failed(completed, "flink-ml-udf score: ")
    assert stderr == "flink-ml-udf score: frame -: cannot read: holds more than the limit of 67108864 bytes"


def test_dev_zero_as_config():
    stderr = failed(run("inspect", EXAMPLE_1, "--config", "/dev/zero"), "flink-ml-udf inspect: ")
    assert (
        stderr == "flink-ml-udf inspect: /dev/zero: cannot read config file: is a character device, not a regular file"
    )


def test_non_utf8_config(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_bytes(b"mleap:\n  s3: {region: \xe9t\xe9}\n")
    stderr = failed(run("inspect", EXAMPLE_1, "--config", str(path)), "flink-ml-udf inspect: ")
    assert stderr == f"flink-ml-udf inspect: {path}: cannot read config file: is not UTF-8 text (byte 22: 0xe9)"


@pytest.mark.parametrize("target", ["/", "/dev/null", "/etc/passwd", "/dev/zero"])
def test_bundles_that_are_not_bundles(target):
    completed = subprocess.run([CLI, "inspect", target], capture_output=True, text=True, timeout=60)
    stderr = failed(completed, "flink-ml-udf inspect: bundle ")
    assert (
        stderr
        == {
            "/": "flink-ml-udf inspect: bundle /: missing file bundle.json",
            "/dev/null": "flink-ml-udf inspect: bundle /dev/null: is a character device, not a regular file or folder",
            "/etc/passwd": "flink-ml-udf inspect: bundle /etc/passwd: not a folder and not a zip file",
            "/dev/zero": "flink-ml-udf inspect: bundle /dev/zero: is a character device, not a regular file or folder",
        }[target]
    )


def test_broken_pipe_on_score(tmp_path):
    """`score ... | head -c 10`: the reader leaves early; no traceback, exit status 2, one line."""
    document = dict(FRAME, rows=[[float(i), 1.0, 2.0] for i in range(20000)])
    path = tmp_path / "frame.json"
    path.write_text(json.dumps(document))
    command = f"'{CLI}' score '{EXAMPLE_1}' --frame '{path}' | head -c 10 > /dev/null; echo ${{PIPESTATUS[0]}} >&2"
    completed = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in completed.stderr and "Exception ignored" not in completed.stderr
    assert completed.stderr == "flink-ml-udf score: the output was closed before it was all written\n2\n"


def test_presigned_uri_is_redacted_in_errors():
    uri = "s3://bucket/model.zip?X-Amz-Credential=AKIA&X-Amz-Signature=deadbeef"
    stderr = failed(run("inspect", uri), "flink-ml-udf inspect: ")
    assert stderr == (
        "flink-ml-udf inspect: bundle s3://bucket/model.zip?X-Amz-Credential=***&X-Amz-Signature=***: "
        "the only URI parameter allowed is ?versionId=<version>"
    )
    completed = run("inspect", "gs://user:hunter2@bucket/k.zip")
    assert completed.returncode == 2 and "hunter2" not in completed.stderr
    assert "flink-ml-udf inspect: bundle gs://***@bucket/k.zip: " in completed.stderr
