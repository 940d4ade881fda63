"""A model folder on the local disk."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from drmodels.adapters.ports import SourceError, not_listed, read_capped
from drmodels.rules.names import decoded
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

CONCURRENT_READS = 8
"""Each read opens its own file handle."""


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 shown escaped (`\\xff`)."""
    return decoded(name)[0]


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is a device, not a regular file"


class FolderSource:
    """Every regular file below a folder. Links are not followed, so nothing outside is read; they,
    other special files, files that cannot be read and names that are not UTF-8 are listed with the
    reason they cannot be imported (`ObjectInfo.unusable`), so messages can name them."""

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
        unlisted: list[OSError] = []
        if not os.access(self.root, os.R_OK | os.X_OK):
            self._refuse(PermissionError(13, "Permission denied", str(self.root)))
        for folder, dirs, files in os.walk(self.root, onerror=unlisted.append):
            dirs.sort()
            for name in sorted(dirs):
                path = Path(folder, name)
                if path.is_symlink():
                    yield self._entry(
                        path, 0, f"is a symbolic link to {os.readlink(path)}; links are not followed"
                    )
            for name in sorted(files):
                yield self._file(Path(folder, name))
        for exc in unlisted:
            if Path(exc.filename or "") == self.root:
                self._refuse(exc)
            yield self._entry(
                Path(exc.filename or ""), 0, f"is a folder that cannot be listed: {exc.strerror}"
            )

    def _refuse(self, exc: OSError) -> None:
        raise SourceError(
            Code.ACCESS_DENIED_TO_BUCKET,
            f"Cannot list {exc.filename}: {exc.strerror}.",
            "Make the folder readable by the user running drmodels.",
        )

    def _file(self, path: Path) -> ObjectInfo:
        try:
            st = path.lstat()
        except OSError as exc:
            return self._entry(path, 0, f"cannot be read: {exc.strerror}")
        if stat.S_ISLNK(st.st_mode):
            return self._entry(path, 0, f"is a symbolic link to {os.readlink(path)}; links are not followed")
        if not stat.S_ISREG(st.st_mode):
            return self._entry(path, 0, _kind(st.st_mode))
        if not os.access(path, os.R_OK):
            return self._entry(path, st.st_size, "cannot be read: Permission denied")
        return self._entry(path, st.st_size, None)

    def _entry(self, path: Path, size: int, unusable: str | None) -> ObjectInfo:
        key, bad_name = decoded(path.relative_to(self.root).as_posix())
        unusable = unusable or bad_name
        if unusable is None:
            self._paths[key] = path
        return ObjectInfo(key, size, None, unusable)

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
