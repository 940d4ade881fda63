"""Copy one planned object from a source into the store: pinned to its listed ETag, retried with backoff.

The source side failing for good is S3_COPY_ERROR; our own side (the store) failing is SERVICE_ERROR;
an object whose size or ETag changed since the listing is MODEL_VALIDATION_SERVICE_ERROR.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, BinaryIO

from drmodels.adapters.sources.base import Source, SourceError
from drmodels.adapters.store.base import ModelStore, ProgressFn, SizeMismatch, StoredObject
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
PERMANENT = frozenset(
    {
        Code.FILE_DOES_NOT_EXIST,
        Code.ACCESS_DENIED_TO_BUCKET,
        Code.SRC_BUCKET_DOES_NOT_EXIST,
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
        Code.MODEL_VALIDATION_SERVICE_ERROR,
    }
)


@dataclass
class CopyFailed(Exception):
    code: Code
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.code}: {self.key}: {self.message}"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 0.2
    factor: float = 3.0


def plain_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, when it is a single-part ETag."""
    if etag is None:
        return None
    value = etag.strip('"').lower()
    return value if MD5_ETAG.match(value) else None


class _SourceSide(Exception):
    """A read from the source failed while streaming (as opposed to our write)."""

    def __init__(self, inner: BaseException) -> None:
        super().__init__(str(inner))
        self.inner = inner


class _Guarded:
    """Marks exceptions raised while reading the source, so they are told apart from store failures."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def read(self, n: int = -1) -> bytes:
        try:
            return self._inner.read(n)
        except Exception as exc:
            raise _SourceSide(exc) from exc


def edited(info: ObjectInfo, detail: str = "") -> CopyFailed:
    return CopyFailed(
        Code.MODEL_VALIDATION_SERVICE_ERROR,
        info.key,
        f"it changed after it was listed (ETag {info.etag}){detail}: the file was edited during the import",
        "Leave the model's files untouched while it is imported, then retry the import.",
    )


def open_pinned(source: Source, info: ObjectInfo) -> BinaryIO:
    """Open `info.key`, refusing a version other than the listed one (GetObject If-Match on S3)."""
    from drmodels.adapters.sources.s3 import S3Source

    if isinstance(source, S3Source) and info.etag:
        return _s3_get_if_match(source, info)
    return source.open(info.key)


def _s3_get_if_match(source: Any, info: ObjectInfo) -> BinaryIO:
    from botocore.exceptions import BotoCoreError, ClientError

    from drmodels.adapters.s3.client import source_error

    key = source.prefix + info.key
    try:
        body = source.client.get_object(Bucket=source.bucket, Key=key, IfMatch=info.etag)["Body"]
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("PreconditionFailed", "412"):
            raise edited(info) from exc
        raise source_error(
            exc, source.bucket, key, action="s3:GetObject", role_arn=source.role_arn, path=info.key
        ) from exc
    except BotoCoreError as exc:
        raise source_error(exc, source.bucket, key, action="s3:GetObject", path=info.key) from exc
    return _BotoBody(body)  # type: ignore[return-value]


class _BotoBody:
    """A StreamingBody as a readable, closable binary stream."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._body.read(None if n < 0 else n)
        return data

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _BotoBody:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def stream_copy(
    source: Source, info: ObjectInfo, store: ModelStore, dest: str, progress: ProgressFn | None
) -> StoredObject:
    """One attempt: stream the object into the store and check what arrived against the listing."""
    try:
        raw = open_pinned(source, info)
    except CopyFailed:
        raise
    except SourceError as exc:
        raise _SourceSide(exc) from exc
    with raw:
        stored = store.write(dest, _Guarded(raw), info.size, progress)  # type: ignore[arg-type]
    expected = plain_md5(info.etag)
    got = stored.md5
    if expected and got and expected != got:
        store.delete([dest])
        raise CopyFailed(
            Code.MODEL_VALIDATION_SERVICE_ERROR,
            info.key,
            f"the content read (MD5 {got}) is not the one listed (ETag {expected}): "
            "the file was changed while the model was being imported",
            "Leave the model's files untouched during the import, then retry it.",
        )
    return stored


def copy_with_retry(
    source: Source,
    info: ObjectInfo,
    store: ModelStore,
    dest: str,
    progress: ProgressFn | None = None,
    policy: RetryPolicy = RetryPolicy(),
    server_side: Any = None,
) -> StoredObject:
    """Copy with backoff; `server_side(info, dest)` is used instead of streaming when given."""
    delay = policy.first_delay
    last: BaseException | None = None
    side = "source"
    for attempt in range(policy.attempts):
        if attempt:
            time.sleep(delay)
            delay *= policy.factor
        try:
            if server_side is not None:
                result: StoredObject = server_side(info, dest, progress)
                return result
            return stream_copy(source, info, store, dest, progress)
        except CopyFailed:
            raise
        except _SourceSide as exc:
            inner = exc.inner
            if isinstance(inner, SourceError) and inner.code in PERMANENT:
                raise _as_failed(inner, info.key) from inner
            last, side = inner, "source"
        except SourceError as exc:
            if exc.code in PERMANENT:
                raise _as_failed(exc, info.key) from exc
            last, side = exc, "source"
        except Exception as exc:  # our own side: disk or store bucket
            if isinstance(exc, SizeMismatch):
                raise CopyFailed(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    info.key,
                    f"the object no longer has the listed size of {info.size} bytes ({exc}): "
                    "it was changed while the model was being imported",
                    "Leave the model's files untouched during the import, then retry it.",
                ) from exc
            last, side = exc, "store"
    if side == "store":
        raise CopyFailed(
            Code.SERVICE_ERROR,
            info.key,
            f"writing to our model store failed {policy.attempts} times: {last}",
            "Check the store (disk space, store bucket) and retry the import.",
        )
    raise CopyFailed(
        Code.S3_COPY_ERROR,
        info.key,
        f"copying it failed {policy.attempts} times: {last}",
        "Retry the import; if it keeps failing, check that the source is reachable.",
    )


def _as_failed(exc: SourceError, key: str) -> CopyFailed:
    return CopyFailed(exc.code, exc.path or key, exc.message, exc.fix)
