"""What the sweep and `drmodels status` read about jobs, and the schedule that lets one worker of many
run the sweep in each interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from drmodels.registry.db import Registry
from drmodels.registry.jobs import updated
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import ImportJob, Schedule


@dataclass(frozen=True)
class JobRow:
    id: int
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


_COLUMNS = (
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


def jobs_in(registry: Registry, *statuses: JobStatus) -> list[JobRow]:
    """Jobs in these statuses, oldest first."""
    with registry.session() as s:
        rows = s.execute(
            sa.select(*_COLUMNS)
            .where(ImportJob.status.in_([x.value for x in statuses]))
            .order_by(ImportJob.id)
        ).all()
    return [JobRow(*row) for row in rows]


def jobs_by_id(registry: Registry, job_ids: Sequence[int]) -> list[JobRow]:
    with registry.session() as s:
        rows = s.execute(sa.select(*_COLUMNS).where(ImportJob.id.in_(list(job_ids)))).all()
    return [JobRow(*row) for row in rows]


def finished_since(registry: Registry, since: datetime) -> list[JobRow]:
    with registry.session() as s:
        rows = s.execute(
            sa.select(*_COLUMNS).where(
                ImportJob.status.in_([JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]),
                ImportJob.finished_at >= since,
            )
        ).all()
    return [JobRow(*row) for row in rows]


def mark_enqueued(registry: Registry, job_ids: Sequence[int], now: datetime) -> None:
    if not job_ids:
        return
    with registry.session() as s:
        updated(s, sa.update(ImportJob).where(ImportJob.id.in_(list(job_ids))).values(enqueued_at=now))


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
