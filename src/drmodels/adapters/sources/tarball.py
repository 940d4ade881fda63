"""A model folder packed as a tar archive (.tar.gz, .tgz, .tar, .tar.bz2, .tar.xz), read in place.

Regular members are the model's files. A hard link to a regular member stored earlier in the archive
is read as that member (GNU tar stores the second name of a file that way; nothing leaves the
archive); symbolic links, links to anything else and devices refuse the archive. Listing reads the
whole compressed stream, so its checksum is verified: a truncated or damaged archive is refused.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal, cast

from drmodels.adapters.ports import SourceError
from drmodels.adapters.sources.archive import (
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    ArchiveSource,
    member_path,
    refusal,
)
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError)
MODES: dict[str, Literal["r:gz", "r:bz2", "r:xz", "r:"]] = {
    "gzip": "r:gz", "bzip2": "r:bz2", "xz": "r:xz", "tar": "r:",
}  # fmt: skip


class TarballSource(ArchiveSource[tarfile.TarInfo]):
    """Members of the archive as objects; a single top folder holding the model is stepped into."""

    def __init__(
        self,
        path: Path,
        location: str | None = None,
        *,
        compression: str = "gzip",
        max_members: int = MAX_MEMBERS,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        super().__init__(path, location, max_members=max_members, max_total_bytes=max_total_bytes)
        self._mode = MODES[compression]
        self._what = f"{compression} archive" if compression != "tar" else "tar archive"
        self._tar: tarfile.TarFile | None = None

    def _open(self) -> tarfile.TarFile:
        if self._tar is None:
            try:
                self._tar = tarfile.open(self.path, self._mode)  # noqa: SIM115 (kept open for reads)
            except _READ_ERRORS as exc:
                raise refusal(
                    self.location, f"is a {self._what} without a readable tar inside ({exc})"
                ) from None
        return self._tar

    def list(self) -> Iterator[ObjectInfo]:
        tar = self._open()
        regular: dict[str, tarfile.TarInfo] = {}
        caps = self.caps()
        try:
            for member in tar:
                caps.add(member.size)
                name = self._checked(member, regular)
                if name:
                    regular[name] = self._content(member, regular)
            _to_the_end(tar)
        except _READ_ERRORS as exc:
            raise refusal(self.location, f"is damaged or truncated ({exc})") from None
        return self.publish(regular, lambda m: m.size)

    def _checked(self, member: tarfile.TarInfo, regular: dict[str, tarfile.TarInfo]) -> str:
        """The member's path if it is a file (or a hard link to one stored earlier); '' for folders."""
        raw = member.name
        name = member_path(raw)
        if name is None:
            raise refusal(
                self.location, f"has a member {raw!r} that points outside the archive; it is refused"
            )
        if member.issym():
            raise refusal(
                self.location,
                f"has a symbolic link {raw!r} -> {member.linkname!r}; model folders hold regular files only",
            )
        if member.islnk():
            target = member_path(member.linkname)
            if target is None or target not in regular:
                raise refusal(
                    self.location,
                    f"has a link member {raw!r} -> {member.linkname!r} to nothing stored before it in the "
                    "archive; model folders hold regular files only",
                )
            return name
        if member.isdev() or not (member.isfile() or member.isdir()):
            raise refusal(
                self.location, f"has a device member {raw!r}; model folders hold regular files only"
            )
        return name if member.isfile() else ""

    @staticmethod
    def _content(member: tarfile.TarInfo, regular: dict[str, tarfile.TarInfo]) -> tarfile.TarInfo:
        """The member whose bytes this name has: itself, or the file a hard link names."""
        if member.islnk():
            return regular[cast(str, member_path(member.linkname))]
        return member

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        member = self.member(key)
        try:
            stream = self._open().extractfile(member)
        except _READ_ERRORS as exc:
            raise refusal(self.location, f"is damaged ({exc})") from None
        if stream is None:
            raise SourceError(
                Code.FILE_DOES_NOT_EXIST, f"{key} is not a regular file.", "Check the archive.", key
            )
        return cast(BinaryIO, stream)


def _to_the_end(tar: tarfile.TarFile) -> None:
    """Read what follows the last member (end blocks, padding): the compressed stream's checksum and
    length are only checked at its very end, which listing alone never reaches."""
    stream = tar.fileobj
    if stream is None:
        return
    while stream.read(1 << 20):
        pass
