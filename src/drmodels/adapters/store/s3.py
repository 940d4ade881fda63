"""A model store in an S3 bucket (AWS, SeaweedFS, MinIO, Ceph): every key under one root prefix.

Small objects are one PutObject with Content-MD5 (the server checks it); large ones a multipart upload
that is aborted on failure. `copier` copies from an S3 source on the same endpoint with CopyObject
pinned to the listed ETag (CopySourceIfMatch), sent by the AWS Common Runtime (lean.py): no bytes
pass through us, and a third of boto3's client CPU per copy.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from drmodels.adapters.ports import (
    CHUNK,
    CopyFn,
    ProgressFn,
    SizeMismatch,
    Source,
    SourceError,
    StoredObject,
    check_key,
)
from drmodels.adapters.s3 import lean
from drmodels.adapters.s3.client import make_s3_client
from drmodels.adapters.s3.errors import source_error
from drmodels.adapters.sources.s3 import S3Source, parse_s3_url
from drmodels.errors import StoreError
from drmodels.formats.streams import RawReader
from drmodels.rules.objects import ObjectInfo

PART_SIZE = 16 * 1024 * 1024
SINGLE_PUT_MAX = PART_SIZE
COPY_OBJECT_MAX = 5 * 1024**3


def _checksum(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip('"').lower()
    return f"etag:{value}" if "-" in value or len(value) != 32 else f"md5:{value}"


class S3Store:
    def __init__(self, client: Any, bucket: str, root: str, requests: Counter[str] | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.root = root  # '' or ending with '/'
        self.requests = requests if requests is not None else Counter()

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        try:
            bucket, root = parse_s3_url(url)
            requests: Counter[str] = Counter()
            client = make_s3_client(counter=requests)
        except SourceError as exc:
            raise StoreError(f"model store {url}: {exc.message}") from exc
        store = cls(client, bucket, root, requests)
        store.check()
        return store

    def check(self) -> None:
        """One HeadBucket: a store that cannot be used is said now, not after an import's retries."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            why = {
                "404": "the bucket does not exist; create it first",
                "NoSuchBucket": "the bucket does not exist; create it first",
                "403": "access is denied to these credentials",
            }.get(code, f"HeadBucket failed ({exc})")
            raise StoreError(f"model store {self.location}: {why}") from None
        except BotoCoreError as exc:
            raise StoreError(f"model store {self.location} cannot be reached: {exc}") from None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}"

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    def full_key(self, key: str) -> str:
        return self.root + check_key(key)

    def _fail(self, what: str, key: str, exc: Exception) -> StoreError:
        return StoreError(f"model store: {what} s3://{self.bucket}/{self.root}{key} failed: {exc}")

    def write(
        self, key: str, stream: BinaryIO, size: int, progress: ProgressFn | None = None
    ) -> StoredObject:
        full = self.full_key(key)
        if size <= SINGLE_PUT_MAX:
            data = stream.read(size + 1)
            if len(data) != size:
                raise SizeMismatch(f"{key}: expected {size} bytes, the stream gave {len(data)}")
            md5 = hashlib.md5(data, usedforsecurity=False)
            try:
                resp = self.client.put_object(
                    Bucket=self.bucket,
                    Key=full,
                    Body=data,
                    ContentMD5=base64.b64encode(md5.digest()).decode(),
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail("PutObject of", key, exc) from exc
            if progress is not None:
                progress(size)
            return StoredObject(
                key, size, _checksum(resp.get("ETag")) or f"md5:{md5.hexdigest()}", md5.hexdigest()
            )
        return self._multipart(key, full, stream, size, progress)

    def _multipart(
        self, key: str, full: str, stream: BinaryIO, size: int, progress: ProgressFn | None
    ) -> StoredObject:
        try:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full)["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("CreateMultipartUpload of", key, exc) from exc
        whole = hashlib.md5(usedforsecurity=False)
        parts: list[dict[str, Any]] = []
        count = 0
        try:
            number = 1
            while True:
                buf = _read_up_to(stream, PART_SIZE)
                if not buf:
                    break
                count += len(buf)
                if count > size:
                    break
                whole.update(buf)
                part_md5 = base64.b64encode(hashlib.md5(buf, usedforsecurity=False).digest()).decode()
                try:
                    resp = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=buf,
                        ContentMD5=part_md5,
                    )
                except (ClientError, BotoCoreError) as exc:
                    raise self._fail("UploadPart of", key, exc) from exc
                parts.append({"PartNumber": number, "ETag": resp["ETag"]})
                if progress is not None:
                    progress(len(buf))
                number += 1
            if count != size:
                raise SizeMismatch(f"{key}: expected {size} bytes, the stream gave {count}")
            try:
                done = self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail("CompleteMultipartUpload of", key, exc) from exc
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):  # delete_prefix aborts leftovers
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            raise
        return StoredObject(key, size, _checksum(done.get("ETag")), whole.hexdigest())

    def copier(self, source: Source) -> CopyFn | None:
        return _copier(source, self)

    def stat(self, key: str) -> StoredObject | None:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail("HeadObject of", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("HeadObject of", key, exc) from exc
        return StoredObject(key, int(resp["ContentLength"]), _checksum(resp.get("ETag")))

    def open(self, key: str) -> BinaryIO:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("GetObject of", key, exc) from exc
        return io.BufferedReader(RawReader(body), buffer_size=CHUNK)

    def scan(self, prefix: str) -> Iterator[StoredObject]:
        full = self.full_key(prefix) + "/"
        cut = len(self.root)
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                for obj in page.get("Contents", ()):
                    yield StoredObject(obj["Key"][cut:], int(obj["Size"]), _checksum(obj.get("ETag")))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("ListObjectsV2 of", prefix, exc) from exc

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self.full_key(k)} for k in keys[i : i + 1000]]
            try:
                resp = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail("DeleteObjects under", keys[i], exc) from exc
            if resp.get("Errors"):
                raise StoreError(f"model store: could not delete {resp['Errors'][0]}")

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` and abort its unfinished multipart uploads."""
        full = self.full_key(prefix) + "/"
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                for upload in page.get("Uploads", ()):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("aborting uploads under", prefix, exc) from exc
        keys = [o.key for o in self.scan(prefix)]
        self.delete(keys)
        return len(keys)

    def source(self, prefix: str) -> Source:
        url = f"s3://{self.bucket}/{self.full_key(prefix)}/"
        return S3Source(url, self.bucket, self.full_key(prefix) + "/", self.client, None, self.requests)


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left > 0:
        chunk = stream.read(min(left, CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _copier(source: Source, store: S3Store) -> CopyFn | None:
    """CopyObject from an S3 source into an S3 store on the same endpoint, read with the same identity.

    A source read through an assumed role is streamed instead: our identity may not read it.
    """
    if not isinstance(source, S3Source) or source.role_arn:
        return None
    if str(source.client.meta.endpoint_url) != store.endpoint:
        return None

    def copy(info: ObjectInfo, dest: str, progress: ProgressFn | None = None) -> StoredObject:
        if info.size > COPY_OBJECT_MAX:
            return _copy_parts(source, store, info, dest, progress)
        lean.count(store.requests, "CopyObject")
        try:
            etag = lean.Copier.of(store.client).copy(
                store.bucket, store.full_key(dest), source.bucket, source.prefix + info.key, info.etag
            )
        except (ClientError, BotoCoreError) as exc:
            raise _copy_error(exc, source, info) from exc
        if progress is not None:
            progress(info.size)
        checksum = _checksum(etag)
        md5 = checksum.removeprefix("md5:") if checksum and checksum.startswith("md5:") else None
        return StoredObject(dest, info.size, checksum, md5)

    return copy


def _copy_parts(
    source: S3Source, store: S3Store, info: ObjectInfo, dest: str, progress: ProgressFn | None
) -> StoredObject:
    full = store.full_key(dest)
    part = 512 * 1024 * 1024
    upload_id = store.client.create_multipart_upload(Bucket=store.bucket, Key=full)["UploadId"]
    parts = []
    try:
        for number, start in enumerate(range(0, info.size, part), start=1):
            end = min(info.size, start + part) - 1
            try:
                resp = store.client.upload_part_copy(
                    Bucket=store.bucket, Key=full, UploadId=upload_id, PartNumber=number,
                    CopySourceRange=f"bytes={start}-{end}", **_copy_source(source, info),
                )  # fmt: skip
            except (ClientError, BotoCoreError) as exc:
                raise _copy_error(exc, source, info) from exc
            parts.append({"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]})
            if progress is not None:
                progress(end - start + 1)
        done = store.client.complete_multipart_upload(
            Bucket=store.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        store.client.abort_multipart_upload(Bucket=store.bucket, Key=full, UploadId=upload_id)
        raise
    return StoredObject(dest, info.size, _checksum(done.get("ETag")))


def _copy_source(source: S3Source, info: ObjectInfo) -> dict[str, Any]:
    """The copy's source, pinned to the listed ETag when there is one."""
    args: dict[str, Any] = {"CopySource": {"Bucket": source.bucket, "Key": source.prefix + info.key}}
    if info.etag:
        args["CopySourceIfMatch"] = info.etag
    return args


def _copy_error(exc: Exception, source: S3Source, info: ObjectInfo) -> SourceError:
    """A failed copy as the source's error: a 412 (CopySourceIfMatch) is MODEL_VALIDATION_SERVICE_ERROR."""
    return source_error(exc, source.bucket, source.prefix + info.key, action="s3:GetObject", path=info.key)
