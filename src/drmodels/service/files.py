"""Files drmodels writes for the user (downloads, repairs): whole or not at all, with the user's umask.

The bytes go to a hidden temporary file beside the target (created 0666 minus the umask, like any
file the user's own tools write), which then takes the target's name: linked, so that a file that
appeared meanwhile is never replaced, or renamed over it when replacing is what was asked. Whatever
fails (including Ctrl-C), the temporary file is removed.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from drmodels.errors import Conflict


class FileExists(Conflict):
    """The target exists and replacing it was not asked for."""


def _temporary(folder: Path) -> tuple[Path, BinaryIO]:
    while True:
        path = folder / f".drmodels-{secrets.token_hex(4)}.part"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return path, os.fdopen(fd, "wb")


@contextmanager
def new_file(target: Path, *, replace: bool = False) -> Iterator[BinaryIO]:
    """A stream whose bytes become `target` when the block ends without an exception."""
    temporary, out = _temporary(target.parent)
    try:
        with out:
            yield out
        if replace:
            os.replace(temporary, target)
        else:
            _link(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}
"""What link() answers on file systems without hard links (FAT, some network shares)."""


def _link(temporary: Path, target: Path) -> None:
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise FileExists(f"{target} exists; nothing was written over it") from None
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
        if target.exists():  # without hard links, a check just before the rename is the best there is
            raise FileExists(f"{target} exists; nothing was written over it") from None
        os.replace(temporary, target)
