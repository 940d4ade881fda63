"""The account migration: start it, run it (a job), report its progress.

`start_migration` returns the id of a migration job (`POST /migrations {roleArn}` answers it);
`run_migration(job_id, deps)` is the job: plan (migration_plan.py), register each new model MIGRATING
(WasMigrated, its source claimed once per account), retry errored ones when asked, resume interrupted
ones, then run each through the import pipeline `workers` at a time, until every one has ended. Running
it again, or after a kill, registers nothing twice; the job is leased (service/account_jobs.py), so a
migration whose worker died or went silent is taken over and resumed by another. `migration_progress`
is `GET /migrations/{id}`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from drmodels.errors import Conflict, InvalidRequest
from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import AccountJob, ImportJob, MigrationSource, Model
from drmodels.rules import requests
from drmodels.rules.migration import unique_name
from drmodels.service.account_jobs import Held, run_account_job
from drmodels.service.bulk import BulkProgress, run_jobs
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost
from drmodels.service.migration_plan import MIGRATE, RESUME, RETRY, SKIP, MigrationPlan, PlanItem, make_plan
from drmodels.service.models import ModelService

MIGRATION = "migration"
DEFAULT_WORKERS = 4
WAIT_S = 0.5
"""How often a migration looks again at imports another worker runs for it."""


def start_migration(
    deps: Deps, account_id: str, role_arn: str, *, retry_errors: bool = False, workers: int = DEFAULT_WORKERS
) -> int:
    """A queued migration of the account with its migration role. An unfinished one with the same role is
    answered instead (resumed, or followed while another worker runs it); one running with another role
    is a Conflict: one migration of an account at a time."""
    requests.check_account(account_id)
    requests.check_role_arn(role_arn)
    if not 1 <= workers <= 64:
        raise InvalidRequest("workers", f"workers run 1 to 64 imports at once; got {workers}")
    params, now = {"retry_errors": retry_errors, "workers": workers}, deps.clock()
    for job in account_jobs.unfinished(deps.registry, account_id, MIGRATION):
        if job.role_arn == role_arn:
            return job.id
        if job.status == JobStatus.RUNNING and not lost(job.owner, job.heartbeat_at, now, deps.jobs.lease):
            raise Conflict(
                f"migration {job.id} of account {account_id} is running with role {job.role_arn}; "
                f"wait for it to end (drmodels status, or GET /migrations/{job.id}), then start again"
            )
    return account_jobs.create(deps.registry, account_id, MIGRATION, role_arn, params, now)


def _register(service: ModelService, item: PlanItem, role_arn: str, migration_id: int) -> int | None:
    """The new model's queued import job; None if another run claimed the source meanwhile."""
    name, tried = item.name, {item.name}
    description = f"Migrated from {item.source}"[:255]
    for _ in range(20):
        try:
            return service.accept(name, item.source, description, role_arn, migration_id=migration_id).job_id
        except InvalidRequest:
            with service.deps.registry.session() as s:
                claimed = s.scalar(
                    sa.select(MigrationSource.id).where(
                        MigrationSource.account_id == service.account_id,
                        MigrationSource.source == item.source,
                    )
                )
                if claimed is not None:
                    return None
                taken = set(s.scalars(sa.select(Model.name).where(Model.account_id == service.account_id)))
            name = unique_name(item.name, taken | tried)
            tried.add(name)
    return None


def _adopt(deps: Deps, item: PlanItem, migration_id: int) -> None:
    """An interrupted or retried model, now counted (and driven) in this run."""
    with deps.registry.session() as s:
        s.execute(
            sa.update(MigrationSource)
            .where(MigrationSource.model_id == item.model_id)
            .values(migration_id=migration_id)
        )


def _queue(deps: Deps, account_id: str, plan: MigrationPlan, migration_id: int, held: Held) -> None:
    """Register the plan's new models, retry the errored ones asked for, adopt the interrupted ones."""
    service = ModelService(deps, account_id)
    for item in plan.items:
        held.check()
        if item.action == MIGRATE:
            _register(service, item, plan.role_arn, migration_id)
        elif item.action == RETRY:
            try:
                service.retry(item.name)
            except Conflict:  # its status changed since the plan (another run retried it)
                continue
            _adopt(deps, item, migration_id)
        elif item.action == RESUME:
            _adopt(deps, item, migration_id)


def run_migration(
    job_id: int, deps: Deps, listener: Callable[[BulkProgress], None] | None = None
) -> JobStatus:
    """Run (or take over and resume) one migration job under its lease; returns its final status."""
    return run_account_job(deps, job_id, lambda job, held: _migrate(deps, job, held, listener))


def _migrate(
    deps: Deps, job: AccountJob, held: Held, listener: Callable[[BulkProgress], None] | None
) -> dict[str, Any]:
    plan = make_plan(deps, job.account_id, job.role_arn or "", bool(job.params.get("retry_errors")))
    result = {"plan": plan.as_dict()}
    held.save(result)
    _queue(deps, job.account_id, plan, job.id, held)
    _drive(deps, job.id, int(job.params.get("workers") or DEFAULT_WORKERS), listener, held)
    return result


def _unfinished_imports(deps: Deps, migration_id: int) -> list[ImportJob]:
    with deps.registry.session() as s:
        return list(
            s.scalars(
                sa.select(ImportJob)
                .join(MigrationSource, MigrationSource.model_id == ImportJob.model_id)
                .where(
                    MigrationSource.migration_id == migration_id,
                    ImportJob.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                )
                .order_by(ImportJob.id)
            )
        )


def _drive(
    deps: Deps, migration_id: int, workers: int, listener: Callable[[BulkProgress], None] | None, held: Held
) -> None:
    """Run the migration's imports here, `workers` at a time, until every one has ended: the queued ones
    and those whose worker is lost; those another live worker runs (the sweep may have handed them out
    while this migration's first worker was gone) are waited for, and run here if that worker is lost."""
    while True:
        held.check()
        now, pending = deps.clock(), _unfinished_imports(deps, migration_id)
        if not pending:
            return
        runnable = [
            j.id for j in pending
            if j.status == JobStatus.QUEUED or lost(j.owner, j.heartbeat_at, now, deps.jobs.lease)
        ]  # fmt: skip
        if runnable:
            run_jobs(deps, runnable, workers, listener)
        else:
            time.sleep(WAIT_S)


@dataclass(frozen=True)
class MigrationProgress:
    """What `GET /migrations/{id}` answers: the plan's counts and where each migrated model stands."""

    id: int
    account_id: str
    role_arn: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: dict[str, str] | None
    buckets: list[str]
    ignored_buckets: list[str]
    bucket_errors: dict[str, str]
    found: int
    skipped: dict[str, int]
    """Reason -> count of model prefixes this run left alone."""
    models: dict[str, int]
    """Status -> count of the models this run registered, retried or resumed."""
    errors: dict[str, int]
    """Error code -> count, for the models that ended in MIGRATE_ERROR."""
    bytes_done: int
    bytes_total: int
    migrated_bytes: int
    """Stored bytes of the models READY."""
    requests: dict[str, int]
    """S3 requests of the discovery, by operation."""
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("created_at", "started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() + "Z" if value else None
        data["done"] = self.done
        return data


def migration_progress(deps: Deps, account_id: str, migration_id: int) -> MigrationProgress:
    """The migration as it stands (NotFound outside its account)."""
    job = account_jobs.get(deps.registry, account_id, migration_id, MIGRATION)
    empty: dict[str, Any] = {"role_arn": job.role_arn, "buckets": [], "ignored_buckets": []}  # not planned
    plan = MigrationPlan.from_dict((job.result or {}).get("plan") or empty)
    with deps.registry.session() as s:
        rows = s.execute(
            sa.select(Model, ImportJob)
            .join(MigrationSource, MigrationSource.model_id == Model.id)
            .join(ImportJob, ImportJob.model_id == Model.id)
            .where(MigrationSource.migration_id == migration_id)
            .order_by(Model.id, ImportJob.id)
        ).all()
    latest = {model.id: (model, ijob) for model, ijob in rows}  # each model with its last job
    statuses = Counter(m.status for m, _j in latest.values())
    errors = Counter(m.error_code or "" for m, _j in latest.values() if m.status == ModelStatus.MIGRATE_ERROR)
    by_source = {m.import_src_location: m for m, _j in latest.values()}
    items = []
    for item in plan.items:
        model = by_source.get(item.source)
        items.append(
            {
                "source": item.source, "name": model.name if model else item.name, "action": item.action,
                "reason": item.reason, "status": model.status if model else item.status,
                "error_code": model.error_code if model else item.error_code, "size": item.size,
            }
        )  # fmt: skip
    return MigrationProgress(
        id=job.id, account_id=job.account_id, role_arn=job.role_arn or "", status=job.status,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
        error={"code": job.error_code, "message": job.error_message or ""} if job.error_code else None,
        buckets=plan.buckets, ignored_buckets=plan.ignored, bucket_errors=plan.bucket_errors,
        found=len(plan.items),
        skipped=dict(Counter(i.reason for i in plan.items if i.action == SKIP and i.source not in by_source)),
        models=dict(statuses), errors=dict(errors),
        bytes_done=sum(j.bytes_done or 0 for _m, j in latest.values()),
        bytes_total=sum(j.bytes_total or 0 for _m, j in latest.values()),
        migrated_bytes=sum(m.size_bytes or 0 for m, _j in latest.values() if m.status == ModelStatus.READY),
        requests=plan.requests,
        items=items,
    )  # fmt: skip
