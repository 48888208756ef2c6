"""The one interface every bundle source implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:
    from flink_ml_udf.sources import RemoteSettings


@dataclass(frozen=True)
class LocalBundle:
    """A bundle fetched to this host: a local folder or zip, and the version it resolved to."""

    path: str
    version: str
    uri: str
    in_place: bool = False  # the path is the store itself (a local file), not an immutable cache entry


class BundleLoader(Protocol):
    """Turns a bundle URI (and an optional pinned version) into a verified local bundle.

    Loaders raise :class:`~flink_ml_udf.errors.LoaderError` naming the URI and the cause.
    ``settings`` is the entry's ``mleap.<source>`` section (endpoint, credentials, timeouts, cache): the
    settings dataclass of the source's row in :mod:`flink_ml_udf.sources`, None for the defaults (or a
    source without settings).
    """

    source: str  # its row in flink_ml_udf/sources.py

    def fetch(
        self, uri: str, version: Optional[str] = None, settings: Optional["RemoteSettings"] = None
    ) -> LocalBundle:
        """The bundle at ``version`` (its current version when None), verified, on this host.
        A pinned version that the store no longer has (or a local file that changed) is a
        LoaderError naming the expected and the found version, never a silent switch."""
        ...

    def resolve(self, uri: str, settings: Optional["RemoteSettings"] = None) -> str:
        """The bundle's current version in the store, from one metadata request (or one listing)
        and no download: what a reload poller asks every interval."""
        ...


def version_changed(uri: str, expected: str, found: str) -> str:
    """The message for a pinned bundle whose store has moved on."""
    return (
        f"bundle {uri}: version {expected} was pinned (resolved when the job was submitted), but the store now "
        f"has version {found}; publish model updates through 'reload' or 'control' instead of replacing a "
        "pinned bundle"
    )
