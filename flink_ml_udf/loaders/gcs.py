"""``gcs``: bundles in Google Cloud Storage (``pip install 'flink-ml-udf[gcs]'``).

Credentials are Application Default Credentials unless ``mleap.gcs`` names a ``credentials_file``
(service-account or authorized-user JSON: only its path travels to the workers) or sets
``anonymous: true`` (public buckets, emulators). Every call gets ``(connect_timeout, read_timeout)``
and ``retry=None``, and is retried here at most ``retries`` times on transient errors: the client's
own default retry keeps trying for up to 120 s, far too long for a job that is starting.
Pin a generation with ``version:`` or ``gs://bucket/key.zip#generation=123``.
"""

from __future__ import annotations

from typing import Any, List, Optional

from flink_ml_udf.dependency_warnings import ignoring_import_notices
from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.cache import HashingWriter
from flink_ml_udf.loaders.remote import PREFIX_VERSION, Location, RemoteLoader, RemoteObject, with_retries
from flink_ml_udf.sources import GcsSettings

READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


def _import_gcs():
    try:
        with ignoring_import_notices():  # google-auth's and api-core's notices about future versions
            import google.api_core.exceptions
            import google.auth
            import google.auth.credentials
            import google.auth.exceptions
            import google.auth.transport.requests
            import google.cloud.storage
            import requests.exceptions  # noqa: F401 - a dependency of google-cloud-storage, used in failure()
    except ImportError:
        raise LoaderError(
            "the gcs bundle source needs google-cloud-storage, which is not installed: pip install 'flink-ml-udf[gcs]'"
        ) from None
    return google.cloud.storage, google


class GcsLoader(RemoteLoader):
    source = "gcs"  # its row in flink_ml_udf/sources.py: URI scheme, version pin, settings

    def check_pin(self, uri: str, pin: Optional[str]) -> None:
        if pin is not None and not pin.isdigit() and not pin.startswith(PREFIX_VERSION):
            raise LoaderError(f"bundle {uri}: version {pin!r} is not a GCS generation (a number)")

    def make_client(self, settings: GcsSettings, uri: str) -> Any:
        storage, google = _import_gcs()
        try:
            if settings.anonymous:
                credentials, project = google.auth.credentials.AnonymousCredentials(), None
            elif settings.credentials_file:
                credentials, project = google.auth.load_credentials_from_file(
                    settings.credentials_file, scopes=[READ_ONLY_SCOPE]
                )
            else:
                credentials, project = google.auth.default(scopes=[READ_ONLY_SCOPE])
        except google.auth.exceptions.DefaultCredentialsError as exc:
            source = (
                f"credentials file {settings.credentials_file}"
                if settings.credentials_file
                else "Application Default Credentials"
            )
            raise LoaderError(
                f"bundle {uri}: no credentials: {source} unusable ({_first_line(exc)}); set mleap.gcs.credentials_file, "
                "or anonymous: true for public buckets"
            ) from None
        options = {"api_endpoint": settings.endpoint_url} if settings.endpoint_url else None
        # Token refreshes get the same bound; the client's own session would allow them 300 s.
        session = google.auth.transport.requests.AuthorizedSession(
            credentials, refresh_timeout=settings.connect_timeout + settings.read_timeout
        )
        # Downloads need no project; a placeholder keeps the client from probing the environment for one.
        return storage.Client(
            project=settings.project or project or "flink-ml-udf",
            credentials=credentials,
            client_options=options,
            _http=session,
        )

    def _call(self, settings: GcsSettings, call):
        return with_retries(call, settings.retries, _transient)

    def stat(self, client, settings, uri, loc: Location, pin: Optional[str]) -> Optional[RemoteObject]:
        if not loc.key:
            return None
        storage, google = _import_gcs()
        blob = client.bucket(loc.bucket).blob(loc.key, generation=int(pin) if pin else None)
        try:
            self._call(settings, lambda: blob.reload(timeout=_timeout(settings), retry=None))
        except google.api_core.exceptions.NotFound:
            if pin:
                raise self.missing(client, settings, uri, loc, pin) from None
            return None  # maybe a folder prefix without its trailing slash
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            raise self.failure(uri, exc) from None
        return RemoteObject(loc.key, str(blob.generation), int(blob.size or 0), blob.md5_hash)

    def list_prefix(self, client, settings, uri, loc: Location, prefix: str) -> List[RemoteObject]:
        def listing() -> List[RemoteObject]:
            blobs = client.list_blobs(loc.bucket, prefix=prefix, timeout=_timeout(settings), retry=None)
            return [RemoteObject(b.name, str(b.generation), int(b.size or 0), b.md5_hash) for b in blobs]

        try:
            return self._call(settings, listing)
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            storage, google = _import_gcs()
            if isinstance(exc, google.api_core.exceptions.NotFound):  # a listing 404s only for the bucket
                raise LoaderError(f"bundle {uri}: no such bucket {loc.bucket}") from None
            raise self.failure(uri, exc) from None

    def download(self, client, settings, uri, loc: Location, item: RemoteObject, writer: HashingWriter) -> None:
        blob = client.bucket(loc.bucket).blob(item.key, generation=int(item.version))

        def attempt() -> None:
            writer_start = writer.size
            if writer_start:  # a failed attempt wrote part of the object: the retry starts over
                raise LoaderError(
                    f"bundle {uri}: downloading {item.key}: the transfer broke after {writer_start} bytes"
                )
            # checksum=None: verify_download() compares size and MD5 itself, with one error message.
            blob.download_to_file(writer, timeout=_timeout(settings), retry=None, checksum=None, raw_download=True)

        try:
            self._call(settings, attempt)
        except LoaderError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            raise self.failure(uri, exc, key=item.key) from None

    def missing(self, client, settings, uri, loc: Location, pin: Optional[str]) -> LoaderError:
        storage, google = _import_gcs()
        try:
            exists = self._call(
                settings, lambda: client.bucket(loc.bucket).exists(timeout=_timeout(settings), retry=None)
            )
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            return self.failure(uri, exc)
        if not exists:
            return LoaderError(f"bundle {uri}: no such bucket {loc.bucket}")
        if pin:
            return LoaderError(f"bundle {uri}: no such version: generation {pin} of {loc.key} does not exist")
        return LoaderError(f"bundle {uri}: no such object or folder prefix in bucket {loc.bucket}")

    def failure(self, uri: str, exc: BaseException, key: Optional[str] = None) -> LoaderError:
        """One clear LoaderError for any google-cloud-storage / google-auth / requests failure."""
        storage, google = _import_gcs()
        import requests.exceptions as http

        api = google.api_core.exceptions
        where = f"bundle {uri}: " + (f"downloading {key}: " if key else "")
        corrupt = f"bundle {uri}: corrupt download" + (f" of {key}" if key else "")
        if isinstance(exc, google.auth.exceptions.DefaultCredentialsError):
            return LoaderError(where + f"no credentials: {_first_line(exc)}")
        if isinstance(exc, google.auth.exceptions.RefreshError):
            return LoaderError(
                where + f"access denied: the credentials were rejected when refreshing a token ({_first_line(exc)})"
            )
        if isinstance(exc, (http.ConnectTimeout, http.ReadTimeout)) or "timed out" in str(exc).lower():
            return LoaderError(where + f"timeout: {_first_line(exc)}")
        if isinstance(exc, (http.ChunkedEncodingError, http.ContentDecodingError)):
            return LoaderError(corrupt + f": the connection broke mid-transfer: {_first_line(exc)}")
        if isinstance(exc, (http.ConnectionError, google.auth.exceptions.TransportError)):
            return LoaderError(where + f"connection refused or unreachable: {_first_line(exc)}")
        if isinstance(exc, (api.Unauthorized, api.Forbidden)):
            return LoaderError(where + f"access denied ({exc.code}: {exc.message})")
        if isinstance(exc, api.NotFound):
            return LoaderError(where + f"no such object ({exc.message})")
        if isinstance(exc, api.GoogleAPICallError):
            return LoaderError(where + f"the server answered {exc.code}: {exc.message}")
        return LoaderError(where + f"{type(exc).__name__}: {_first_line(exc)}")


def _timeout(settings: GcsSettings):
    return (settings.connect_timeout, settings.read_timeout)


def _transient(exc: BaseException) -> bool:
    import requests.exceptions as http
    from google.api_core import exceptions as api

    if isinstance(exc, api.GoogleAPICallError):
        return exc.code in _TRANSIENT_STATUS
    return isinstance(exc, (http.ConnectionError, http.Timeout, http.ChunkedEncodingError))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
