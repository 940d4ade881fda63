"""A migration's plan: every model prefix in the account's `*deepracer*` buckets, and what to do with each.

Discovery uses the account's migration role (the spec's "Model migration permissions"): list the buckets,
list each `*deepracer*` one, find model prefixes (rules/migration.py). Each prefix is matched with what
the registry already knows of it (one model per source, ever), so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from drmodels.adapters.ports import SourceError
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import MigrationSource, Model
from drmodels.rules.migration import FoundModel, find_models, is_migration_bucket, name_models
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost

MIGRATE, RESUME, RETRY, SKIP = "migrate", "resume", "retry", "skip"


@dataclass(frozen=True)
class PlanItem:
    source: str
    bucket: str
    prefix: str
    name: str
    action: str
    """migrate (new), resume (interrupted), retry (errored, with --retry-errors) or skip."""
    reason: str
    objects: int
    size: int
    console: bool
    model_id: str | None = None
    status: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    role_arn: str
    buckets: list[str]
    """The `*deepracer*` buckets searched."""
    ignored: list[str]
    """Buckets left alone: their name does not contain `deepracer`."""
    bucket_errors: dict[str, str] = field(default_factory=dict)
    """Buckets that could not be listed, with the reason."""
    items: list[PlanItem] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    """S3 requests discovery sent, by operation."""

    def count(self, action: str) -> int:
        return sum(1 for i in self.items if i.action == action)

    def as_dict(self) -> dict[str, Any]:
        return {
            "role_arn": self.role_arn,
            "buckets": self.buckets,
            "ignored_buckets": self.ignored,
            "bucket_errors": self.bucket_errors,
            "items": [asdict(i) for i in self.items],
            "requests": self.requests,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MigrationPlan:
        return cls(
            data["role_arn"], data["buckets"], data["ignored_buckets"], data.get("bucket_errors", {}),
            [PlanItem(**i) for i in data.get("items", [])], dict(data.get("requests", {})),
        )  # fmt: skip


def discover(
    deps: Deps, role_arn: str
) -> tuple[list[str], list[str], dict[str, str], list[FoundModel], dict[str, int]]:
    """(searched buckets, ignored buckets, bucket errors, model prefixes, requests) as the role sees it."""
    s3 = deps.need_aws().s3(role_arn)
    searched, ignored, errors, found = [], [], {}, []
    for bucket in s3.buckets():
        if not is_migration_bucket(bucket):
            ignored.append(bucket)
            continue
        searched.append(bucket)
        try:
            found += find_models(bucket, s3.listing(bucket))
        except SourceError as exc:
            errors[bucket] = f"{exc.code.value}: {exc.message} {exc.fix}"
    return searched, ignored, errors, found, dict(s3.requests)


def _known(deps: Deps, account_id: str) -> tuple[dict[str, tuple[MigrationSource, Model | None]], set[str]]:
    with deps.registry.session() as s:
        rows = s.execute(
            sa.select(MigrationSource, Model)
            .outerjoin(Model, Model.id == MigrationSource.model_id)
            .where(MigrationSource.account_id == account_id)
        ).all()
        names = set(s.scalars(sa.select(Model.name).where(Model.account_id == account_id)))
        for _src, model in rows:
            if model is not None:
                _ = model.jobs  # loaded inside the session
        return {src.source: (src, model) for src, model in rows}, names


def _decide(model: Model | None, retry_errors: bool, now: datetime, lease: timedelta) -> tuple[str, str]:
    if model is None:
        return SKIP, "its model was deleted: a migration does not bring it back"
    if model.status == ModelStatus.READY:
        return SKIP, "already migrated"
    if model.status == ModelStatus.MIGRATE_ERROR:
        if retry_errors:
            return RETRY, f"retried after {model.error_code}"
        return SKIP, f"failed with {model.error_code}; rerun with --retry-errors to try again"
    last = model.jobs[-1] if model.jobs else None
    if model.status == ModelStatus.MIGRATING and last is not None:
        if last.status == JobStatus.QUEUED or (
            last.status == JobStatus.RUNNING and lost(last.owner, last.heartbeat_at, now, lease)
        ):
            return RESUME, "interrupted: resumed"
        if last.status == JobStatus.RUNNING:
            return SKIP, "being migrated by a running worker"
    return SKIP, f"is {model.status}"


def make_plan(deps: Deps, account_id: str, role_arn: str, retry_errors: bool) -> MigrationPlan:
    """Discovery, then each model prefix against the registry: what a run would do (nothing is written)."""
    searched, ignored, errors, found, sent = discover(deps, role_arn)
    known, taken = _known(deps, account_id)
    names = name_models([f for f in found if f.source not in known], taken)
    now = deps.clock()
    items = []
    for f in found:
        if f.source in known:
            _src, model = known[f.source]
            action, reason = _decide(model, retry_errors, now, deps.jobs.lease)
            name = model.name if model else "-"
            extra = (
                {"model_id": model.id, "status": model.status, "error_code": model.error_code}
                if model
                else {}
            )
        else:
            action, reason, name, extra = MIGRATE, "new", names[f.source], {}
        items.append(
            PlanItem(
                f.source, f.bucket, f.prefix, name, action, reason, f.objects, f.size, f.console, **extra
            )
        )
    return MigrationPlan(role_arn, searched, ignored, errors, items, sent)
