"""Exception types.

Every error carries the path to the fault in its message, outermost first, joined with
`` → ``: ``UDF 'Predict' → bundle models/x.zip → node string_indexer_3 → attribute labels: ...``.
Callers add their own step with :meth:`FlinkMlUdfError.within` instead of wrapping the text by hand,
so the chain reads the same wherever it is raised.

Every message is passed through :func:`flink_ml_udf.redact.redact` when the error is built, so a URL
in it never shows credentials or signed query strings, whichever code path wrote it.
"""

from __future__ import annotations

import reprlib
from typing import Any

from flink_ml_udf.redact import redact

#: How many characters of a value an error message shows (a hostile file's value never floods it).
SHOWN_CHARS = 80


def brief(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, for showing a found value in an error message.

    ``reprlib`` bounds containers before rendering them, so a value built by YAML aliases (a
    billion elements sharing a few lists) costs a few hundred elements to show, not a billion.
    """
    shower = _RedactingRepr()
    shower.maxstring = shower.maxother = limit
    shower.maxlist = shower.maxtuple = shower.maxdict = shower.maxset = 8
    shower.maxlevel = 3
    text = shower.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _RedactingRepr(reprlib.Repr):
    """Strings are redacted before they are cut, so a cut never keeps half a password."""

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(redact(x), level)


class FlinkMlUdfError(Exception):
    """Base class of every error this package raises on purpose."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact(str(message)), *args)

    def within(self, context: str) -> "FlinkMlUdfError":
        """Return a copy of this error whose message is prefixed with ``context``."""
        return type(self)(f"{context} → {self}")


class ConfigError(FlinkMlUdfError):
    """The application config is malformed: names the file, the entry and the key."""


class LoaderError(FlinkMlUdfError):
    """A bundle could not be fetched: names the source and the URI."""


class BundleError(FlinkMlUdfError):
    """A bundle is malformed or uses something unsupported: names the bundle, node and attribute."""


class ScoringError(FlinkMlUdfError):
    """Rows could not be scored: names the op, the column and the first failing row."""
