"""The state of one inspection: what is present, what was read, the problems and the plan so far."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from drmodels.rules import layout
from drmodels.rules.checkpoints import CheckpointFiles, CheckpointName
from drmodels.rules.limits import FileKind, Limits, human_size
from drmodels.rules.names import unstorable
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem, error, warning


@dataclass
class Inspection:
    location: str
    present: dict[str, ObjectInfo]
    """What the import can read and copy, by key."""
    contents: Mapping[str, bytes]
    limits: Limits
    unusable: dict[str, ObjectInfo] = field(default_factory=dict)
    """Listed, but not readable or not a regular file (ObjectInfo.unusable says why), by key."""
    problems: list[Problem] = field(default_factory=list)
    planned: dict[str, ObjectInfo] = field(default_factory=dict)
    groups: dict[str, CheckpointFiles] = field(default_factory=dict)
    best: CheckpointName | None = None
    """The checkpoint the car runs: the JSON's best (else last), or the one .coach_checkpoint names."""

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def plan(self, *keys: str) -> bool:
        """Copy these objects; one whose name no store can hold is reported instead (left out if
        optional). Whether all of them were planned."""
        planned = True
        for key in keys:
            why = unstorable(key)
            if why is None:
                self.planned[key] = self.present[key]
                continue
            planned = False
            optional = layout.is_optional(key)
            self.add(
                (warning if optional else error)(
                    Code.MODEL_VALIDATION_SERVICE_ERROR,
                    key,
                    f"{key} {why}, which the model store cannot keep under that name; "
                    + ("it is not imported." if optional else "the model cannot be imported with it."),
                    f"Rename {self.place(key)} (letters, digits, '-', '_', '.' are always safe)"
                    + (", or leave it: the model imports without it." if optional else "."),
                )
            )
        return planned

    def unusable_code(self, key: str) -> Code:
        """A file there but unreadable is what S3 calls access denied; a link or a FIFO is not a file."""
        reason = self.unusable[key].unusable or ""
        return Code.ACCESS_DENIED_TO_BUCKET if "cannot be read" in reason else Code.FILE_DOES_NOT_EXIST

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
                f"Replace {self.place(key)} with the file the trainer wrote, or raise the limit "
                "(DRMODELS_* settings) if this size is intended.",
            )
        )
        return False

    # --- where the user makes a change: a local folder (`drmodels fix`), an archive, a bucket ----------

    @property
    def on_s3(self) -> bool:
        return self.location.startswith("s3://")

    @property
    def is_archive(self) -> bool:
        return self.location.lower().endswith(layout.ARCHIVE_SUFFIXES)

    def place(self, key: str) -> str:
        """How the user names `key`: its S3 URL for a bucket, else its path under the prefix root."""
        return f"{self.location.rstrip('/')}/{key}" if self.on_s3 else key

    def fix_command(self, options: str = "") -> str | None:
        """The exact `drmodels fix` command for this source, or None when it is not a local folder."""
        if self.on_s3 or self.is_archive:
            return None
        return f"drmodels fix {shlex.quote(self.location)}{options}"

    def repaired(self, manual: str, options: str = "") -> str:
        """A fix: what to do by hand, and the command that does it when there is one."""
        command = self.fix_command(options)
        if command is not None:
            return f"{manual} (`{command}` does it)."
        if self.is_archive:
            return f"{manual} in the folder you packed, then pack it again."
        return f"{manual}."

    def copy_fix(self, source: str, target: str) -> str:
        """How to copy a file into its place: by hand, with `drmodels fix`, or with `aws s3 cp`."""
        if self.on_s3:
            return f"Copy it into place: `aws s3 cp {self.place(source)} {self.place(target)}`."
        return self.repaired(f"Copy {source} to {target}")
