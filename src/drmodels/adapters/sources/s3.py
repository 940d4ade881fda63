"""A model source at s3://bucket/prefix: one paginated listing, ranged reads, streamed opens."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import obstore
from botocore.exceptions import BotoCoreError, ClientError

from drmodels.adapters.ports import CHUNK, SourceError
from drmodels.adapters.s3 import lean
from drmodels.adapters.s3.client import make_s3_client
from drmodels.adapters.s3.errors import source_error
from drmodels.rules.limits import human_size
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

if TYPE_CHECKING:
    from obstore import GetOptions

# Characters AWS and botocore accept in bucket names (legacy us-east-1 names included).
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$")
_CONTENT_RANGE_TOTAL = re.compile(r"/(\d+)\s*$")
CONCURRENT_READS = 8
"""Reads worth overlapping: each is a network round trip; boto3 clients are thread-safe."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix; prefix without leading '/', one trailing '/' or ''."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "s3":
        raise SourceError(
            Code.FILE_DOES_NOT_EXIST,
            f"{url!r} is not an S3 URL.",
            "Write the model's location as s3://BUCKET/PREFIX.",
        )
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise SourceError(
            Code.SRC_BUCKET_DOES_NOT_EXIST,
            f"{url!r} does not name a valid bucket ({bucket!r}).",
            "Write the location as s3://BUCKET/PREFIX, where BUCKET is an existing bucket's name "
            "(3-63 characters: lower-case letters, digits, dots and hyphens).",
        )
    prefix = prefix.lstrip("/").rstrip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Source:
    """The objects under s3://bucket/prefix/, read with the default AWS credentials or a role's."""

    def __init__(
        self, url: str, bucket: str, prefix: str, client: Any, role_arn: str | None, requests: Counter[str]
    ) -> None:
        self._url = url
        self.bucket = bucket
        self.prefix = prefix
        self.role_arn = role_arn
        self.requests = requests
        """Requests sent, by operation name (ListObjectsV2, GetObject, HeadObject, AssumeRole)."""
        self._client = client

    @classmethod
    def from_url(cls, url: str, role_arn: str | None = None) -> S3Source:
        """Parse the URL and build the client; with `role_arn`, AssumeRole happens here."""
        bucket, prefix = parse_s3_url(url)
        requests: Counter[str] = Counter()
        client = make_s3_client(role_arn=role_arn, counter=requests)
        return cls(url, bucket, prefix, client, role_arn, requests)

    @property
    def location(self) -> str:
        return self._url

    @property
    def concurrent_reads(self) -> int:
        return CONCURRENT_READS

    @property
    def client(self) -> Any:
        """The boto3 S3 client (with the role's credentials), for copies by the import pipeline."""
        return self._client

    def _error(self, exc: Exception, key: str | None, action: str) -> SourceError:
        path = "" if key is None else key[len(self.prefix) :]
        return source_error(exc, self.bucket, key, action=action, role_arn=self.role_arn, path=path)

    def list(self) -> Iterator[ObjectInfo]:
        """Every object under the prefix (one paginated ListObjectsV2), folder markers skipped."""
        found = False
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    key: str = obj["Key"]
                    size = int(obj.get("Size", 0))
                    found = True
                    if key.endswith("/") and size == 0:
                        continue
                    etag = obj.get("ETag")
                    yield ObjectInfo(key[len(self.prefix) :], size, etag.strip('"') if etag else None)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, self.prefix, "s3:ListBucket") from None
        if not found and self.prefix:
            self._refuse_if_file()

    def _refuse_if_file(self) -> None:
        """An empty listing: if the prefix names an object, the user gave a file, not a folder."""
        key = self.prefix.rstrip("/")
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return  # absent, or not allowed to look: the empty listing stands
        except BotoCoreError as exc:
            raise self._error(exc, key, "s3:GetObject") from None
        parent = key.rpartition("/")[0]
        if parent.rpartition("/")[2] in {"model", "ip"}:
            parent = parent.rpartition("/")[0]
        suggestion = f"s3://{self.bucket}/{parent}" if parent else f"s3://{self.bucket}"
        raise SourceError(
            Code.FILE_DOES_NOT_EXIST,
            f"s3://{self.bucket}/{key} is a file, not a folder: the location must be the folder (prefix) "
            f"of the model.",
            f"Pass the folder that holds model/ and ip/ (perhaps {suggestion}), not a file inside it.",
        )

    def _full_key(self, key: str) -> str:
        return self.prefix + key

    def read(self, key: str, max_bytes: int) -> bytes:
        """The whole object, in one ranged GET that never transfers more than max_bytes."""
        full = self._full_key(key)
        try:
            try:
                resp = self._client.get_object(
                    Bucket=self.bucket, Key=full, Range=f"bytes=0-{max(max_bytes - 1, 0)}"
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                # An empty object has no byte 0: S3 answers 416, with its size in the reply.
                if _unsatisfiable_size(exc.response) == 0:
                    return b""
                resp = self._client.get_object(Bucket=self.bucket, Key=full)
            total = _total_size(resp)
            body = resp["Body"]
            try:
                if total is None or total > max_bytes:
                    raise self._too_large(key, total, max_bytes)
                data: bytes = body.read(max_bytes)
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, full, "s3:GetObject") from None
        return data

    def _too_large(self, key: str, size: int | None, max_bytes: int) -> SourceError:
        what = (
            "of unknown size (the server sent part of it without Content-Range)"
            if size is None
            else _size(size)
        )
        return SourceError(
            Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED,
            f"s3://{self.bucket}/{self._full_key(key)} is {what}, over the limit of "
            f"{_size(max_bytes)} for this file; it was not read.",
            f"Replace {key} with the file training wrote (under {_size(max_bytes)}), or raise the limit "
            f"if this file is legitimately that large.",
            key,
        )

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        """A buffered stream of the object (GetObject, If-Match when given); errors become SourceError.

        Read through obstore (lean.py): a fifth of boto3's client CPU per request and per byte.
        """
        full = self._full_key(key)

        def failed(exc: Exception) -> SourceError:
            return self._error(lean.as_client_error(str(exc), "GetObject"), full, "s3:GetObject")

        options: GetOptions = {"if_match": f'"{if_match.strip(chr(34))}"'} if if_match else {}
        lean.count(self.requests, "GetObject")
        try:
            result = obstore.get(lean.objects(self._client, self.bucket), full, options=options)
        except Exception as exc:
            raise failed(exc) from None
        return io.BufferedReader(lean.Stream(iter(result.stream(CHUNK)), failed), buffer_size=CHUNK)


def _unsatisfiable_size(response: dict[str, Any]) -> int | None:
    """The object size a 416 reports: `Content-Range: bytes */N` or AWS's <ActualObjectSize>."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    match = _CONTENT_RANGE_TOTAL.search(str(headers.get("content-range") or ""))
    size = match.group(1) if match else response.get("Error", {}).get("ActualObjectSize")
    return int(size) if size is not None and str(size).isdigit() else None


def _total_size(resp: dict[str, Any]) -> int | None:
    """The object's size: from Content-Range on a 206, ContentLength on a 200; None if unknowable."""
    match = _CONTENT_RANGE_TOTAL.search(str(resp.get("ContentRange") or ""))
    if match:
        return int(match.group(1))
    if resp.get("ResponseMetadata", {}).get("HTTPStatusCode") == 206:
        return None  # partial content without its total: it may be truncated
    return int(resp.get("ContentLength") or 0)


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{human_size(n)} ({n} bytes)"
