"""Byte-stream wrappers every layer shares: one Readable protocol and the few adapters on top of it."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any, Protocol


class Readable(Protocol):
    """Anything with `read(n)`: files, HTTP bodies, tar members, our own wrappers."""

    def read(self, n: int = -1, /) -> bytes: ...


class RawReader(io.RawIOBase):
    """A Readable as a raw binary stream (so io.BufferedReader can wrap it); closes what it wraps.

    `wrap` turns an exception met while reading into the caller's exception; without it, it
    propagates as it is.
    """

    def __init__(self, inner: Any, wrap: Callable[[Exception], Exception] | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._wrap = wrap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            chunk: bytes = self._inner.read(len(view))
        except Exception as exc:
            if self._wrap is None:
                raise
            raise self._wrap(exc) from exc
        view[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        super().close()


class Exactly(io.RawIOBase):
    """Exactly `size` bytes of `inner`, failing if it is shorter."""

    def __init__(self, inner: Readable, size: int, what: str = "the stream") -> None:
        super().__init__()
        self._inner = inner
        self._left = size
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        chunk = self._inner.read(min(len(buffer), self._left))
        if not chunk:
            raise OSError(f"{self._what} ended {self._left} bytes early")
        buffer[: len(chunk)] = chunk
        self._left -= len(chunk)
        return len(chunk)


class Counting:
    """Counts the bytes read through it; optionally their MD5 and a callback per read."""

    def __init__(
        self, inner: Readable, on_bytes: Callable[[int], None] | None = None, *, md5: bool = False
    ) -> None:
        self._inner = inner
        self._on_bytes = on_bytes
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        if data:
            self.count += len(data)
            if self._md5 is not None:
                self._md5.update(data)
            if self._on_bytes is not None:
                self._on_bytes(len(data))
        return data

    @property
    def md5(self) -> str:
        if self._md5 is None:
            raise ValueError("this Counting was made without md5=True")
        return self._md5.hexdigest()
