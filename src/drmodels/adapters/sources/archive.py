"""What the archive sources (.tar.gz and kin, .zip) share: member paths, the top folder, the caps.

Nothing is extracted: members are read in place. A member whose path points outside the archive
(absolute, a drive letter, `..`) refuses the whole archive; so do more than `max_members` members or
more than `max_total_bytes` declared (an archive bomb). A single top folder holding the model (what
zipping or tarring the folder itself gives) is stepped into.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

from drmodels.adapters.ports import SourceError, not_listed, read_capped
from drmodels.rules import layout
from drmodels.rules.names import decoded
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

M = TypeVar("M")
"""A member of an archive (tarfile.TarInfo, zipfile.ZipInfo)."""

MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 16 * 1024**3
REPACK = "Pack the model's folder again: from inside it, `tar -czf ../model.tar.gz .` (or zip the folder)."
_DRIVE = re.compile(r"^[A-Za-z]:")


def refusal(location: str, why: str, fix: str = REPACK) -> SourceError:
    return SourceError(Code.MODEL_VALIDATION_SERVICE_ERROR, f"{location} {why}.", fix)


def member_path(raw: str) -> str | None:
    """A member's path inside the archive ('' for the archive's root), or None if it leaves it."""
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        return None
    name = posixpath.normpath(raw or ".")
    if name == ".." or name.startswith("../"):
        return None
    return "" if name == "." else name


@dataclass
class Caps:
    """Counts members and declared bytes; past either cap the archive is refused as a bomb."""

    location: str
    max_members: int = MAX_MEMBERS
    max_total_bytes: int = MAX_TOTAL_BYTES
    members: int = 0
    total: int = 0

    def add(self, size: int) -> None:
        self.members += 1
        self.total += size
        if self.members > self.max_members or self.total > self.max_total_bytes:
            raise refusal(
                self.location,
                f"holds more than {self.max_members} members or {self.max_total_bytes} bytes; "
                "it is refused as a possible archive bomb",
            )


def common_top(names: list[str]) -> str:
    """'top/' when every member sits under one folder that is not itself part of a model's layout."""
    tops = {n.split("/", 1)[0] for n in names if not layout.is_macos_junk(n)}
    if len(tops) != 1 or all("/" not in n for n in names):
        return ""
    top = tops.pop()
    return "" if top in ("model", "ip", "metrics", "logs") else top + "/"


class ArchiveSource(Generic[M]):
    """What the tar and zip sources share: where the archive is, its caps, its members listed once."""

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
        self._members: dict[str, M] = {}
        self._listed = False

    @property
    def location(self) -> str:
        return self._location

    @property
    def concurrent_reads(self) -> int:
        return 1  # one archive file read through one handle: members are read one at a time

    def caps(self) -> Caps:
        return Caps(self.location, self.max_members, self.max_total_bytes)

    def publish(self, files: dict[str, M], size: Callable[[M], int]) -> Iterator[ObjectInfo]:
        """The files (by path in the archive) as objects, a single top folder stepped into."""
        prefix = common_top(list(files))
        self._members = {name[len(prefix) :]: m for name, m in files.items() if name.startswith(prefix)}
        self._listed = True
        for key, member in self._members.items():
            shown, unusable = decoded(key)
            yield ObjectInfo(shown, size(member), None, unusable)

    def member(self, key: str) -> M:
        """The listed member under `key` (the archive is listed first if it was not)."""
        if not self._listed:
            for _ in self.list():
                pass
        member = self._members.get(key)
        if member is None:
            raise not_listed(key, self.location, "Check the archive's contents.")
        return member

    def list(self) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        raise NotImplementedError

    def read(self, key: str, max_bytes: int) -> bytes:
        return read_capped(self, key, max_bytes)
