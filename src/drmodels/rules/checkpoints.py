"""Checkpoint names, pointer files (deepracer_checkpoints.json, .coach_checkpoint) and the copy plan."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drmodels.rules.layout import MODEL_DIR
from drmodels.rules.objects import ObjectInfo

NAME_RE = re.compile(r"^(?P<iteration>\d{1,18})_Step-(?P<steps>\d{1,18})\.ckpt$")
"""Iterations and steps of real checkpoints fit a 64-bit integer; longer digit runs are not names."""
FILE_RE = re.compile(
    r"^(?P<name>[^/]+\.ckpt)\.(?P<part>index|meta|data-(?P<shard>\d{5})-of-(?P<shards>\d{5}))$"
)
_LEGACY_RE = re.compile(r'^\s*model_checkpoint_path\s*:\s*"(?P<name>[^"]*)"', re.MULTILINE)


@dataclass(frozen=True, order=True)
class CheckpointName:
    iteration: int
    steps: int
    name: str

    @property
    def graph_key(self) -> str:
        """The frozen graph the trainer writes beside this checkpoint."""
        return f"{MODEL_DIR}model_{self.iteration}.pb"


def parse_name(name: str) -> CheckpointName | None:
    match = NAME_RE.match(name)
    if match is None:
        return None
    return CheckpointName(int(match["iteration"]), int(match["steps"]), name)


@dataclass
class CheckpointFiles:
    """The files of one checkpoint found in model/, by part (index, meta, data-00000-of-00001...)."""

    name: str
    parts: dict[str, ObjectInfo] = field(default_factory=dict)

    def missing(self) -> list[str]:
        """File names this checkpoint lacks: .index, .meta and every data shard."""
        wanted = [f"{self.name}.index", f"{self.name}.meta"]
        shard_counts = {int(p.rsplit("-of-", 1)[1]) for p in self.parts if p.startswith("data-")}
        shards = max(shard_counts) if shard_counts else 1
        wanted += [f"{self.name}.data-{i:05d}-of-{shards:05d}" for i in range(shards)]
        present = {f"{self.name}.{part}" for part in self.parts}
        return [w for w in wanted if w not in present]

    @property
    def complete(self) -> bool:
        return not self.missing()

    @property
    def objects(self) -> list[ObjectInfo]:
        return [self.parts[p] for p in sorted(self.parts)]


def group_checkpoints(objects: Iterable[ObjectInfo]) -> dict[str, CheckpointFiles]:
    """Checkpoint files directly in model/, grouped by checkpoint name."""
    groups: dict[str, CheckpointFiles] = {}
    for obj in objects:
        if not obj.key.startswith(MODEL_DIR):
            continue
        match = FILE_RE.match(obj.key[len(MODEL_DIR) :])
        if match is None:
            continue
        group = groups.setdefault(match["name"], CheckpointFiles(match["name"]))
        group.parts[match["part"]] = obj
    return groups


def read_coach_pointer(text: str) -> tuple[str | None, list[str]]:
    """The checkpoint name in a .coach_checkpoint, and notes on what was tolerated.

    Like rl_coach, only the first line counts and surrounding whitespace is ignored; a file
    name (`N_Step-M.ckpt.index`) is read as its checkpoint name.
    """
    notes: list[str] = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None, notes
    if len(lines) > 1:
        notes.append(f"it has {len(lines)} lines; only the first, {lines[0]!r}, is read")
    name = lines[0].rstrip(",")
    file_match = FILE_RE.match(name)
    if file_match is not None:
        notes.append(f"it names the file {name!r}; the checkpoint is {file_match['name']!r}")
        name = file_match["name"]
    return name, notes


def read_legacy_state(text: str) -> str | None:
    """model_checkpoint_path of a TensorFlow `checkpoint` state file."""
    match = _LEGACY_RE.search(text)
    return match["name"] if match else None


@dataclass(frozen=True)
class CheckpointsJson:
    best: str | None
    last: str | None


def read_checkpoints_json(value: Any) -> CheckpointsJson | str:
    """The best and last names of deepracer_checkpoints.json, or what is wrong with it."""
    if not isinstance(value, dict):
        return f"is a JSON {type(value).__name__}, not an object"
    names: dict[str, str | None] = {}
    for entry in ("best_checkpoint", "last_checkpoint"):
        item = value.get(entry)
        if item is None:
            names[entry] = None
            continue
        if not isinstance(item, dict):
            return f"has `{entry}` = {item!r}, not an object with a name"
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            return f"has `{entry}.name` = {name!r}, not a checkpoint name"
        names[entry] = name or None
    return CheckpointsJson(names["best_checkpoint"], names["last_checkpoint"])


def complete_checkpoints(groups: dict[str, CheckpointFiles]) -> list[CheckpointName]:
    """Checkpoints with every file present and a conventional name, oldest first."""
    return sorted(parsed for g in groups.values() if g.complete and (parsed := parse_name(g.name)))


def previous_complete(named: CheckpointName, groups: dict[str, CheckpointFiles]) -> CheckpointName | None:
    """The newest complete checkpoint of an earlier iteration than `named`, found by listing."""
    earlier = [c for c in complete_checkpoints(groups) if c.iteration < named.iteration]
    return earlier[-1] if earlier else None


def newest_complete(groups: dict[str, CheckpointFiles]) -> CheckpointName | None:
    done = complete_checkpoints(groups)
    return done[-1] if done else None
