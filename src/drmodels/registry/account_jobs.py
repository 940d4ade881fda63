"""Account jobs (migration, source cleanup, metering): create, claim, save, finish; a transaction each.

They are leased as import jobs are (registry/jobs.py: `take`, `heartbeat`, `fenced`): one claim wins,
the holder renews its lease, and once another worker has taken a job over, the first one's writes
(its result so far, the end) change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from drmodels.errors import NotFound
from drmodels.registry.db import Registry
from drmodels.registry.jobs import fenced, take, updated
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import Account, AccountJob

FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)
MAX_ID = 2**31 - 1
"""Job ids are 32-bit integers in the registry: a larger one names no job."""


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


def recent(registry: Registry, account_id: str, kind: str, limit: int) -> list[AccountJob]:
    """The account's latest `limit` jobs of this kind, newest first."""
    with registry.session() as s:
        return list(
            s.scalars(
                sa.select(AccountJob)
                .where(AccountJob.account_id == account_id, AccountJob.kind == kind)
                .order_by(AccountJob.id.desc())
                .limit(limit)
            )
        )


def get(registry: Registry, account_id: str, job_id: int, kind: str) -> AccountJob:
    """The job, only within its account (another account's job is NotFound, like a missing one)."""
    if not 1 <= job_id <= MAX_ID:
        raise NotFound(f"no {kind} {job_id} in account {account_id}")
    with registry.session() as s:
        job = s.get(AccountJob, job_id)
        if job is None or job.account_id != account_id or job.kind != kind:
            raise NotFound(f"no {kind} {job_id} in account {account_id}")
        return job


def claim(
    registry: Registry, job_id: int, worker: str, now: datetime, taken: Callable[[AccountJob], bool]
) -> AccountJob | None:
    """Mark the job RUNNING by `worker` (the same exclusive claim as an import job's); None if it
    ended, or `taken(job)` says a live worker has it. `started_at` stays the first claim's."""
    with registry.session() as s:
        first_start = sa.func.coalesce(AccountJob.started_at, now)
        job = take(s, AccountJob, job_id, worker, now, taken, started_at=first_start)
        if job is None:
            return None
        s.refresh(job)
        return job


def save(registry: Registry, job_id: int, worker: str, result: dict[str, Any], now: datetime) -> bool:
    """What the job found or did so far, and its heartbeat; False when `worker` no longer holds it."""
    with registry.session() as s:
        return updated(s, fenced(AccountJob, job_id, worker).values(result=result, heartbeat_at=now)) == 1


def finish(
    registry: Registry, job_id: int, worker: str, result: dict[str, Any] | None, now: datetime,
    error: tuple[str, str] | None = None,
) -> bool:  # fmt: skip
    """SUCCEEDED with its result, or FAILED with (code, message); False when `worker` no longer holds it
    (another worker took it over: that one's end counts)."""
    values: dict[str, Any] = {
        "status": (JobStatus.FAILED if error else JobStatus.SUCCEEDED).value,
        "error_code": error[0] if error else None,
        "error_message": error[1] if error else None,
        "finished_at": now,
        "heartbeat_at": now,
    }
    if result is not None:
        values["result"] = result
    with registry.session() as s:
        return updated(s, fenced(AccountJob, job_id, worker).values(**values)) == 1


def status_of(registry: Registry, job_id: int) -> JobStatus:
    with registry.session() as s:
        return JobStatus(s.get_one(AccountJob, job_id).status)
