"""A model folder on the local disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from drmodels.adapters.ports import SourceError, not_listed, read_capped
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

CONCURRENT_READS = 8
"""Each read opens its own file handle."""


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class FolderSource:
    """Every regular file below a folder; links are not followed, so nothing outside is read."""

    def __init__(self, root: Path, location: str | None = None) -> None:
        self.root = root
        self._location = location or str(root)
        self._paths: dict[str, Path] = {}

    @property
    def location(self) -> str:
        return self._location

    @property
    def concurrent_reads(self) -> int:
        return CONCURRENT_READS

    def list(self) -> Iterator[ObjectInfo]:
        self._paths.clear()
        for folder, dirs, files in os.walk(self.root, onerror=self._walk_error):
            dirs.sort()
            for name in sorted(files):
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                key = printable(path.relative_to(self.root).as_posix())
                self._paths[key] = path
                yield ObjectInfo(key, path.stat().st_size, None)

    def _walk_error(self, exc: OSError) -> None:
        raise SourceError(
            Code.ACCESS_DENIED_TO_BUCKET,
            f"Cannot list {exc.filename}: {exc.strerror}.",
            "Make the folder readable by the user running drmodels.",
        )

    def _path(self, key: str) -> Path:
        path = self._paths.get(key)
        if path is None:
            if not self._paths:
                for _ in self.list():
                    pass
            path = self._paths.get(key)
        if path is None:
            raise not_listed(key, self.location, "List the folder again; the file may have been removed.")
        return path

    def read(self, key: str, max_bytes: int) -> bytes:
        return read_capped(self, key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except OSError as exc:
            raise SourceError(
                Code.ACCESS_DENIED_TO_BUCKET,
                f"Cannot read {key}: {exc.strerror}.",
                "Make the file readable by the user running drmodels.",
                key,
            ) from None
