"""An AWS account's DeepRacer buckets for the migration tests and bench: models of every kind, as files.

`good_model()` is a console training prefix (the spec's layout, 2 checkpoints plus older ones, sim traces
and a video that the import does not copy); `broken(kind)` is one with the fault that ends in each of the
spec's codes (with `LIMITS` for the size codes).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from drmodels.rules.limits import Limits
from support.modelfolders import DISCRETE_METADATA, ModelFolder, console_model

LIMITS = Limits(model_tar_bytes=40_000, checkpoint_file_bytes=40_000, control_file_bytes=20_000)
"""Small limits, so a few tens of KB trip each size code (the good models stay well under them)."""


def console_prefix(i: int) -> str:
    stamp, uuid = f"2020071612{i:04d}", f"{i:08x}-aaaa-bbbb-cccc-0123456789ab"
    return f"DeepRacer-SageMaker-RoboMaker-comm-123456789012-{stamp}-{uuid}"


def _files(folder: ModelFolder) -> dict[str, bytes]:
    return {key: folder.read(key) for key in folder.keys()}  # noqa: SIM118 (keys() lists files)


def good_model(extras: bool = True) -> dict[str, bytes]:
    """The spec's layout: checkpoints 3 and 4 (kept), 1 and 2 (not copied), sim traces, a video."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = console_model(Path(tmp))
        folder.checkpoint(1, 42)
        folder.checkpoint(2, 91)
        if extras:
            folder.write("sim-trace/training/training-simtrace/0-iteration.csv", b"episode,steps\n1,2\n" * 50)
            folder.write("videos/training/camera-45degree.mp4", b"\x00\x00\x00\x18ftypmp42" * 40)
        return _files(folder)


BROKEN = {
    "COACH_CHECKPOINT_DOES_NOT_EXIST": lambda f: f.remove("model/.coach_checkpoint"),
    "CHECKPOINT_FILES_DOES_NOT_EXIST": lambda f: f.remove(
        "model/4_Step-162.ckpt.index", "model/3_Step-124.ckpt.index"
    ),
    "FILE_DOES_NOT_EXIST": lambda f: f.remove("reward_function.py"),
    "MODEL_VALIDATION_SERVICE_ERROR": lambda f: f.write("model/model_metadata.json", b'{"action_space": [}'),
    "JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED": lambda f: f.write(
        "model/model_metadata.json", json.dumps({**DISCRETE_METADATA, "padding": "x" * 30_000})
    ),
    "CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED": lambda f: f.write(
        "model/4_Step-162.ckpt.data-00000-of-00001", bytes(range(256)) * 200
    ),
    "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED": lambda f: f.write(
        "model/model.tar.gz", b"\x1f\x8b" + b"\x00" * 60_000
    ),
}  # fmt: skip


def broken(code: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = console_model(Path(tmp))
        BROKEN[code](folder)
        return _files(folder)


def under(prefix: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {prefix + key: data for key, data in files.items()}


MIGRATION_SESSION = "arn:aws:sts::000000000000:assumed-role/DrmMigrationRole/drmodels"
"""The principal SeaweedFS matches in bucket policies for the migration role's sessions (not the role's
ARN, which AWS would match too)."""


def deny_policy(principal: str, actions: list[str], resources: list[str], sid: str = "NoDeepRacer") -> str:
    statement = {"Sid": sid, "Effect": "Deny", "Principal": {"AWS": principal}, "Action": actions}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Resource": resources}]})
