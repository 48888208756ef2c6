"""``s3``: bundles in Amazon S3 or an S3-compatible server (``pip install 'flink-ml-udf[s3]'``).

Credentials come from boto3's standard chain unless ``mleap.s3`` names a ``profile`` or a
``credentials_file`` (a shared-credentials file: only its path travels to the workers) or sets
``anonymous: true``. Every request has the configured connect/read timeouts and at most
``retries`` retries (botocore's "standard" mode: transient errors and throttling only).
Pin a version with ``version:`` or ``s3://bucket/key.zip?versionId=...``.
"""

from __future__ import annotations

import base64
import re
from typing import Any, List, Optional

from flink_ml_udf.errors import LoaderError
from flink_ml_udf.loaders.cache import HashingWriter
from flink_ml_udf.loaders.remote import Location, RemoteLoader, RemoteObject
from flink_ml_udf.sources import S3Settings

_PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')
_TOTAL_SIZE = re.compile(r"/(\d+)$")
_CHUNK = 1 << 20

_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}


def _import_boto3():
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
        import botocore.session
    except ImportError:
        raise LoaderError(
            "the s3 bundle source needs boto3, which is not installed: pip install 'flink-ml-udf[s3]'"
        ) from None
    return boto3, botocore


class S3Loader(RemoteLoader):
    source = "s3"  # its row in flink_ml_udf/sources.py: URI scheme, version pin, settings

    def make_client(self, settings: S3Settings, uri: str) -> Any:
        boto3, botocore = _import_boto3()
        try:
            core = botocore.session.Session(profile=settings.profile)
            if settings.credentials_file:
                core.set_config_variable("credentials_file", settings.credentials_file)
            session = boto3.session.Session(botocore_session=core, region_name=settings.region)
            config = botocore.config.Config(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries={"total_max_attempts": settings.retries + 1, "mode": "standard"},
                s3={"addressing_style": settings.addressing_style},
                signature_version=botocore.UNSIGNED if settings.anonymous else None,
            )
            return session.client("s3", endpoint_url=settings.endpoint_url, config=config)
        except botocore.exceptions.ProfileNotFound:
            raise LoaderError(
                f"bundle {uri}: no credentials: AWS profile {settings.profile!r} is not configured"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise LoaderError(f"bundle {uri}: cannot create an S3 client: {exc}") from None

    def stat(self, client, settings, uri, loc: Location, pin: Optional[str]) -> Optional[RemoteObject]:
        # A one-byte ranged GET rather than HEAD: error responses to GET carry the S3 error code
        # (NoSuchBucket vs NoSuchKey vs AccessDenied), HEAD's carry only the HTTP status.
        if not loc.key:
            return None
        arguments = {"Bucket": loc.bucket, "Key": loc.key, "Range": "bytes=0-0"}
        if pin and pin.startswith("etag:"):
            # An unversioned bucket keeps only the latest object: an ETag pin holds while it is unchanged.
            arguments["IfMatch"] = '"' + pin[len("etag:") :] + '"'
        elif pin:
            arguments["VersionId"] = pin
        try:
            response = client.get_object(**arguments)
            response["Body"].close()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised when unknown
            code = _error_code(exc)
            if code in ("NoSuchKey", "404") and not pin:
                return None  # maybe a folder prefix without its trailing slash
            if code == "PreconditionFailed" and "IfMatch" in arguments:
                return self.stat(client, settings, uri, loc, None)  # the caller reports expected vs found
            if code == "InvalidRange":  # a zero-byte object: nothing to score from
                raise LoaderError(f"bundle {uri}: corrupt download: the object is empty") from None
            raise self.failure(uri, exc, pin) from None
        match = _TOTAL_SIZE.search(response.get("ContentRange", ""))
        size = int(match.group(1)) if match else int(response["ContentLength"])
        version = response.get("VersionId")
        etag = response.get("ETag", "")
        resolved = version if version and version != "null" else f"etag:{etag.strip(chr(34))}"
        encrypted = response.get("ServerSideEncryption") == "aws:kms" or response.get("SSECustomerAlgorithm")
        return RemoteObject(loc.key, resolved, size, None if encrypted else _md5_of(etag))

    def list_prefix(self, client, settings, uri, loc: Location, prefix: str) -> List[RemoteObject]:
        objects: List[RemoteObject] = []
        arguments = {"Bucket": loc.bucket, "Prefix": prefix}
        try:
            while True:
                page = client.list_objects_v2(**arguments)
                for item in page.get("Contents", []):
                    etag = item.get("ETag", "")
                    # A listing does not say whether an object is KMS-encrypted (whose ETag is no MD5):
                    # prefix objects are checked by size, and by botocore's checksums where stored.
                    objects.append(RemoteObject(item["Key"], f"etag:{etag.strip(chr(34))}", int(item["Size"])))
                if not page.get("IsTruncated"):
                    return objects
                arguments["ContinuationToken"] = page["NextContinuationToken"]
        except LoaderError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            raise self.failure(uri, exc, None) from None

    def download(self, client, settings, uri, loc: Location, item: RemoteObject, writer: HashingWriter) -> None:
        arguments = {"Bucket": loc.bucket, "Key": item.key}
        if item.version.startswith("etag:"):
            arguments["IfMatch"] = '"' + item.version[len("etag:") :] + '"'  # the object changed since stat/list
        else:
            arguments["VersionId"] = item.version
        try:
            body = client.get_object(**arguments)["Body"]
            try:
                for block in body.iter_chunks(_CHUNK):
                    writer.write(block)
            finally:
                body.close()
        except Exception as exc:  # noqa: BLE001 - classified by failure()
            raise self.failure(uri, exc, None, key=item.key) from None

    def missing(self, client, settings, uri, loc: Location, pin: Optional[str]) -> LoaderError:
        # Reached after a listing of the bucket succeeded: the bucket exists, the key does not.
        return LoaderError(f"bundle {uri}: no such object or folder prefix in bucket {loc.bucket}")

    def failure(self, uri: str, exc: BaseException, pin: Optional[str], key: Optional[str] = None) -> LoaderError:
        """One clear LoaderError for any boto3/botocore failure: cause first, server detail after."""
        _, botocore = _import_boto3()
        errors = botocore.exceptions
        where = f"bundle {uri}: " + (f"downloading {key}: " if key else "")
        corrupt = f"bundle {uri}: corrupt download" + (f" of {key}" if key else "")
        if isinstance(exc, (errors.NoCredentialsError, errors.PartialCredentialsError)):
            return LoaderError(
                where + "no credentials: none found in the environment, shared credentials file or profile "
                "(set mleap.s3.profile or credentials_file, or anonymous: true for public buckets)"
            )
        if isinstance(exc, (errors.ConnectTimeoutError, errors.ReadTimeoutError)):
            return LoaderError(where + f"timeout: {exc}")
        if isinstance(exc, errors.EndpointConnectionError):
            return LoaderError(where + f"connection refused or unreachable: {exc}")
        if isinstance(exc, (errors.ConnectionClosedError, errors.ResponseStreamingError, errors.IncompleteReadError)):
            return LoaderError(corrupt + f": the connection broke mid-transfer: {exc}")
        if isinstance(exc, errors.FlexibleChecksumError):
            return LoaderError(corrupt + f": {exc}")
        code = _error_code(exc)
        detail = _error_message(exc)
        if code == "NoSuchBucket":
            return LoaderError(where + f"no such bucket {uri[len('s3://') :].split('/', 1)[0]}")
        if code in ("NoSuchVersion", "InvalidArgument") and pin:
            return LoaderError(where + f"no such version {pin} ({code}: {detail})")
        if code in ("NoSuchKey", "404"):
            return LoaderError(
                where + (f"no such version {pin} of the object" if pin else "no such object") + f" ({code})"
            )
        if code == "PreconditionFailed":
            return LoaderError(where + "the object changed during the download; load again")
        if code in _BAD_CREDENTIALS:
            return LoaderError(where + f"access denied: the credentials were rejected ({code}: {detail})")
        if code in _DENIED:
            return LoaderError(where + f"access denied ({code}: {detail})")
        if code is not None:
            return LoaderError(where + f"the server answered {code}: {detail}")
        return LoaderError(where + f"{type(exc).__name__}: {exc}")


def _error_code(exc: BaseException) -> Optional[str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    return None


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message") or exc)


def _md5_of(etag: str) -> Optional[str]:
    """The base64 MD5 of an object whose ETag looks like a plain MD5 (not a multipart upload's)."""
    match = _PLAIN_MD5_ETAG.match(etag or "")
    if match is None:
        return None
    return base64.b64encode(bytes.fromhex(match.group(1))).decode()
