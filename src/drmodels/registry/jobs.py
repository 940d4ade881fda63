"""Import jobs' state transitions in the registry: claim, heartbeat, progress, ready, fail; each one
transaction, and every one after the claim fenced by the worker that holds the job.

The same pipeline runs an import and a migration: a migrated model (`was_migrated`) goes through
MIGRATING -> READY / MIGRATE_ERROR instead of IMPORTING -> READY / IMPORT_ERROR.

The lease itself (`take`, `fenced`, `heartbeat`) works on any job table with the lease columns (id,
status, attempts, owner, heartbeat_at): account jobs (registry/account_jobs.py) use it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import AccountJob, ImportJob, JobRun, Model, ModelEvent
from drmodels.registry.usage import record_work, start_storage
from drmodels.rules.problems import Problem

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)
LOST = "LOST"
"""The outcome of a run whose job another worker took over."""
Job = TypeVar("Job", ImportJob, AccountJob)
"""A job table with a lease: what a worker claims, renews and writes while it holds it."""
Leased = type[ImportJob] | type[AccountJob]


def working_status(model: Model) -> ModelStatus:
    """What the model is while its job runs: IMPORTING, or MIGRATING for a migrated model."""
    return ModelStatus.MIGRATING if model.was_migrated else ModelStatus.IMPORTING


def error_status(model: Model) -> ModelStatus:
    return ModelStatus.MIGRATE_ERROR if model.was_migrated else ModelStatus.IMPORT_ERROR


def _verb(model: Model) -> str:
    return "migrate" if model.was_migrated else "import"


def updated(s: Session, statement: sa.Update) -> int:
    """Rows a conditional UPDATE changed (its condition held for them)."""
    result = cast("sa.CursorResult[Any]", s.execute(statement.execution_options(synchronize_session=False)))
    return int(result.rowcount)


@dataclass(frozen=True)
class Claim:
    """What a worker needs to run a job it has just claimed."""

    model_id: str
    source: str
    role_arn: str | None
    fresh: bool
    """A first attempt on a new model: the store holds nothing of it yet."""
    model_name: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a finished import records on its model."""

    size_bytes: int
    packaging_complete: bool
    manifest: list[dict[str, Any]]
    checkpoints: list[str]
    car_configuration: dict[str, Any] | None
    agent_algorithm: str | None
    warnings: list[Problem]
    event: str


def claim(
    registry: Registry, job_id: int, worker: str, now: datetime, taken: Callable[[ImportJob], bool]
) -> Claim | None:
    """Mark the job RUNNING by `worker`; None if it is finished or `taken(job)` says another has it.

    Exclusive on every database: the job row is locked where the database can (PostgreSQL's
    SELECT ... FOR UPDATE), and the claim itself is a conditional UPDATE on the status, owner and
    attempt count read, so of two workers claiming at once exactly one updates a row (SQLite too).
    A run taken over is closed as LOST at its last heartbeat.
    """
    with registry.session() as s:
        job = take(s, ImportJob, job_id, worker, now, taken, started_at=now, bytes_done=0, files_done=0)
        if job is None:
            return None
        seen_attempts, last_seen = job.attempts, job.heartbeat_at  # as read before the claim
        updated(
            s,
            sa.update(JobRun)
            .where(JobRun.job_id == job_id, JobRun.ended_at.is_(None))
            .values(ended_at=min(last_seen or now, now), outcome=LOST),
        )
        s.add(JobRun(job_id=job_id, attempt=seen_attempts + 1, owner=worker, started_at=now))
        model = job.model
        model.status = working_status(model).value
        model.error_code = None
        model.error_details = None
        s.add(
            ModelEvent(
                model_id=model.id,
                at=now,
                kind=f"{_verb(model)}-started",
                message=f"{_verb(model)} attempt {seen_attempts + 1} from {job.source}",
            )
        )
        fresh = seen_attempts == 0 and len(model.jobs) == 1
        return Claim(model.id, job.source, job.role_arn, fresh, model.name)


def take(
    s: Session, table: type[Job], job_id: int, worker: str, now: datetime, taken: Callable[[Job], bool],
    **values: Any,
) -> Job | None:  # fmt: skip
    """Claim a job of `table` for `worker` in `s` (RUNNING, one more attempt, its lease from `now`, and
    `values`); the job as it was read before the claim, or None if it is finished, `taken(job)` says a
    live worker has it, or another claim won (a conditional UPDATE on the status, owner and attempts
    read, after SELECT ... FOR UPDATE where the database has it)."""
    job = s.get(table, job_id, with_for_update=True)
    if job is None or job.status in FINISHED:
        return None
    if job.status == JobStatus.RUNNING and job.owner != worker and taken(job):
        return None
    owner_was = table.owner.is_(None) if job.owner is None else table.owner == job.owner
    won = updated(
        s,
        sa.update(table)
        .where(table.id == job_id, table.status == job.status, table.attempts == job.attempts, owner_was)
        .values(status=JobStatus.RUNNING.value, attempts=job.attempts + 1, owner=worker, heartbeat_at=now,
                **values),
    )  # fmt: skip
    return job if won == 1 else None


def fenced(table: Leased, job_id: int, worker: str) -> sa.Update:
    """An UPDATE of the job that changes a row only while `worker` holds it (RUNNING, owned by it)."""
    return sa.update(table).where(
        table.id == job_id, table.owner == worker, table.status == JobStatus.RUNNING.value
    )


def _held(registry: Registry, job_id: int, worker: str, **values: Any) -> bool:
    """Write `values` on the job if `worker` still holds it (RUNNING, owned by it); whether it did."""
    with registry.session() as s:
        return updated(s, fenced(ImportJob, job_id, worker).values(**values)) == 1


def heartbeat(registry: Registry, job_id: int, worker: str, now: datetime, table: Leased = ImportJob) -> bool:
    """Renew `worker`'s lease on the job; False when it no longer holds it (taken over or finished)."""
    with registry.session() as s:
        return updated(s, fenced(table, job_id, worker).values(heartbeat_at=now)) == 1


def holds(registry: Registry, job_id: int, worker: str) -> bool:
    """Whether `worker` still holds the job (read before removing anything from the store)."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id)
        return job is not None and job.owner == worker and job.status == JobStatus.RUNNING


def _finish(
    s: Session, job_id: int, worker: str, now: datetime, status: JobStatus, error_code: str | None
) -> bool:
    """End the job and `worker`'s run in one conditional UPDATE each: nothing if another holds it."""
    values: dict[str, Any] = {"status": status.value, "finished_at": now, "error_code": error_code}
    if status == JobStatus.SUCCEEDED:
        values.update(bytes_done=ImportJob.bytes_total, files_done=ImportJob.files_total)
    done = updated(s, fenced(ImportJob, job_id, worker).values(**values))
    if done != 1:
        return False
    updated(
        s,
        sa.update(JobRun)
        .where(JobRun.job_id == job_id, JobRun.owner == worker, JobRun.ended_at.is_(None))
        .values(ended_at=now, outcome=status.value)
        .execution_options(synchronize_session=False),
    )
    return True


def final_status(registry: Registry, job_id: int) -> ModelStatus:
    """The status of the job's model (IMPORT_ERROR when the job is gone)."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id)
        return ModelStatus(job.model.status) if job is not None else ModelStatus.IMPORT_ERROR


def fail_queued(
    registry: Registry, job_id: int, problems: Callable[[str], list[Problem]], now: datetime
) -> bool:
    """IMPORT_ERROR for a job no worker has claimed (it will not run: its bulk import was stopped);
    `problems(model_name)` says why. False once a worker claimed it (its run decides)."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status != JobStatus.QUEUED:
            return False
        found = problems(job.model.name)
        values = {"status": JobStatus.FAILED.value, "finished_at": now, "error_code": found[0].code.value}
        queued = sa.update(ImportJob).where(
            ImportJob.id == job_id, ImportJob.status == JobStatus.QUEUED.value
        )
        if updated(s, queued.values(**values)) != 1:
            return False
        _refused(s, job.model_id, found, 0, now)
        return True


def save_progress(
    registry: Registry, job_id: int, worker: str, bytes_done: int, bytes_total: int, files_done: int,
    files_total: int, now: datetime,
) -> bool:  # fmt: skip
    """Progress and heartbeat in one write; False when `worker` no longer holds the job."""
    return _held(
        registry, job_id, worker, bytes_done=bytes_done, files_done=files_done, bytes_total=bytes_total,
        files_total=files_total, heartbeat_at=now,
    )  # fmt: skip


def mark_ready(
    registry: Registry, job_id: int, worker: str, model_id: str, outcome: Outcome, now: datetime
) -> bool:
    """READY, if `worker` still holds the job (False: another worker took it over; nothing written)."""
    with registry.session() as s:
        if not _finish(s, job_id, worker, now, JobStatus.SUCCEEDED, None):
            return False
        model = s.get_one(Model, model_id)
        model.status = ModelStatus.READY.value
        model.error_code = None
        model.error_details = [p.as_dict() for p in outcome.warnings] or None
        model.size_bytes = outcome.size_bytes
        model.packaging_complete = outcome.packaging_complete
        model.manifest = outcome.manifest
        model.checkpoints = outcome.checkpoints
        model.car_configuration = outcome.car_configuration
        if outcome.agent_algorithm is not None:
            model.agent_algorithm = outcome.agent_algorithm
            model.agent_network = "SIX_LAYER_DOUBLE_HEAD_OUTPUT"
        s.add(ModelEvent(model_id=model_id, at=now, kind="ready", message=outcome.event))
        record_work(s, model, _verb(model), _run_start(s, job_id, worker, now), now)
        start_storage(s, model, now)
        return True


def mark_failed(
    registry: Registry, job_id: int, worker: str, model_id: str, problems: list[Problem], removed: int,
    now: datetime,
) -> bool:  # fmt: skip
    """IMPORT_ERROR (MIGRATE_ERROR) with every problem; the first one's code is the model's error code.

    Written only while `worker` holds the job (False otherwise: another worker took it over).
    """
    with registry.session() as s:
        if not _finish(s, job_id, worker, now, JobStatus.FAILED, problems[0].code.value):
            return False
        model = _refused(s, model_id, problems, removed, now)
        record_work(s, model, _verb(model), _run_start(s, job_id, worker, now), now)
        return True


def _refused(s: Session, model_id: str, problems: list[Problem], removed: int, now: datetime) -> Model:
    """The model in its error status (IMPORT_ERROR, MIGRATE_ERROR) with every problem, and the event."""
    first = problems[0]
    model = s.get_one(Model, model_id)
    model.status = error_status(model).value
    model.error_code = first.code.value
    model.error_details = [p.as_dict() for p in problems]
    model.size_bytes = 0
    model.packaging_complete = False
    model.manifest = None
    s.add(
        ModelEvent(
            model_id=model_id,
            at=now,
            kind=f"{_verb(model)}-error",
            message=f"{first.code.value}: {first.path + ': ' if first.path else ''}{first.explanation}",
            details={"removed_objects": removed, "problems": len(problems)},
        )
    )
    return model


def _run_start(s: Session, job_id: int, worker: str, now: datetime) -> datetime:
    """When `worker`'s run of the job began (the service's work to bill)."""
    started = s.scalar(
        sa.select(JobRun.started_at)
        .where(JobRun.job_id == job_id, JobRun.owner == worker)
        .order_by(JobRun.id.desc())
    )
    return started or now
