"""Exception types.

Every error carries the path to the fault in its message, outermost first, joined with
`` → ``: ``UDF 'Predict' → bundle models/x.zip → node string_indexer_3 → attribute labels: ...``.
Callers add their own step with :meth:`FlinkMlUdfError.within` instead of wrapping the text by hand,
so the chain reads the same wherever it is raised.
"""

from __future__ import annotations


class FlinkMlUdfError(Exception):
    """Base class of every error this package raises on purpose."""

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
