"""Keep secrets out of messages: URL credentials and signed query strings.

Endpoint URLs may carry ``user:password@``; bundle URIs and presigned URLs carry signatures and
tokens in their query string (``?X-Amz-Signature=...``). :func:`redact` rewrites every URL in a text
so that the user info becomes ``***`` and every query or fragment value becomes ``***``, except the
version pins this package itself reads (``versionId``, ``generation``), which name a bundle version
and are needed to tell which one failed. Every :class:`~flink_ml_udf.errors.FlinkMlUdfError` message
passes through it, and so do the URIs the CLI prints and the job logs.
"""

from __future__ import annotations

import re

from flink_ml_udf.sources import BUNDLE_SOURCES

#: Query and fragment parameters shown as they are: they pin a bundle version, they grant nothing.
SHOWN_PARAMETERS = frozenset({source.pin_key for source in BUNDLE_SOURCES if source.pin_key} | {"version"})
#: Punctuation that ends a sentence rather than a URL (``bundle s3://b/k.zip: not found``).
_TRAILING = ":.,;)"
MASK = "***"

_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^\s'\"<>`|\\]*)")


def redact_url(url: str) -> str:
    """``url`` with its user info and its query/fragment values (but version pins) masked."""
    match = _URL.match(url)
    if match is None:
        return url
    return _redact_match(match) + url[match.end() :]


def redact(text: str) -> str:
    """Every URL in ``text`` passed through :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL.sub(_redact_match, text)


def _redact_match(match: "re.Match[str]") -> str:
    rest = match.group(2)
    kept = rest.rstrip(_TRAILING)
    return match.group(1) + _redact_rest(kept) + rest[len(kept) :]


def _redact_rest(rest: str) -> str:
    """Everything after ``scheme://``: authority, path, ``?query``, ``#fragment``."""
    end = len(rest)
    for mark in "/?#":
        position = rest.find(mark)
        if position != -1:
            end = min(end, position)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    fragment = ""
    if "#" in tail:
        tail, fragment = tail.split("#", 1)
        fragment = "#" + _parameters(fragment)
    if "?" in tail:
        path, query = tail.split("?", 1)
        tail = path + "?" + _parameters(query)
    return authority + tail + fragment


def _parameters(text: str) -> str:
    shown = []
    for part in text.split("&"):
        name, equals, _ = part.partition("=")
        if not equals:
            shown.append(MASK if part else part)
        else:
            shown.append(part if name in SHOWN_PARAMETERS else f"{name}={MASK}")
    return "&".join(shown)
