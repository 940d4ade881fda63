"""What the sweep and `drmodels status` read about jobs (import jobs and account jobs alike, each row
with its kind), and the schedule that lets one worker of many run the sweep in each interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from drmodels.registry.db import Registry
from drmodels.registry.jobs import updated
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob, ImportJob, Schedule

IMPORT = "import"
"""The kind of every import_jobs row (account_jobs name theirs: migration, source-cleanup, metering)."""


@dataclass(frozen=True)
class JobRow:
    kind: str
    id: int
    """Unique within its kind's table: an import job and an account job may share a number."""
    status: str
    owner: str | None
    heartbeat_at: datetime | None
    waiting_since: datetime
    """When the job was last handed to a runner (its creation if never)."""
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    error_code: str | None
    finished_at: datetime | None


_IMPORT_COLUMNS = (
    sa.literal(IMPORT, sa.String),
    ImportJob.id,
    ImportJob.status,
    ImportJob.owner,
    ImportJob.heartbeat_at,
    sa.func.coalesce(ImportJob.enqueued_at, ImportJob.created_at),
    sa.func.coalesce(ImportJob.bytes_done, 0),
    sa.func.coalesce(ImportJob.bytes_total, 0),
    sa.func.coalesce(ImportJob.files_done, 0),
    sa.func.coalesce(ImportJob.files_total, 0),
    ImportJob.error_code,
    ImportJob.finished_at,
)
_ACCOUNT_COLUMNS = (
    AccountJob.kind,
    AccountJob.id,
    AccountJob.status,
    AccountJob.owner,
    AccountJob.heartbeat_at,
    sa.func.coalesce(AccountJob.enqueued_at, AccountJob.created_at),
    *(sa.literal(0, sa.BigInteger) for _ in range(4)),  # an account job's progress is in its result
    AccountJob.error_code,
    AccountJob.finished_at,
)


def _rows(registry: Registry, *selects: sa.Executable) -> list[JobRow]:
    with registry.session() as s:
        return [JobRow(*row) for select in selects for row in s.execute(select).all()]


def jobs_in(registry: Registry, *statuses: JobStatus) -> list[JobRow]:
    """Jobs of every kind in these statuses: import jobs, then account jobs, oldest first."""
    wanted = [x.value for x in statuses]
    return _rows(
        registry,
        sa.select(*_IMPORT_COLUMNS).where(ImportJob.status.in_(wanted)).order_by(ImportJob.id),
        sa.select(*_ACCOUNT_COLUMNS).where(AccountJob.status.in_(wanted)).order_by(AccountJob.id),
    )


def jobs_by_id(registry: Registry, job_ids: Sequence[int]) -> list[JobRow]:
    """Import jobs by id."""
    return _rows(registry, sa.select(*_IMPORT_COLUMNS).where(ImportJob.id.in_(list(job_ids))))


def finished_since(registry: Registry, since: datetime) -> list[JobRow]:
    ended = [JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]
    return _rows(
        registry,
        sa.select(*_IMPORT_COLUMNS).where(ImportJob.status.in_(ended), ImportJob.finished_at >= since),
        sa.select(*_ACCOUNT_COLUMNS).where(AccountJob.status.in_(ended), AccountJob.finished_at >= since),
    )


def mark_enqueued(registry: Registry, jobs: Sequence[JobRow], now: datetime) -> None:
    """Record that these jobs were handed to a runner now."""
    imports = [j.id for j in jobs if j.kind == IMPORT]
    accounts = [j.id for j in jobs if j.kind != IMPORT]
    with registry.session() as s:
        for table, ids in ((ImportJob, imports), (AccountJob, accounts)):
            if ids:
                updated(s, sa.update(table).where(table.id.in_(ids)).values(enqueued_at=now))


def take_schedule(registry: Registry, name: str, worker: str, now: datetime, every: timedelta) -> bool:
    """True for exactly one caller per `every`: the one whose conditional UPDATE moved `due_at` on."""
    with registry.session() as s:
        moved = updated(
            s,
            sa.update(Schedule)
            .where(Schedule.name == name, Schedule.due_at <= now)
            .values(due_at=now + every, owner=worker),
        )
        if moved == 1:
            return True
        if s.get(Schedule, name) is not None:
            return False
    try:
        with registry.session() as s:
            s.add(Schedule(name=name, due_at=now + every, owner=worker))
    except IntegrityError:  # another worker created it first: theirs is this interval's run
        return False
    return True
