"""Usage records for billing: a storage span per stored model, a work span per finished job; metered days.

Records carry no foreign key to the model, so a deleted model's storage until its deletion is still billed.
Every time written here is the caller's clock (`Deps.clock`), so a bill can be derived with any clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from drmodels.registry.tables import Model, UsageDay, UsageRecord

STORAGE = "storage"


def start_storage(s: Session, model: Model, now: datetime) -> None:
    """The model's bytes are held from now on (its READY moment)."""
    s.add(
        UsageRecord(
            account_id=model.account_id,
            model_id=model.id,
            kind=STORAGE,
            size_bytes=model.size_bytes or 0,
            started_at=now,
            ended_at=None,
            migrated_at=model.creation_time if model.was_migrated else None,
        )
    )


def end_storage(s: Session, model_id: str, now: datetime) -> None:
    """The model's stored bytes are gone (deleted) from now on."""
    s.execute(
        sa.update(UsageRecord)
        .where(UsageRecord.model_id == model_id, UsageRecord.kind == STORAGE, UsageRecord.ended_at.is_(None))
        .values(ended_at=now)
    )


def record_work(s: Session, model: Model, kind: str, started: datetime, ended: datetime) -> None:
    """The service worked on the model from `started` to `ended` (an import or migration attempt)."""
    s.add(
        UsageRecord(
            account_id=model.account_id,
            model_id=model.id,
            kind=kind,
            size_bytes=0,
            started_at=started,
            ended_at=ended,
            migrated_at=None,
        )
    )


def records_between(s: Session, account_id: str, start: datetime, end: datetime) -> Sequence[UsageRecord]:
    """Every record of the account that overlaps [start, end)."""
    return s.scalars(
        sa.select(UsageRecord)
        .where(
            UsageRecord.account_id == account_id,
            UsageRecord.started_at < end,
            sa.or_(UsageRecord.ended_at.is_(None), UsageRecord.ended_at > start),
        )
        .order_by(UsageRecord.id)
    ).all()


def save_days(s: Session, account_id: str, days: Sequence[UsageDay]) -> None:
    """Replace the account's metered days with these (metering is idempotent)."""
    if not days:
        return
    s.execute(
        sa.delete(UsageDay).where(UsageDay.account_id == account_id, UsageDay.day.in_([d.day for d in days]))
    )
    s.add_all(days)


def days_between(s: Session, account_id: str, first: date, last: date) -> Sequence[UsageDay]:
    return s.scalars(
        sa.select(UsageDay)
        .where(UsageDay.account_id == account_id, UsageDay.day >= first, UsageDay.day <= last)
        .order_by(UsageDay.day)
    ).all()
