"""A source that fetches the control files in parallel right after the listing, and keeps them.

The inspection then reads them from memory, and the metadata is not fetched twice: the same requests
as a sequential inspection, in a fraction of the time on S3.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from drmodels.adapters.ports import Source, SourceError, SourceWrapper
from drmodels.rules.inspect import control_keys
from drmodels.rules.limits import Limits
from drmodels.rules.objects import ObjectInfo


class Prefetching(SourceWrapper):
    def __init__(self, inner: Source, limits: Limits) -> None:
        super().__init__(inner)
        self._limits = limits
        self._read: dict[str, bytes] = {}

    def list(self) -> Iterator[ObjectInfo]:
        objects = list(self.inner.list())
        keys = control_keys(objects, self._limits)
        threads = min(self.inner.concurrent_reads, len(keys))
        if threads > 1:
            max_bytes = self._limits.control_read_bytes
            with ThreadPoolExecutor(threads, thread_name_prefix="control") as pool:
                fetched = list(pool.map(lambda k: self._try_read(k, max_bytes), keys))
            for key, data in zip(keys, fetched, strict=True):
                if data is not None:
                    self._read[key] = data
        return iter(objects)

    def _try_read(self, key: str, max_bytes: int) -> bytes | None:
        try:
            return self.inner.read(key, max_bytes)
        except SourceError:
            return None  # the inspection reads it again and reports the error

    def read(self, key: str, max_bytes: int) -> bytes:
        data = self._read.get(key)
        if data is None or len(data) > max_bytes:
            data = self.inner.read(key, max_bytes)
            self._read[key] = data
        return data
