"""The service's dependencies for a test: built by bootstrap from settings, then adjusted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from drmodels.adapters.ports import ModelStore
from drmodels.bootstrap import build
from drmodels.config import load_settings
from drmodels.rules.limits import Limits
from drmodels.service.deps import Deps, ImportOptions, RetryPolicy
from drmodels.service.models import ModelService


def make_deps(
    tmp_path: Path,
    *,
    store: ModelStore | None = None,
    registry_url: str | None = None,
    limits: Limits | None = None,
    deep: bool = False,
    retry: RetryPolicy | None = None,
) -> Deps:
    """SQLite registry and a local store under tmp_path/data unless given; deep checks off by default."""
    deps = build(load_settings(data_dir=tmp_path / "data", registry_url=registry_url))
    options = ImportOptions(deep=deep, retry=retry or RetryPolicy())
    return replace(deps, store=store or deps.store, limits=limits or deps.limits, options=options)


def service(tmp_path: Path, **kwargs: object) -> ModelService:
    return ModelService(make_deps(tmp_path, **kwargs))  # type: ignore[arg-type]


def with_options(svc: ModelService, **changes: object) -> ModelService:
    """The same account's service with other import options (deep checks, retries)."""
    return ModelService(replace(svc.deps, options=replace(svc.deps.options, **changes)), svc.account_id)
