"""A model folder packed as .zip (Windows' "Send to > Compressed folder", macOS' "Compress"), read in place.

Names use '/' or, from old Windows tools, '\\'; the UTF-8 flag is honoured (else zip's cp437).
Symbolic links (Unix zips), encrypted members and compression methods Python cannot read (Deflate64)
refuse the archive with the reason. Each member's CRC-32 is checked as it is read.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from drmodels.adapters.ports import CHUNK, SourceError
from drmodels.adapters.sources.archive import ArchiveSource, member_path, refusal
from drmodels.formats.streams import RawReader
from drmodels.rules.objects import ObjectInfo

_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, ValueError)  # fmt: skip
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                    zipfile.ZIP_LZMA: "lzma"}  # fmt: skip
REZIP = "Zip the folder again with a tool that uses plain deflate (7-Zip, `zip -r`), or use .tar.gz."


class ZipSource(ArchiveSource[zipfile.ZipInfo]):
    """Members of the zip as objects; a single top folder holding the model is stepped into."""

    _zip: zipfile.ZipFile | None = None

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except _READ_ERRORS as exc:
                raise refusal(
                    self.location, f"is not a readable .zip archive ({exc}); it may be truncated"
                ) from None
        return self._zip

    def list(self) -> Iterator[ObjectInfo]:
        files: dict[str, zipfile.ZipInfo] = {}
        caps = self.caps()
        for info in self._open().infolist():
            caps.add(info.file_size)
            name = self._checked(info)
            if name:
                files[name] = info
        return self.publish(files, lambda i: i.file_size)

    def _checked(self, info: zipfile.ZipInfo) -> str:
        raw = info.filename
        name = member_path(raw.replace("\\", "/"))
        if name is None:
            raise refusal(
                self.location, f"has a member {raw!r} that points outside the archive; it is refused"
            )
        if info.is_dir() or not name:
            return ""
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refusal(
                self.location, f"has a symbolic link {raw!r}; model folders hold regular files only"
            )
        if info.flag_bits & 0x1:
            raise refusal(
                self.location, f"has an encrypted member {raw!r}", "Zip the folder again without a password."
            )
        if info.compress_type not in READABLE_METHODS:
            raise refusal(
                self.location,
                f"compresses {raw!r} with zip method {info.compress_type}"
                f"{' (Deflate64)' if info.compress_type == 9 else ''}, which drmodels cannot read",
                REZIP,
            )
        return name

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        info = self.member(key)

        def damaged(exc: Exception) -> SourceError:
            return refusal(self.location, f"is damaged: {key} cannot be read ({exc})")

        try:
            stream = self._open().open(info)
        except _READ_ERRORS as exc:
            raise damaged(exc) from None
        return io.BufferedReader(RawReader(stream, damaged), CHUNK)
