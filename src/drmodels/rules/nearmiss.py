"""Near misses: files named almost like a mandatory one ("found Reward_Function.py: did you mean
reward_function.py?"), so a missing file is never reported without the likely culprit."""

from __future__ import annotations

import difflib
import posixpath
import re

_COPY_MARK = re.compile(r"(?: \(\d+\)| - copy| copy|-copy|_copy)(?=\.[^.]+$|$)", re.IGNORECASE)
_SIMILAR = 0.85
"""difflib ratio from which two names are taken for one: `rewardfucntion.py` for `reward_function.py`."""
MAX_SHOWN = 3


def _normal(name: str) -> str:
    return _COPY_MARK.sub("", name).lower()


def _close(found: str, wanted: str) -> bool:
    a, b = _normal(found), _normal(wanted)
    if a == b:
        return True
    stem, ext = posixpath.splitext(b.lstrip("."))
    variant = a.lstrip(".")
    if variant.endswith(ext) and variant.startswith((stem + "_", stem + "-", stem + ".")):
        return True  # model_metadata_sac.json, hyperparameters_sac.json, reward_function_v2.py
    return difflib.SequenceMatcher(None, a, b).ratio() >= _SIMILAR


def near_misses(wanted: str, keys: list[str]) -> list[str]:
    """Keys, at most two levels deep, whose folder and name are close to `wanted`'s (not `wanted`)."""
    folder, name = posixpath.split(wanted)
    found = []
    for key in keys:
        if key == wanted or key.count("/") > 1:
            continue
        key_folder, key_name = posixpath.split(key)
        same_folder = key_folder.lower() == folder.lower()
        if (same_folder or key_folder.lower() in _TRAINER_FOLDERS) and _close(key_name, name):
            found.append(key)
    return sorted(found, key=lambda k: (k.lower() != wanted.lower(), k))[:MAX_SHOWN]


_TRAINER_FOLDERS = frozenset({"", "model", "ip", "custom_files", "custom-files", "defaults"})
"""Where trainers and templates keep a model's files (DRfC's custom_files/ and defaults/)."""


def did_you_mean(wanted: str, keys: list[str]) -> str:
    """' Found X: did you mean Y?' for the nearest names, or ''."""
    found = near_misses(wanted, keys)
    if not found:
        return ""
    case = " (names are case-sensitive)" if any(k.lower() == wanted.lower() for k in found) else ""
    return f" Found {', '.join(found)}: did you mean {wanted}{case}?"
