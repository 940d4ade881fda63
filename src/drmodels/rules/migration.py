"""The spec's migration: which buckets and prefixes hold an account's models, their names, and what stays.

Pure: a bucket's listing in, model prefixes out. A model prefix is either the console's
`DeepRacer-SageMaker-RoboMaker-comm-<account>-<timestamp>-<uuid>` folder (found even when files are
missing, so the import can say which) or any folder whose `model/` holds the metadata or a checkpoint
pointer. Only buckets whose name contains `deepracer` (any case) are searched or ever touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from drmodels.rules import layout
from drmodels.rules.checkpoints import FILE_RE
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.requests import NAME

BUCKET_WORD = "deepracer"
CONSOLE_PREFIX = re.compile(
    r"^DeepRacer-SageMaker-RoboMaker-comm-(?P<account>\d{12})-(?P<stamp>\d{14})-(?P<uuid>[0-9A-Fa-f-]{36})$"
)
MODEL_MARKERS = frozenset(
    name.removeprefix(layout.MODEL_DIR)
    for name in (layout.METADATA, layout.COACH, layout.DOTLESS_COACH, layout.CHECKPOINTS_JSON)
)
"""A folder whose `model/` holds one of these is a model's prefix root."""
NAME_MAX = 64
FALLBACK_NAME = "migrated-model"


def is_migration_bucket(bucket: str) -> bool:
    """The spec's `*deepracer*`: the buckets a migration reads, and the only ones it may clean up."""
    return BUCKET_WORD in bucket.lower()


@dataclass(frozen=True)
class FoundModel:
    bucket: str
    prefix: str
    """The model's prefix root inside the bucket: '' (the bucket root) or ending with '/'."""
    console: bool
    """A console training prefix (as opposed to a folder recognised by its layout)."""
    objects: int
    size: int

    @property
    def source(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def split_source(source: str) -> tuple[str, str]:
    """(bucket, prefix) of an `s3://bucket/prefix/` source this migration recorded."""
    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    return bucket, prefix


def _console_root(key: str) -> str | None:
    parts = key.split("/")
    for i, part in enumerate(parts[:-1]):
        if CONSOLE_PREFIX.match(part):
            return "/".join(parts[: i + 1]) + "/"
    return None


def _layout_root(key: str) -> str | None:
    head, sep, name = key.rpartition("/")
    if not sep or name not in MODEL_MARKERS:
        return None
    if head == "model":
        return ""
    if head.endswith("/model"):
        return head.removesuffix("model")
    return None


def find_models(bucket: str, listing: Iterable[ObjectInfo]) -> list[FoundModel]:
    """Every model prefix of one bucket's listing (full keys), sorted; nothing for other buckets."""
    if not is_migration_bucket(bucket):
        return []
    objects = list(listing)
    roots: dict[str, bool] = {}
    for obj in objects:
        console_root = _console_root(obj.key)
        if console_root is not None:
            roots[console_root] = True
            continue
        root = _layout_root(obj.key)
        if root is not None:
            roots.setdefault(root, False)
    found = []
    for root, console in sorted(roots.items()):
        inside = [o for o in objects if o.key.startswith(root)]
        found.append(FoundModel(bucket, root, console, len(inside), sum(o.size for o in inside)))
    return found


def _clean(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]+", "-", text).strip("-")[:NAME_MAX].strip("-")


def base_name(found: FoundModel) -> str:
    """A valid model name from the prefix: `DeepRacer-<timestamp>-<uuid8>` for a console prefix, else
    the prefix's last folder (the bucket's name for a model at the bucket root)."""
    last = found.prefix.rstrip("/").rpartition("/")[2]
    match = CONSOLE_PREFIX.match(last)
    if match:
        return f"DeepRacer-{match['stamp']}-{match['uuid'][:8]}"
    return _clean(last or found.bucket) or FALLBACK_NAME


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`... (cut to fit 64 characters) if the account already uses it."""
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        name = base[: NAME_MAX - len(suffix)].rstrip("-") + suffix
        if name not in taken:
            assert NAME.match(name)
            return name
        n += 1


def name_models(found: Iterable[FoundModel], taken: set[str]) -> dict[str, str]:
    """source -> a name valid and unique in the account (`taken` holds the names it already uses)."""
    used = set(taken)
    names = {}
    for model in sorted(found, key=lambda f: (f.bucket, f.prefix)):
        name = unique_name(base_name(model), used)
        used.add(name)
        names[model.source] = name
    return names


def why_kept(key: str) -> str:
    """Why a source object under a model's prefix is not removed after migration (it was not copied)."""
    name = key.rpartition("/")[2]
    if FILE_RE.match(name) or (name.startswith("model_") and name.endswith(".pb")):
        return "checkpoint not kept by the import (only the planned checkpoints are copied)"
    lowered = key.lower()
    if "sim-trace" in lowered or "simtrace" in lowered:
        return "simulation trace (not part of the model)"
    if "video" in lowered or "mp4" in lowered:
        return "video (not part of the model)"
    if layout.is_log(key) or "/logs/" in f"/{key}":
        return "log (not part of the model)"
    return "not part of the imported model"
