"""One entry of a model's listing: the unit every rule, source and store speaks about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    """One object under a prefix root; `key` is relative to that root, '/'-separated."""

    key: str
    size: int
    etag: str | None = None
