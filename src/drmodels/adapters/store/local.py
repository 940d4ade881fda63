"""A model store in a local folder; writes go to a part file in ROOT/.parts/, renamed into place.

Part files live apart from the models, so any name a key may have (up to 255 bytes) is written as is
(no suffix to make it longer), and no file of a model can be mistaken for a part file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from drmodels.adapters.ports import (
    CHUNK,
    CopyFn,
    ProgressFn,
    SizeMismatch,
    Source,
    SourceError,
    StoredObject,
    check_key,
    read_capped,
)
from drmodels.adapters.sources.folder import CONCURRENT_READS
from drmodels.errors import StoreError
from drmodels.formats.streams import Counting
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

PARTS = ".parts"
"""Folder under the store root for files being written (never a key: keys start with models/)."""
STALE_PART_S = 24 * 3600
"""A part file this old was left by a process that died mid-write; it is removed when a store opens."""


def file_md5(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
    return md5.hexdigest()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.parts = self.root / PARTS
        self.parts.mkdir(exist_ok=True)
        self._remove_stale_parts()

    def _remove_stale_parts(self) -> None:
        cutoff = time.time() - STALE_PART_S
        for part in self.parts.iterdir():
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()

    @classmethod
    def from_url(cls, url: str) -> LocalStore:
        """`file:///abs/path`, `file://rel/path` or a plain path."""
        scheme, sep, rest = url.partition("://")
        return cls(Path(rest if sep and scheme.lower() == "file" else url))

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise StoreError(f"refusing store key {key!r}: it leaves the store root")
        return path

    def write(
        self, key: str, stream: BinaryIO, size: int, progress: ProgressFn | None = None
    ) -> StoredObject:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = self.parts / uuid.uuid4().hex
        reader = Counting(stream, progress, md5=True)
        try:
            with part.open("wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                    if reader.count > size:
                        break
            if reader.count != size:
                raise SizeMismatch(f"{key}: expected {size} bytes, the stream gave {reader.count}")
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return StoredObject(key, size, f"md5:{reader.md5}", reader.md5)

    def copier(self, source: Source) -> CopyFn | None:
        return None  # every byte is written by `write`

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return StoredObject(key, path.stat().st_size, f"md5:{file_md5(path)}")

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def scan(self, prefix: str) -> Iterator[StoredObject]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                rel = path.relative_to(self.root).as_posix()
                yield StoredObject(rel, path.stat().st_size, None)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix)
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base)
        return count

    def source(self, prefix: str) -> Source:
        return LocalStoreSource(self, prefix)


class LocalStoreSource:
    """A prefix of a LocalStore read as an import source (used for downloads and re-checks)."""

    def __init__(self, store: LocalStore, prefix: str) -> None:
        self._store = store
        self._prefix = check_key(prefix)

    @property
    def location(self) -> str:
        return str(self._store.root / self._prefix)

    @property
    def concurrent_reads(self) -> int:
        return CONCURRENT_READS

    def list(self) -> Iterator[ObjectInfo]:
        cut = len(self._prefix) + 1
        for obj in self._store.scan(self._prefix):
            yield ObjectInfo(obj.key[cut:], obj.size, None)

    def read(self, key: str, max_bytes: int) -> bytes:
        return read_capped(self, key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        try:
            return self._store.open(f"{self._prefix}/{key}")
        except FileNotFoundError as exc:
            raise SourceError(
                Code.FILE_DOES_NOT_EXIST, f"{key} is not in the store", "Re-import the model.", key
            ) from exc
