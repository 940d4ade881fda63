"""Size limits per file class, checked from the listing, never by reading: which limit, which code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drmodels.rules.checkpoints import FILE_RE
from drmodels.rules.layout import CAR_ARCHIVES, MODEL_DIR
from drmodels.rules.problems import Code

MiB = 1024 * 1024
GiB = 1024 * MiB


class FileKind(StrEnum):
    """The size classes of the spec's limits."""

    REWARD = "reward function"
    CONTROL = "metadata file"
    """model_metadata.json, hyperparameters.json, pointer files, training params, metrics."""
    CHECKPOINT = "checkpoint file"
    CAR_ARCHIVE = "model archive"
    """model.tar.gz, and the frozen graph an archive is built from."""


@dataclass(frozen=True)
class SizeRule:
    limit: int
    code: Code
    """The spec's code for a file over the limit."""


_CODES = {
    FileKind.REWARD: Code.MODEL_VALIDATION_SERVICE_ERROR,
    FileKind.CONTROL: Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED,
    FileKind.CHECKPOINT: Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED,
    FileKind.CAR_ARCHIVE: Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED,
}


@dataclass(frozen=True)
class Limits:
    model_tar_bytes: int = 500 * MiB
    checkpoint_file_bytes: int = 500 * MiB
    control_file_bytes: int = 1 * MiB
    reward_function_bytes: int = 1 * MiB
    model_bytes: int = 8 * GiB
    """Everything one import copies (the plan's total)."""

    def rule(self, kind: FileKind) -> SizeRule:
        limit = {
            FileKind.REWARD: self.reward_function_bytes,
            FileKind.CONTROL: self.control_file_bytes,
            FileKind.CHECKPOINT: self.checkpoint_file_bytes,
            FileKind.CAR_ARCHIVE: self.model_tar_bytes,
        }[kind]
        return SizeRule(limit, _CODES[kind])

    @property
    def control_read_bytes(self) -> int:
        """The cap of one read of a small control file (reward function or metadata)."""
        return max(self.control_file_bytes, self.reward_function_bytes)


def file_kind(key: str) -> FileKind:
    """The size class of a file by its key under the prefix root."""
    if key.endswith(".py"):
        return FileKind.REWARD
    if key in CAR_ARCHIVES:
        return FileKind.CAR_ARCHIVE
    if key.startswith(MODEL_DIR) and FILE_RE.match(key[len(MODEL_DIR) :]):
        return FileKind.CHECKPOINT
    return FileKind.CONTROL


def human_size(n: int) -> str:
    """Binary units everywhere drmodels prints a size (B, KiB, MiB, GiB, TiB)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
