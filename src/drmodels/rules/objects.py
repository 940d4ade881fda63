"""One entry of a model's listing: the unit every rule, source and store speaks about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    """One object under a prefix root; `key` is relative to that root, '/'-separated."""

    key: str
    size: int
    etag: str | None = None
    unusable: str | None = None
    """Why this entry cannot be read or copied, as words that follow its name ("is a symbolic link
    to ../x", "cannot be read: Permission denied"); None for an object that can be. Sources list
    such entries so that messages can name them instead of calling the file missing."""
