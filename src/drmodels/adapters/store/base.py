"""The ModelStore port: what the service needs from the place it keeps models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from drmodels.adapters.sources.base import Source
from drmodels.errors import StoreError
from drmodels.rules.objects import ObjectInfo

CHUNK = 1024 * 1024


class SizeMismatch(StoreError):
    """The stream gave a different number of bytes than announced (the source changed)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    checksum: str | None
    """'md5:<hex>' when the store knows the content's MD5, else 'etag:<the store's opaque ETag>'."""
    md5: str | None = None
    """The content's MD5 when the write computed it (also for multipart uploads)."""


def check_key(key: str) -> str:
    """A store key is relative, '/'-separated, with no empty, '.' or '..' segments."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StoreError(f"refusing store key {key!r}: keys are relative '/'-separated paths")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise StoreError(f"refusing store key {key!r}: no empty, '.' or '..' segments")
    return key


class ProgressFn(Protocol):
    def __call__(self, nbytes: int, /) -> None: ...


class CopyFn(Protocol):
    """Copies a listed object of a source to `dest` in the store; the source's failures are SourceError."""

    def __call__(
        self, info: ObjectInfo, dest: str, progress: ProgressFn | None = None, /
    ) -> StoredObject: ...


class ModelStore(Protocol):
    """A root of keys; every write stays under it."""

    @property
    def location(self) -> str: ...

    def write(
        self, key: str, stream: BinaryIO, size: int, progress: ProgressFn | None = None
    ) -> StoredObject:
        """Store exactly `size` bytes of `stream` under `key`, atomically (all or nothing)."""
        ...

    def copier(self, source: Source) -> CopyFn | None:
        """A server-side copy from `source` (no bytes pass through us), when the store can do one."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and checksum of a stored object, None when absent."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def scan(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under `prefix` (a folder key, no trailing '/'), checksums not computed."""
        ...

    def delete(self, keys: list[str]) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove everything under `prefix`, including half-written parts; returns the count."""
        ...

    def source(self, prefix: str) -> Source:
        """The objects under `prefix` as an import source (the virtual model)."""
        ...
