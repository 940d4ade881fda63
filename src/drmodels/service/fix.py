"""`drmodels fix`: apply every repair the inspection attached to its problems, on a local folder.

Repairs only add files: nothing of the user's is deleted or overwritten. They are worked out in
rounds on an overlay of the folder (a written pointer can make a car archive buildable), so a
dry run shows exactly what a real run would write.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from drmodels.adapters.ports import SourceError
from drmodels.adapters.sources.folder import FolderSource
from drmodels.errors import DrmodelsError
from drmodels.formats.car_archive import build_car_archive
from drmodels.rules import layout
from drmodels.rules.checkpoints import (
    complete_checkpoints,
    group_checkpoints,
    newest_complete,
    parse_name,
    read_checkpoints_json,
)
from drmodels.rules.jsonfile import load_json
from drmodels.rules.limits import Limits
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from drmodels.rules.repairs import BuildCarArchive, CopyFile, Repair, WritePointer
from drmodels.service.check import check_source

MAX_ROUNDS = 4


class FixError(DrmodelsError):
    """A repair that cannot be made as asked (e.g. --checkpoint names no complete checkpoint)."""


@dataclass(frozen=True)
class Change:
    repair: Repair

    def describe(self) -> str:
        r = self.repair
        if isinstance(r, CopyFile):
            return f"copy {r.source} -> {r.target}"
        if isinstance(r, WritePointer):
            return f"write {r.target} naming {r.name} (from {r.origin})"
        return f"build {r.target} from {r.graph} + {r.metadata} (agent/model.pb + model_metadata.json)"


class _Overlay:
    """A local folder plus the files the planned repairs would add."""

    def __init__(self, root: Path) -> None:
        self.base = FolderSource(root)
        self.added: dict[str, tuple[int, bytes | None]] = {}

    @property
    def location(self) -> str:
        return self.base.location

    @property
    def concurrent_reads(self) -> int:
        return 1

    def list(self) -> Iterator[ObjectInfo]:
        yield from self.base.list()
        for key, (size, _) in self.added.items():
            yield ObjectInfo(key, size)

    def read(self, key: str, max_bytes: int) -> bytes:
        if key in self.added:
            data = self.added[key][1]
            if data is None:
                raise SourceError(
                    Code.SERVICE_ERROR, f"{key} is not built yet.", "Run without --dry-run.", key
                )
            return data[:max_bytes]
        return self.base.read(key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        return io.BytesIO(self.read(key, 1 << 62)) if key in self.added else self.base.open(key)

    def exists(self, key: str) -> bool:
        return key in self.added or (self.base.root / key).exists()

    def add(self, repair: Repair, limits: Limits) -> None:
        if isinstance(repair, CopyFile):
            data = self.read(repair.source, limits.control_read_bytes)
            self.added[repair.target] = (len(data), data)
        elif isinstance(repair, WritePointer):
            self.added[repair.target] = (len(repair.name), repair.name.encode())
        else:
            size = next(o.size for o in self.list() if o.key == repair.graph)
            self.added[repair.target] = (size, None)


def plan_fixes(root: Path, limits: Limits, checkpoint: str | None = None) -> list[Change]:
    """The repairs that bring the folder as close to importable as a program can, in order."""
    overlay = _Overlay(root)
    changes: list[Change] = []
    for _ in range(MAX_ROUNDS):
        report = check_source(overlay, limits)
        repairs = [p.repair for p in report.problems if p.repair is not None]
        pointer_missing = any(
            p.code is Code.COACH_CHECKPOINT_DOES_NOT_EXIST and p.is_error for p in report.problems
        )
        if (
            checkpoint is not None
            and pointer_missing
            and not any(isinstance(r, WritePointer) for r in repairs)
        ):
            repairs.append(WritePointer(_chosen(overlay, checkpoint), f"--checkpoint {checkpoint}"))
        repairs = [_with_choice(r, overlay, checkpoint) for r in repairs if not overlay.exists(r.target)]
        if not repairs:
            break
        for repair in repairs:
            overlay.add(repair, limits)
            changes.append(Change(repair))
    return changes


def _with_choice(repair: Repair, overlay: _Overlay, checkpoint: str | None) -> Repair:
    if isinstance(repair, WritePointer) and checkpoint is not None:
        return WritePointer(_chosen(overlay, checkpoint), f"--checkpoint {checkpoint}")
    return repair


def _chosen(overlay: _Overlay, checkpoint: str) -> str:
    """The checkpoint name for --checkpoint best|last|N."""
    objects = list(overlay.list())
    groups = group_checkpoints(objects)
    complete = {c.iteration: c for c in complete_checkpoints(groups)}
    if checkpoint == "last":
        newest = newest_complete(groups)
        if newest is None:
            raise FixError("model/ has no complete checkpoint (.index, .meta and .data) to point at.")
        return newest.name
    if checkpoint == "best":
        for key in (layout.CHECKPOINTS_JSON, *layout.MISPLACED[layout.CHECKPOINTS_JSON]):
            if overlay.exists(key):
                value, problem = load_json(key, overlay.read(key, 1 << 20))
                names = read_checkpoints_json(value) if problem is None else "invalid"
                best = None if isinstance(names, str) else parse_name(names.best or "")
                if best is not None and best.iteration in complete:
                    return best.name
        raise FixError(
            "No deepracer_checkpoints.json names a complete best checkpoint; use "
            "--checkpoint last or --checkpoint N."
        )
    if checkpoint.isdigit() and int(checkpoint) in complete:
        return complete[int(checkpoint)].name
    have = ", ".join(str(i) for i in sorted(complete)) or "none"
    raise FixError(
        f"--checkpoint {checkpoint}: expected best, last or the iteration of a complete "
        f"checkpoint (complete iterations: {have})."
    )


def apply_fixes(root: Path, changes: list[Change]) -> None:
    """Write the planned files; each lands atomically and only if nothing is at its place."""
    for change in changes:
        repair = change.repair
        target = _inside(root, repair.target)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".drmodels-", delete=False) as tmp:
            try:
                _write(root, repair, tmp)
                tmp.close()
                os.link(tmp.name, target)  # fails rather than replace a file that appeared meanwhile
            finally:
                os.unlink(tmp.name)


def _write(root: Path, repair: Repair, out: IO[bytes]) -> None:
    if isinstance(repair, CopyFile):
        out.write(_inside(root, repair.source).read_bytes())
    elif isinstance(repair, WritePointer):
        out.write(repair.name.encode())
    elif isinstance(repair, BuildCarArchive):
        graph = _inside(root, repair.graph)
        with graph.open("rb") as stream:
            build_car_archive(stream, graph.stat().st_size, _inside(root, repair.metadata).read_bytes(), out)


def _inside(root: Path, key: str) -> Path:
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()):
        raise FixError(f"{key} is outside {root}; nothing is written there.")
    return path
