"""URL credentials and signed query strings never reach a message."""

from __future__ import annotations

import pytest

from flink_ml_udf.errors import LoaderError, brief
from flink_ml_udf.redact import redact, redact_url


@pytest.mark.parametrize(
    "url,shown",
    [
        ("http://user:password@minio:9000/bucket", "http://***@minio:9000/bucket"),
        ("https://token@host/p", "https://***@host/p"),
        ("https://a:b@c:d@host/p", "https://***@host/p"),
        ("s3://b/k.zip?versionId=abc", "s3://b/k.zip?versionId=abc"),
        ("gs://b/k.zip#generation=12", "gs://b/k.zip#generation=12"),
        (
            "https://b.s3.amazonaws.com/k.zip?X-Amz-Algorithm=A&X-Amz-Credential=AKIA%2F&X-Amz-Signature=ff",
            "https://b.s3.amazonaws.com/k.zip?X-Amz-Algorithm=***&X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        ("https://h/p?token", "https://h/p?***"),
        ("https://h/p#secret", "https://h/p#***"),
        ("s3://b/k.zip?versionId=1&sig=2", "s3://b/k.zip?versionId=1&sig=***"),
        ("file:///models/x.zip", "file:///models/x.zip"),
        ("http://host/p?", "http://host/p?"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_every_url_in_a_text_and_sentence_punctuation_kept():
    text = "bundle s3://b/k.zip?sig=1: cannot reach http://u:p@h:9000/, (see https://x/y?t=2)."
    assert redact(text) == "bundle s3://b/k.zip?sig=***: cannot reach http://***@h:9000/, (see https://x/y?t=***)."


def test_project_errors_are_redacted_when_built():
    error = LoaderError("bundle https://h/k.zip?X-Amz-Signature=abc: timeout").within("UDF 'P'")
    assert str(error) == "UDF 'P' → bundle https://h/k.zip?X-Amz-Signature=***: timeout"


def test_brief_redacts_before_it_cuts():
    assert brief("http://user:" + "s" * 500 + "@host/x") == "'http://***@host/x'"
    assert brief(["https://a:b@c/?sig=1"] * 20) == "[" + "'https://***@c/?sig=***', " * 3 + "…"
