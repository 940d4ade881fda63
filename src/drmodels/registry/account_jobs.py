"""Account jobs (migration, source cleanup, metering): create, claim, save, finish; a transaction each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from drmodels.errors import NotFound
from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import Account, AccountJob

FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)


def ensure_account(registry: Registry, account_id: str, now: datetime) -> None:
    with registry.session() as s:
        if s.get(Account, account_id) is None:
            s.add(Account(id=account_id, created_at=now))


def create(
    registry: Registry,
    account_id: str,
    kind: str,
    role_arn: str | None,
    params: dict[str, Any],
    now: datetime,
) -> int:
    ensure_account(registry, account_id, now)
    with registry.session() as s:
        job = AccountJob(
            account_id=account_id, kind=kind, role_arn=role_arn, params=params,
            status=JobStatus.QUEUED.value, attempts=0, created_at=now,
        )  # fmt: skip
        s.add(job)
        s.flush()
        return job.id


def unfinished(registry: Registry, account_id: str, kind: str) -> list[AccountJob]:
    """The account's jobs of this kind that have not ended, oldest first."""
    with registry.session() as s:
        return list(
            s.scalars(
                sa.select(AccountJob)
                .where(
                    AccountJob.account_id == account_id,
                    AccountJob.kind == kind,
                    AccountJob.status.not_in(FINISHED),
                )
                .order_by(AccountJob.id)
            )
        )


def get(registry: Registry, account_id: str, job_id: int, kind: str) -> AccountJob:
    """The job, only within its account (another account's job is NotFound, like a missing one)."""
    with registry.session() as s:
        job = s.get(AccountJob, job_id)
        if job is None or job.account_id != account_id or job.kind != kind:
            raise NotFound(f"no {kind} {job_id} in account {account_id}")
        return job


def claim(
    registry: Registry, job_id: int, worker: str, now: datetime, taken: Callable[[AccountJob], bool]
) -> AccountJob | None:
    """Mark the job RUNNING by `worker`; None if it ended, or `taken(job)` says a live worker has it."""
    with registry.session() as s:
        job = s.get(AccountJob, job_id, with_for_update=True)
        if job is None or job.status in FINISHED:
            return None
        if job.status == JobStatus.RUNNING and job.owner != worker and taken(job):
            return None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.owner = worker
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        s.flush()
        return job


def save(registry: Registry, job_id: int, result: dict[str, Any], now: datetime) -> None:
    """What the job found or did so far; doubles as its heartbeat."""
    with registry.session() as s:
        job = s.get_one(AccountJob, job_id)
        job.result = result
        job.heartbeat_at = now


def finish(
    registry: Registry, job_id: int, result: dict[str, Any] | None, now: datetime,
    error: tuple[str, str] | None = None,
) -> None:  # fmt: skip
    """SUCCEEDED with its result, or FAILED with (code, message)."""
    with registry.session() as s:
        job = s.get_one(AccountJob, job_id)
        if result is not None:
            job.result = result
        job.status = (JobStatus.FAILED if error else JobStatus.SUCCEEDED).value
        job.error_code, job.error_message = error or (None, None)
        job.finished_at = job.heartbeat_at = now
