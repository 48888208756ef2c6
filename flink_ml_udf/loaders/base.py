"""The one interface every bundle source implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:
    from flink_ml_udf.config import SourceSettings


@dataclass(frozen=True)
class LocalBundle:
    """A bundle fetched to this host: a local folder or zip, and the version it resolved to."""

    path: str
    version: str
    uri: str


class BundleLoader(Protocol):
    """Turns a bundle URI (and an optional pinned version) into a verified local bundle.

    Loaders raise :class:`~flink_ml_udf.errors.LoaderError` naming the URI and the cause.
    ``settings`` is the entry's ``mleap.<source>`` section (endpoint, credentials, timeouts, cache).
    """

    source: str

    def fetch(
        self, uri: str, version: Optional[str] = None, settings: Optional["SourceSettings"] = None
    ) -> LocalBundle: ...
