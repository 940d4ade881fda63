"""A prefix root one level off: the model/ or ip/ folder itself, or the folder above one or more models.

The commonest mistake is to point at the wrong level. When the listing shows it, that is the cause,
said first and alone: every "missing" error it would otherwise produce is a consequence of it, and
`drmodels fix` must not "repair" the folder into model/model/ or ip/ip/.
"""

from __future__ import annotations

import posixpath
import re

from drmodels.rules import layout
from drmodels.rules.checkpoints import FILE_RE
from drmodels.rules.inspection import Inspection
from drmodels.rules.problems import Code, Problem, error

_MODEL_FILE = re.compile(
    r"^(?:\.coach_checkpoint|coach_checkpoint|deepracer_checkpoints\.json|model_\d+\.pb|checkpoint)$"
)
_IP_FILES = frozenset({"hyperparameters.json", "done", "ip.json"})
_ROOT_MARKS = (
    re.compile(
        r"^(?P<root>.+)/model/(?:model_metadata\.json|\.coach_checkpoint|deepracer_checkpoints\.json)$"
    ),
    re.compile(r"^(?P<root>.+)/model/[^/]+\.ckpt\.index$"),
    re.compile(r"^(?P<root>.+)/ip/hyperparameters\.json$"),
)


def one_level_off(state: Inspection) -> Problem | None:
    """The problem that says the prefix root is a level off, or None when it is not (or not clearly)."""
    keys = [*state.present, *state.unusable]
    top = {k for k in keys if "/" not in k}
    dirs = {k.split("/", 1)[0] for k in keys if "/" in k}
    if layout.REWARD in top or ("model" in dirs and "ip" in dirs):
        return None
    name = posixpath.basename(state.location.rstrip("/"))
    above = f"{_parent(state.location)}, the folder above it, which holds reward_function.py, ip/ and model/"
    model_files = sorted(k for k in top if FILE_RE.match(k) or _MODEL_FILE.match(k))
    if "model" not in dirs and "ip" not in dirs and (name == "model" or model_files):
        what = (
            f"holds {_some(model_files)} at its top level"
            if model_files
            else "is a folder named model with neither ip/ nor model/ inside"
        )
        return _off(
            state,
            f"{state.location} {what}: it looks like the model/ folder itself, not the model's prefix root.",
            above,
        )
    ip_marks = top & (_IP_FILES - {"hyperparameters.json"})  # ip/done, ip/ip.json: DRfC writes them
    if "ip" not in dirs and "model" not in dirs and top <= _IP_FILES and (name == "ip" or ip_marks):
        return _off(
            state,
            f"{state.location} holds only {_some(sorted(top))}: it looks like the ip/ folder itself, "
            "not the model's prefix root.",
            above,
        )
    if "model" in dirs or "ip" in dirs:
        return None
    roots = sorted({m["root"] for k in keys for pattern in _ROOT_MARKS if (m := pattern.match(k))})
    roots = [r for r in roots if not any(r.startswith(other + "/") for other in roots)]
    if not roots:
        return None
    shown = _some(roots, 5)
    first = f"{state.location.rstrip('/')}/{roots[0]}"
    return _off(
        state,
        f"{state.location} is above the model: model folders were found under {shown}.",
        f"one model's prefix root (the folder that holds ip/ and model/, such as {first}); to take in "
        "every model of a bucket or folder, import each one (a manifest does it in one command)",
    )


def _some(keys: list[str], most: int = 3) -> str:
    return ", ".join(keys[:most]) + (f" and {len(keys) - most} more" if len(keys) > most else "")


def _parent(location: str) -> str:
    if location.startswith("s3://"):
        return location.rstrip("/").rpartition("/")[0]
    return posixpath.normpath(posixpath.join(location, ".."))


def _off(state: Inspection, explanation: str, give: str) -> Problem:
    return error(Code.FILE_DOES_NOT_EXIST, "", explanation, f"Give {give}.")
