"""The state of one inspection: what is present, what was read, the problems and the plan so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drmodels.rules.checkpoints import CheckpointFiles, CheckpointName
from drmodels.rules.limits import FileKind, Limits, human_size
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Problem, error


@dataclass
class Inspection:
    location: str
    present: dict[str, ObjectInfo]
    contents: Mapping[str, bytes]
    limits: Limits
    problems: list[Problem] = field(default_factory=list)
    planned: dict[str, ObjectInfo] = field(default_factory=dict)
    groups: dict[str, CheckpointFiles] = field(default_factory=dict)
    best: CheckpointName | None = None
    """The checkpoint the car runs: the JSON's best (else last), or the one .coach_checkpoint names."""

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def plan(self, *keys: str) -> None:
        for key in keys:
            self.planned[key] = self.present[key]

    def content(self, key: str) -> bytes | None:
        return self.contents.get(key)

    def within_limit(self, key: str, kind: FileKind, what: str) -> bool:
        """Whether `key` is within its size limit; if not, the problem is reported and it is not planned."""
        size = self.present[key].size
        rule = self.limits.rule(kind)
        limit = rule.limit
        if size <= limit:
            return True
        self.add(
            error(
                rule.code,
                key,
                f"{key} is {human_size(size)}; the limit for {what} is {human_size(limit)}, "
                "so it is not read or imported.",
                f"Replace {key} with the file the trainer wrote, or raise the limit "
                "(DRMODELS_* settings) if this size is intended.",
            )
        )
        return False
