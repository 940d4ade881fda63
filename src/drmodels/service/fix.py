"""`drmodels fix`: apply the repairs the inspection attached to its problems, on a local folder.

Fix never makes a folder worse:
- a folder one level off (model/ or ip/ itself, or the folder above a model) is refused with the
  reason: "repairing" it would write model/model/ or ip/ip/;
- repairs are worked out in rounds on an overlay of the folder (a written pointer can make a car
  archive buildable), and a repair is kept only if the overlay checks better with it (fewer errors,
  else fewer warnings), so a dry run shows exactly what a real run would write and its verdict;
- repairs only add files, except stripping a UTF-8 BOM, which rewrites that one file without its
  first three bytes; every file lands whole (temporary file + link or rename) with the user's umask.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from drmodels.adapters.ports import SourceError
from drmodels.adapters.sources.folder import FolderSource
from drmodels.errors import DrmodelsError
from drmodels.formats.car_archive import build_car_archive
from drmodels.formats.jsontext import BOM
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
from drmodels.rules.repairs import BuildCarArchive, CopyFile, Repair, StripBom, WritePointer
from drmodels.rules.report import Report
from drmodels.service.check import check_deeply, check_source
from drmodels.service.files import new_file

MAX_ROUNDS = 4


class FixError(DrmodelsError):
    """A repair that cannot be made as asked (a folder a level off, --checkpoint naming no checkpoint)."""


@dataclass(frozen=True)
class Change:
    repair: Repair

    def describe(self) -> str:
        r = self.repair
        if isinstance(r, CopyFile):
            return f"copy {r.source} -> {r.target}"
        if isinstance(r, WritePointer):
            return f"write {r.target} naming {r.name} (from {r.origin})"
        if isinstance(r, StripBom):
            return f"strip the byte order mark (BOM) from {r.target}"
        return f"build {r.target} from {r.graph} + {r.metadata} (agent/model.pb + model_metadata.json)"


@dataclass
class FixPlan:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the user should know about the options given (e.g. --checkpoint ignored, and why)."""


class _Overlay:
    """A local folder plus the files the planned repairs would add (or rewrite)."""

    def __init__(self, root: Path) -> None:
        self.base = FolderSource(root)
        self.root = root
        self.added: dict[str, Repair] = {}
        self._built: dict[str, bytes] = {}

    @property
    def location(self) -> str:
        return self.base.location

    @property
    def concurrent_reads(self) -> int:
        return 1

    def copy(self) -> _Overlay:
        other = _Overlay(self.root)
        other.added = dict(self.added)
        return other

    def list(self) -> Iterator[ObjectInfo]:
        for info in self.base.list():
            if info.key not in self.added:
                yield info
        for key, repair in self.added.items():
            yield ObjectInfo(key, self._size(repair))

    def _size(self, repair: Repair) -> int:
        if isinstance(repair, BuildCarArchive):
            return _inside(self.root, repair.graph).stat().st_size  # the archive is about the graph's size
        return len(self._bytes(repair))

    def _bytes(self, repair: Repair) -> bytes:
        if isinstance(repair, CopyFile):
            return self.read(repair.source, 1 << 30)
        if isinstance(repair, WritePointer):
            return repair.name.encode()
        if isinstance(repair, StripBom):
            return self.base.read(repair.target, 1 << 30).removeprefix(BOM)
        built = self._built.get(repair.target)
        if built is None:
            out = io.BytesIO()
            _write(self.root, repair, out, self)
            built = self._built[repair.target] = out.getvalue()
        return built

    def read(self, key: str, max_bytes: int) -> bytes:
        repair = self.added.get(key)
        if repair is None:
            return self.base.read(key, max_bytes)
        data = self._bytes(repair)
        if len(data) > max_bytes:
            raise SourceError(Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, f"{key} is too large.", "", key)
        return data

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        if key in self.added:
            return io.BytesIO(self._bytes(self.added[key]))
        return self.base.open(key)

    def exists(self, key: str) -> bool:
        return key in self.added or (self.root / key).exists()

    def add(self, repair: Repair) -> None:
        self.added[repair.target] = repair


def plan_fixes(root: Path, limits: Limits, checkpoint: str | None = None) -> FixPlan:
    """The repairs that bring the folder closer to importable, in order; each one checks better."""
    overlay = _Overlay(root)
    report = check_source(overlay, limits)
    if report.root_off:
        problem = report.problems[0]
        raise FixError(f"{problem.explanation} {problem.fix} Nothing was written.")
    plan = FixPlan()
    if checkpoint is not None:
        _note_ignored_choice(report, checkpoint, plan)
    for _ in range(MAX_ROUNDS):
        kept = []
        for repair in _candidates(report, overlay, checkpoint):
            trial = overlay.copy()
            trial.add(repair)
            after = check_source(trial, limits)
            if _score(after) < _score(report):
                kept.append(repair)
        if not kept:
            break
        for repair in kept:
            overlay.add(repair)
            plan.changes.append(Change(repair))
        report = check_source(overlay, limits)
    return plan


def _score(report: Report) -> tuple[int, int]:
    errors = len(report.errors)
    return errors, len(report.problems) - errors


def _candidates(report: Report, overlay: _Overlay, checkpoint: str | None) -> list[Repair]:
    repairs = [p.repair for p in report.problems if p.repair is not None]
    pointer_missing = any(
        p.code is Code.COACH_CHECKPOINT_DOES_NOT_EXIST and p.is_error for p in report.problems
    )
    if checkpoint is not None and pointer_missing:
        chosen = WritePointer(_chosen(overlay, checkpoint), f"--checkpoint {checkpoint}")
        repairs = [r for r in repairs if r.target not in (layout.COACH, layout.CHECKPOINTS_JSON)] + [chosen]
    unique = {r.target: r for r in repairs}
    return [r for r in unique.values() if isinstance(r, StripBom) or not overlay.exists(r.target)]


def _note_ignored_choice(report: Report, checkpoint: str, plan: FixPlan) -> None:
    """--checkpoint only picks what a new pointer names; say so when a pointer is already there."""
    if any(p.code is Code.COACH_CHECKPOINT_DOES_NOT_EXIST and p.is_error for p in report.problems):
        return
    names = ", ".join(report.plan.checkpoints) or "its checkpoints"
    plan.notes.append(
        f"--checkpoint {checkpoint} is ignored: the folder already has a checkpoint pointer (naming "
        f"{names}), and fix never overwrites it. Edit {layout.COACH} yourself to change it."
    )


def _chosen(overlay: _Overlay, checkpoint: str) -> str:
    """The checkpoint name for --checkpoint best|last|N|N_Step-M.ckpt."""
    groups = group_checkpoints(list(overlay.list()))
    complete = {c.iteration: c for c in complete_checkpoints(groups)}
    named = parse_name(checkpoint.removesuffix(".index").removesuffix(".meta"))
    if named is not None and complete.get(named.iteration) == named:
        return named.name
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
    have = ", ".join(c.name for _, c in sorted(complete.items())) or "none"
    raise FixError(
        f"--checkpoint {checkpoint}: expected best, last, an iteration or the name of a complete "
        f"checkpoint (complete: {have})."
    )


def preview(root: Path, plan: FixPlan, limits: Limits, deep: bool) -> Report:
    """The verdict the folder would get with the planned changes (a dry run's answer)."""
    overlay = _Overlay(root)
    for change in plan.changes:
        overlay.add(change.repair)
    return check_deeply(overlay, limits, deep)[0]


def apply_fixes(root: Path, changes: list[Change]) -> None:
    """Write the planned files; each lands whole, and only if nothing is at its place (a BOM strip
    rewrites its file only if it still starts with the BOM)."""
    for change in changes:
        repair = change.repair
        target = _inside(root, repair.target)
        if isinstance(repair, StripBom):
            data = target.read_bytes()
            if data.startswith(BOM):
                with new_file(target, replace=True) as out:
                    out.write(data.removeprefix(BOM))
            continue
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with new_file(target) as out:
            _write(root, repair, out, None)


def _write(root: Path, repair: Repair, out: BinaryIO, overlay: _Overlay | None) -> None:
    """The bytes of an added file; the car archive's metadata comes from the overlay when planned."""
    if isinstance(repair, CopyFile):
        out.write(_inside(root, repair.source).read_bytes())
    elif isinstance(repair, WritePointer):
        out.write(repair.name.encode())
    elif isinstance(repair, BuildCarArchive):
        graph = _inside(root, repair.graph)
        metadata = (
            overlay.read(repair.metadata, 1 << 30)
            if overlay is not None
            else _inside(root, repair.metadata).read_bytes()
        )
        with graph.open("rb") as stream:
            build_car_archive(stream, graph.stat().st_size, metadata, out)


def _inside(root: Path, key: str) -> Path:
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()):
        raise FixError(f"{key} is outside {root}; nothing is written there.")
    return path
