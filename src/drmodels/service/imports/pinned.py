"""A source whose every read is pinned to the version the listing saw (If-Match the listed ETag).

Deep validation reads an S3 source through it while the copy runs: the copy is pinned to the same
ETags (CopySourceIfMatch), so the bytes validated are the bytes stored, read once, at the source,
instead of read back from the store after the copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from drmodels.adapters.ports import Source, SourceWrapper, read_capped
from drmodels.rules.objects import ObjectInfo


def pinnable(source: Source, objects: Iterable[ObjectInfo]) -> bool:
    """Every object has a version to pin and the source serves reads in parallel with the copy."""
    return source.concurrent_reads > 1 and all(o.etag for o in objects)


class Pinned(SourceWrapper):
    def __init__(self, inner: Source, objects: Iterable[ObjectInfo]) -> None:
        super().__init__(inner)
        self._etags = {o.key: o.etag for o in objects}

    def read(self, key: str, max_bytes: int) -> bytes:
        return read_capped(self, key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        return self.inner.open(key, if_match or self._etags.get(key))
