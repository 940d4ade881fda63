"""Cheaper S3 requests for the hot path, derived from a boto3 client (same endpoint, region, identity).

Measured on SeaweedFS (bench/README.md): boto3 spends ~1.2-1.5 ms of client CPU per request, obstore
(Rust) ~0.2 ms per GetObject, the AWS Common Runtime's S3 client ~0.4 ms per CopyObject. boto3 keeps
what it alone does well (STS, the error-rich paths, multipart writes); these clients serve the
streamed reads (`objects`, obstore) and the server-side copies (`Copier`, awscrt). Their failures are
turned into botocore `ClientError`s carrying the S3 error code, so adapters/s3/errors.py maps every
client's errors to the spec's codes in one place.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from awscrt import auth, http, s3
from awscrt import io as crt_io
from botocore.exceptions import ClientError, EndpointConnectionError
from obstore.store import S3Store as ObjectStore

_STATUS = re.compile(r"status code: (\d{3})|\b(\d{3}) [A-Z][a-z]+")
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_ETAG = re.compile(r"<ETag>([^<]+)</ETag>")
_LOCK = threading.Lock()
_COUNT = threading.Lock()
_OBJECTS: dict[tuple[int, str], ObjectStore] = {}
_COPIERS: dict[int, Copier] = {}


def as_client_error(text: str, operation: str, status: int | None = None) -> Exception:
    """A failure of obstore or awscrt as botocore would have raised it (code and message from S3's XML)."""
    found = _STATUS.search(text)
    if status is None and found:
        status = int(found.group(1) or found.group(2))
    code = _CODE.search(text)
    if status is None and code is None:
        unreachable: Exception = EndpointConnectionError(endpoint_url=text[:200])
        return unreachable
    message = _MESSAGE.search(text)
    failed: Exception = ClientError(
        {
            "Error": {
                "Code": code.group(1) if code else str(status),
                "Message": message.group(1) if message else "",
            },
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )
    return failed


def count(counter: Counter[str], operation: str) -> None:
    """Count one request sent by these clients (boto3's are counted by its own event hook)."""
    with _COUNT:
        counter[operation] += 1


def _credentials(client: Any) -> Any:
    """The botocore credentials the client signs with (refreshed by botocore when temporary)."""
    return client._request_signer._credentials


def objects(client: Any, bucket: str) -> ObjectStore:
    """An obstore store for `bucket`, reached as `client` reaches it (one per client and bucket)."""
    key = (id(client), bucket)
    with _LOCK:
        store = _OBJECTS.get(key)
        if store is None:
            credentials = _credentials(client)

            def provide() -> dict[str, Any]:
                frozen = credentials.get_frozen_credentials()
                expiry = getattr(credentials, "_expiry_time", None)
                return {
                    "access_key_id": frozen.access_key,
                    "secret_access_key": frozen.secret_key,
                    "token": frozen.token,
                    "expires_at": expiry.astimezone(UTC) if isinstance(expiry, datetime) else None,
                }

            endpoint = str(client.meta.endpoint_url)
            store = ObjectStore(
                bucket, endpoint=endpoint, region=client.meta.region_name,
                credential_provider=provide,  # type: ignore[arg-type]
                virtual_hosted_style_request=False,
                client_options={"allow_http": endpoint.startswith("http://"), "timeout": "60s"},
            )  # fmt: skip
            _OBJECTS[key] = store
        return store


class Stream(io.RawIOBase):
    """An obstore byte stream as a file object; a failure mid-stream becomes `error(exc)`."""

    def __init__(self, chunks: Iterator[Any], error: Any) -> None:
        self._chunks, self._error = chunks, error
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return 0
            except Exception as exc:
                raise self._error(exc) from exc
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class Copier:
    """CopyObject through the AWS Common Runtime's S3 client (C: signing, pooling, retries)."""

    def __init__(self, client: Any) -> None:
        parts = urlsplit(str(client.meta.endpoint_url))
        self._host = parts.netloc
        self._base = parts.path.rstrip("/")
        credentials = _credentials(client)

        def provide() -> auth.AwsCredentials:
            frozen = credentials.get_frozen_credentials()
            return auth.AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)

        provider = auth.AwsCredentialsProvider.new_delegate(provide)
        events = crt_io.EventLoopGroup(1)
        bootstrap = crt_io.ClientBootstrap(events, crt_io.DefaultHostResolver(events))
        self._client = s3.S3Client(
            bootstrap=bootstrap,
            region=client.meta.region_name,
            signing_config=s3.create_default_s3_signing_config(
                region=client.meta.region_name, credential_provider=provider
            ),
            tls_mode=s3.S3RequestTlsMode.DISABLED if parts.scheme == "http" else s3.S3RequestTlsMode.ENABLED,
            enable_s3express=False,
        )

    @classmethod
    def of(cls, client: Any) -> Copier:
        """One copier per boto3 client (each holds an event loop and a connection pool)."""
        with _LOCK:
            copier = _COPIERS.get(id(client))
            if copier is None:
                copier = _COPIERS[id(client)] = cls(client)
            return copier

    def copy(self, bucket: str, key: str, source_bucket: str, source_key: str, if_match: str | None) -> str:
        """Copy s3://source_bucket/source_key to s3://bucket/key; the new object's ETag.

        With `if_match`, S3 refuses (412) a source that is no longer that version.
        """
        headers = [
            ("host", self._host),
            ("x-amz-copy-source", quote(f"/{source_bucket}/{source_key}", safe="/~")),
            ("content-length", "0"),
        ]
        if if_match:
            headers.append(("x-amz-copy-source-if-match", f'"{if_match.strip(chr(34))}"'))
        path = f"{self._base}/{bucket}/{quote(key, safe='/~')}"
        request = http.HttpRequest("PUT", path, http.HttpHeaders(headers))
        body: list[bytes] = []
        status: Future[int] = Future()
        meta = self._client.make_request(
            type=s3.S3RequestType.DEFAULT,
            request=request,
            operation_name="CopyObject",
            on_headers=lambda status_code, headers, **_: (
                status.set_result(status_code) if not status.done() else None
            ),
            on_body=lambda chunk, **_: body.append(bytes(chunk)),
        )
        try:
            meta.finished_future.result()
        except Exception as exc:  # a status >= 300 or a connection failure
            text = b"".join(body).decode(errors="replace") or getattr(exc, "error_body", b"").decode(
                errors="replace"
            )
            code = getattr(exc, "response_status_code", None) or (status.result() if status.done() else None)
            raise as_client_error(text or str(exc), "CopyObject", code or None) from None
        text = b"".join(body).decode(errors="replace")
        if "<Error>" in text:  # S3 may answer 200 and fail in the body of a copy
            raise as_client_error(text, "CopyObject", 500)
        etag = _ETAG.search(text)
        return etag.group(1).replace("&quot;", "").strip('"') if etag else ""
