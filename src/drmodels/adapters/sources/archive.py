"""What the archive sources (.tar.gz and kin, .zip) share: member paths, the top folder, the caps.

Nothing is extracted: members are read in place. A member whose path points outside the archive
(absolute, a drive letter, `..`) refuses the whole archive; so do more than `max_members` members or
more than `max_total_bytes` declared (an archive bomb). A single top folder holding the model (what
zipping or tarring the folder itself gives) is stepped into.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from drmodels.adapters.ports import SourceError
from drmodels.rules import layout
from drmodels.rules.problems import Code

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
