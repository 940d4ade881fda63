"""The error catalogue of the spec and the Problem every rule reports.

Codes, short titles and actions are the spec's words, unchanged; the explanation and the fix
of a Problem are ours, written for the model at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drmodels.rules.repairs import Repair


class Code(StrEnum):
    SERVICE_ERROR = "SERVICE_ERROR"
    SRC_BUCKET_DOES_NOT_EXIST = "SRC_BUCKET_DOES_NOT_EXIST"
    ACCESS_DENIED_TO_BUCKET = "ACCESS_DENIED_TO_BUCKET"
    COACH_CHECKPOINT_DOES_NOT_EXIST = "COACH_CHECKPOINT_DOES_NOT_EXIST"
    MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED = "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED"
    CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED = "CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED"
    JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED = "JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED"
    FILE_DOES_NOT_EXIST = "FILE_DOES_NOT_EXIST"
    S3_COPY_ERROR = "S3_COPY_ERROR"
    CHECKPOINT_FILES_DOES_NOT_EXIST = "CHECKPOINT_FILES_DOES_NOT_EXIST"
    MODEL_VALIDATION_SERVICE_ERROR = "MODEL_VALIDATION_SERVICE_ERROR"
    ACCOUNT_RESOURCE_DOES_NOT_EXIST = "ACCOUNT_RESOURCE_DOES_NOT_EXIST"


@dataclass(frozen=True)
class CatalogueEntry:
    title: str
    action: str
    spec_text: str


CATALOGUE: dict[Code, CatalogueEntry] = {
    Code.SERVICE_ERROR: CatalogueEntry(
        "Model copy error",
        "Retry update",
        "We couldn't copy your model despite making several attempts.",
    ),
    Code.SRC_BUCKET_DOES_NOT_EXIST: CatalogueEntry(
        "Bucket doesn't exist",
        "Import model manually",
        "The S3 bucket where this model was stored has been deleted.",
    ),
    Code.ACCESS_DENIED_TO_BUCKET: CatalogueEntry(
        "Can't access bucket",
        "Restore bucket permissions",
        "The permissions for the S3 bucket where this model is stored have changed.",
    ),
    Code.COACH_CHECKPOINT_DOES_NOT_EXIST: CatalogueEntry(
        "Coach file doesn't exist",
        "Import model manually",
        "The coach checkpoint metadata has been deleted from the S3 bucket.",
    ),
    Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED: CatalogueEntry(
        "Model file too large",
        "Import model manually",
        "Your model file exceeds the file size limit that the service can create.",
    ),
    Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED: CatalogueEntry(
        "Checkpoint file too large",
        "Import model manually",
        "Your checkpoint file exceeds the file size limit that the service can create.",
    ),
    Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED: CatalogueEntry(
        "Metadata file too large",
        "Import model manually",
        "Your YAML file exceeds the file size limit that the service can create.",
    ),
    Code.FILE_DOES_NOT_EXIST: CatalogueEntry(
        "File doesn't exist",
        "Import model manually",
        "A file of the model has been deleted from the S3 bucket.",
    ),
    Code.S3_COPY_ERROR: CatalogueEntry(
        "Model copy error",
        "Retry update",
        "We couldn't copy your model despite making several attempts.",
    ),
    Code.CHECKPOINT_FILES_DOES_NOT_EXIST: CatalogueEntry(
        "Checkpoint doesn't exist",
        "Import model manually",
        "The checkpoint file has been deleted from the S3 bucket.",
    ),
    Code.MODEL_VALIDATION_SERVICE_ERROR: CatalogueEntry(
        "Invalid model",
        "Import model manually",
        "We can't validate your model because it's been edited.",
    ),
    Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST: CatalogueEntry(
        "Missing or incorrect permissions",
        "Reset permissions",
        "The permissions that were available with AWS DeepRacer when you trained it have been removed.",
    ),
}


def entry_of(code: str | None) -> CatalogueEntry | None:
    """The spec's entry of a recorded error code (None for a code of ours, or none)."""
    return CATALOGUE.get(Code(code)) if code is not None and code in Code.__members__ else None


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model: where, what was expected and found, and what to do."""

    code: Code
    path: str
    explanation: str
    fix: str
    severity: Severity = Severity.ERROR
    auto_fix: bool = False
    repair: Repair | None = None
    """What `drmodels fix` does about it, when a program can repair it."""

    @property
    def title(self) -> str:
        return CATALOGUE[self.code].title

    @property
    def action(self) -> str:
        return CATALOGUE[self.code].action

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "path": self.path or None,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix or None,
            "auto_fix": self.auto_fix,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """The Problem `as_dict` wrote (the repair is not kept: it applies to a local folder only)."""
        return cls(
            Code(str(data["code"])),
            str(data.get("path") or ""),
            str(data.get("explanation") or ""),
            str(data.get("fix") or ""),
            Severity(str(data.get("severity") or Severity.ERROR.value)),
            bool(data.get("auto_fix", False)),
        )


def error(
    code: Code, path: str, explanation: str, fix: str, *, auto_fix: bool = False, repair: Repair | None = None
) -> Problem:
    return Problem(code, path, explanation, fix, Severity.ERROR, auto_fix or repair is not None, repair)


def warning(
    code: Code, path: str, explanation: str, fix: str, *, auto_fix: bool = False, repair: Repair | None = None
) -> Problem:
    return Problem(code, path, explanation, fix, Severity.WARNING, auto_fix or repair is not None, repair)
