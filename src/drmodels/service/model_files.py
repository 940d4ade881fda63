"""The text files of a stored model a person reads on its page: the reward function, the hyperparameters
and the training parameters (read from the store, capped; never executed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drmodels.adapters.ports import SourceError
from drmodels.registry.queries import ModelRecord
from drmodels.registry.statuses import ModelStatus
from drmodels.rules import layout
from drmodels.service.deps import Deps
from drmodels.service.store_keys import virtual_prefix


@dataclass(frozen=True)
class ModelFiles:
    reward_function: str | None
    hyperparameters: dict[str, Any] | None
    training_params: str | None
    """The first training_params*.yaml, as text."""


def model_files(deps: Deps, model: ModelRecord) -> ModelFiles:
    """What a READY model keeps of those files (None for each one it has not, or cannot be read)."""
    if model.status != ModelStatus.READY:
        return ModelFiles(None, None, None)
    keys = sorted(str(e["key"]) for e in model.manifest or [])
    source = deps.store.source(virtual_prefix(model.id))
    cap = deps.limits.control_read_bytes

    def text(key: str | None) -> str | None:
        if key is None:
            return None
        try:
            return source.read(key, cap).decode("utf-8", "replace")
        except SourceError:
            return None

    hyper = text(layout.HYPERPARAMETERS if layout.HYPERPARAMETERS in keys else None)
    try:
        parsed = json.loads(hyper) if hyper is not None else None
    except ValueError:
        parsed = None
    return ModelFiles(
        reward_function=text(layout.REWARD if layout.REWARD in keys else None),
        hyperparameters=parsed if isinstance(parsed, dict) else None,
        training_params=text(next((k for k in keys if layout.is_training_params(k)), None)),
    )
