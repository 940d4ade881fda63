"""Where each file of a model lives under the prefix root, and where trainers misplace them."""

from __future__ import annotations

import re

from drmodels.formats.car_archive import ARCHIVE_NAME

MODEL_DIR = "model/"
REWARD = "reward_function.py"
HYPERPARAMETERS = "ip/hyperparameters.json"
METADATA = MODEL_DIR + "model_metadata.json"
ROOT_METADATA = "model_metadata.json"
CHECKPOINTS_JSON = MODEL_DIR + "deepracer_checkpoints.json"
COACH = MODEL_DIR + ".coach_checkpoint"
DOTLESS_COACH = MODEL_DIR + "coach_checkpoint"
LEGACY_STATE = MODEL_DIR + "checkpoint"
CAR_ARCHIVES = (MODEL_DIR + ARCHIVE_NAME, ARCHIVE_NAME)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
"""The names of the archives a model folder may be packed in (read by content, named for messages)."""

_TRAINER = ("custom_files/", "custom-files/")
MISPLACED: dict[str, tuple[str, ...]] = {
    REWARD: (*(d + REWARD for d in _TRAINER), MODEL_DIR + REWARD, "ip/" + REWARD),
    HYPERPARAMETERS: (
        *(d + "hyperparameters.json" for d in _TRAINER),
        "hyperparameters.json",
        MODEL_DIR + "hyperparameters.json",
    ),
    METADATA: (*(d + ROOT_METADATA for d in _TRAINER), "ip/" + ROOT_METADATA),
    CHECKPOINTS_JSON: ("deepracer_checkpoints.json",),
    COACH: (".coach_checkpoint",),
}
"""Places real trainers leave a mandatory file, checked in this order when it is missing."""

_TRAINING_PARAMS = re.compile(r"^training_params(?:_[^/]+)?\.yaml$")
_ROOT_METRICS = re.compile(r"^(?:Training|Evaluation)Metrics[^/]*\.json$")
_OTHER_CAR_ARCHIVE = re.compile(r"^(?:model/)?[^/]*model[^/]*\.tar\.gz$")


def is_training_params(key: str) -> bool:
    return bool(_TRAINING_PARAMS.match(key))


def is_metrics(key: str) -> bool:
    return (key.startswith("metrics/") and key.endswith(".json")) or bool(_ROOT_METRICS.match(key))


def is_frozen_graph(key: str) -> bool:
    """A `model/model_<iteration>.pb` the trainer writes beside a checkpoint."""
    return key.startswith(MODEL_DIR + "model_") and key.endswith(".pb")


def is_log(key: str) -> bool:
    return key.startswith("logs/")


def is_optional(key: str) -> bool:
    """Training params, metrics and logs: copied when present, never a reason to refuse a model."""
    return is_log(key) or is_metrics(key) or is_training_params(key)


def is_macos_junk(key: str) -> bool:
    """What macOS adds to folders and archives it writes: `._*` resource forks, `.DS_Store`,
    `__MACOSX/` (Archive Utility's zips). Never part of a model: listed, never read or copied."""
    parts = key.split("/")
    return parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or parts[-1].startswith("._")


def is_other_car_archive(key: str) -> bool:
    """An archive named like a car download (`<name>-model.tar.gz`) but not `model.tar.gz`."""
    return key not in CAR_ARCHIVES and bool(_OTHER_CAR_ARCHIVE.match(key))
