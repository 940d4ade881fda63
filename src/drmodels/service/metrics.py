"""A model's training curves: its stored metrics files, read within the caps, summarised by rules/metrics."""

from __future__ import annotations

from drmodels.adapters.ports import SourceError
from drmodels.errors import StoreError
from drmodels.registry.queries import ModelRecord
from drmodels.rules import layout
from drmodels.rules.metrics import MetricsCaps, ModelMetrics, summarise
from drmodels.service.deps import Deps
from drmodels.service.store_keys import virtual_prefix

__all__ = ["ModelMetrics", "model_metrics"]


def model_metrics(deps: Deps, model: ModelRecord) -> ModelMetrics:
    """The charts' data of `model` from the metrics files its manifest lists (none: empty metrics).

    Files are taken in key order while they fit the caps (one file, all files, their count); sizes come
    from the manifest, so a file over a cap is never opened, and every read is capped again."""
    caps = MetricsCaps.from_limits(deps.limits)
    entries = {
        e["key"]: int(e.get("size") or 0)
        for e in model.manifest or []
        if isinstance(e, dict) and isinstance(e.get("key"), str)
    }
    keys = sorted(k for k in entries if layout.is_metrics(k))
    if not keys:
        return ModelMetrics()
    source = deps.store.source(virtual_prefix(model.id))
    files: list[tuple[str, bytes]] = []
    not_read: list[str] = []
    budget = caps.total_bytes
    for key in keys:
        size = entries[key]
        if len(files) >= caps.max_files or size > caps.file_bytes or size > budget:
            not_read.append(key)
            continue
        try:
            data = source.read(key, caps.file_bytes)
        except (SourceError, StoreError, OSError):
            not_read.append(key)
            continue
        budget -= len(data)
        files.append((key, data))
    return summarise(files, _hyperparameters(deps, model, entries), caps, not_read=not_read)


def _hyperparameters(deps: Deps, model: ModelRecord, entries: dict[str, int]) -> bytes | None:
    key = layout.HYPERPARAMETERS
    if key not in entries or entries[key] > deps.limits.control_file_bytes:
        return None
    try:
        return deps.store.source(virtual_prefix(model.id)).read(key, deps.limits.control_file_bytes)
    except (SourceError, StoreError, OSError):
        return None
