"""Repairs a program can make to a local model folder; attached to the problems they solve."""

from __future__ import annotations

from dataclasses import dataclass

from drmodels.rules.layout import CAR_ARCHIVES, COACH


@dataclass(frozen=True)
class CopyFile:
    source: str
    target: str


@dataclass(frozen=True)
class WritePointer:
    """Write model/.coach_checkpoint naming `name` (taken from `origin`)."""

    name: str
    origin: str
    target: str = COACH


@dataclass(frozen=True)
class BuildCarArchive:
    graph: str
    metadata: str
    target: str = CAR_ARCHIVES[0]


@dataclass(frozen=True)
class StripBom:
    """Rewrite `target` without its leading UTF-8 byte order mark (the only change fix makes in place)."""

    target: str


Repair = CopyFile | WritePointer | BuildCarArchive | StripBom
