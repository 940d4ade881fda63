"""A model folder packed as .tar.gz (or .tar), read in place: nothing is extracted to disk."""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from drmodels.adapters.ports import SourceError, not_listed, read_capped
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 16 * 1024**3
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


class TarballSource:
    """Members of the archive as objects; a single top folder holding the model is stepped into."""

    def __init__(
        self,
        path: Path,
        location: str | None = None,
        *,
        max_members: int = MAX_MEMBERS,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self.path = path
        self.max_members = max_members
        self.max_total_bytes = max_total_bytes
        self._location = location or str(path)
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}

    @property
    def location(self) -> str:
        return self._location

    @property
    def concurrent_reads(self) -> int:
        return 1  # one shared, sequential gzip stream: members are read in order by one thread

    def _refuse(
        self, why: str, fix: str = "Pack the model folder again with `tar -czf model.tar.gz -C FOLDER .`."
    ) -> SourceError:
        return SourceError(Code.MODEL_VALIDATION_SERVICE_ERROR, f"{self.location} {why}.", fix)

    def _open(self) -> tarfile.TarFile:
        if self._tar is None:
            try:
                self._tar = tarfile.open(self.path, "r:*")  # noqa: SIM115 (kept open for reads)
            except _READ_ERRORS as exc:
                raise self._refuse(f"is not a readable .tar.gz archive ({exc})") from None
        return self._tar

    def list(self) -> Iterator[ObjectInfo]:
        tar = self._open()
        regular: dict[str, tarfile.TarInfo] = {}
        total = 0
        try:
            for count, member in enumerate(tar, 1):
                name = self._safe_name(member)
                total += member.size
                if count > self.max_members or total > self.max_total_bytes:
                    raise self._refuse(
                        f"holds more than {self.max_members} members or "
                        f"{self.max_total_bytes} bytes; "
                        "it is refused as a possible archive bomb"
                    )
                if member.isfile() and name:
                    regular[name] = member
        except _READ_ERRORS as exc:
            raise self._refuse(f"is damaged or truncated ({exc})") from None
        prefix = _common_top(list(regular))
        self._members = {name[len(prefix) :]: m for name, m in regular.items()}
        for key, member in self._members.items():
            yield ObjectInfo(key, member.size, None)

    def _safe_name(self, member: tarfile.TarInfo) -> str:
        raw = member.name
        name = posixpath.normpath(raw or ".")
        if name.startswith("/") or name == ".." or name.startswith("../"):
            raise self._refuse(f"has a member {raw!r} that points outside the archive; it is refused")
        if member.issym() or member.islnk():
            raise self._refuse(
                f"has a link member {raw!r} -> {member.linkname!r}; model folders hold regular files only"
            )
        if member.isdev():
            raise self._refuse(f"has a device member {raw!r}; model folders hold regular files only")
        return "" if name == "." else name

    def read(self, key: str, max_bytes: int) -> bytes:
        return read_capped(self, key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        if not self._members:
            for _ in self.list():
                pass
        member = self._members.get(key)
        if member is None:
            raise not_listed(key, self.location, "Check the archive's contents.")
        try:
            stream = self._open().extractfile(member)
        except _READ_ERRORS as exc:
            raise self._refuse(f"is damaged ({exc})") from None
        if stream is None:
            raise SourceError(
                Code.FILE_DOES_NOT_EXIST, f"{key} is not a regular file.", "Check the archive.", key
            )
        return cast(BinaryIO, stream)


def _common_top(names: list[str]) -> str:
    """'top/' when every member sits under one folder that is not itself part of a model's layout."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1 or all("/" not in n for n in names):
        return ""
    top = tops.pop()
    return "" if top in ("model", "ip", "metrics", "logs") else top + "/"
