"""Safe streaming reads of .tar.gz archives: gzip with an output cap, members judged before use.

Nothing is extracted: members are read in order from the stream. `Gunzip` inflates with ISA-L
(zlib's API, 2x zlib on model weights, same header/CRC-32/length checks) and stops a compression
bomb before it expands in memory; `hostile` names what would be dangerous to extract.
"""

from __future__ import annotations

import io
import re
import tarfile
import zlib
from typing import BinaryIO, cast

from isal import isal_zlib

from drmodels.errors import FormatError

INFLATE_ERROR = cast(type[Exception], isal_zlib.error)


class Bomb(FormatError):
    """More bytes came out of the gzip stream than the cap allows; args[0] is how many."""


class Gunzip(io.RawIOBase):
    """Decompresses a gzip stream (all members) in large chunks, failing past `cap` output bytes.

    ISA-L (zlib's API) checks each member's header, CRC-32 and length; output is produced at most
    `max_length` bytes at a time, so a bomb is caught before it is expanded in memory.
    """

    def __init__(self, inner: BinaryIO, cap: int, chunk: int = 1 << 20) -> None:
        self._inner = inner
        self._cap = cap
        self._chunk = chunk
        self._z = isal_zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""
        self._started = False
        self.count = 0

    def readable(self) -> bool:
        return True

    def _more(self, n: int) -> bytes:
        while True:
            if self._z.unconsumed_tail:
                data = self._z.decompress(self._z.unconsumed_tail, n)
            elif self._z.eof:
                rest = self._z.unused_data or self._inner.read(self._chunk)
                if not rest.strip(b"\0"):
                    return b""  # end of stream (trailing zero padding is allowed, as gzip does)
                self._z = isal_zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = self._z.decompress(rest, n)
            else:
                raw = self._inner.read(self._chunk)
                if not raw:
                    if not self._started:
                        raise EOFError("empty file")
                    raise EOFError("compressed stream ended before the end of the gzip member (truncated)")
                self._started = True
                data = self._z.decompress(raw, n)
            if data:
                return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._more(len(buffer))
        self.count += len(data)
        if self.count > self._cap:
            raise Bomb(self.count)
        buffer[: len(data)] = data
        return len(data)


KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "directory",
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
}


def normal_name(name: str) -> str:
    """A member name without leading `./` and trailing `/`."""
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def hostile(info: tarfile.TarInfo) -> str | None:
    """Why extracting this member would be unsafe (outside paths, links, devices), or None."""
    name = info.name
    kind = KINDS.get(info.type, f"type {info.type!r}")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return f"member `{name}` has an absolute path; extracting it would write outside the model folder"
    if ".." in re.split(r"[/\\]", name):
        return f"member `{name}` contains `..`; extracting it would write outside the model folder"
    if info.issym() or info.islnk():
        return (
            f"member `{name}` is a {kind} to `{info.linkname}`; links in a model archive can point anywhere"
        )
    if info.ischr() or info.isblk() or info.isfifo():
        return f"member `{name}` is a {kind}; a model archive holds only files and directories"
    if not (info.isfile() or info.isdir()):
        return f"member `{name}` has unsupported {kind}; a model archive holds only files and directories"
    return None
