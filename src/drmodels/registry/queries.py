"""Reading models back: by name within an account, or all of an account's, with jobs and history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from drmodels.registry.tables import Account, Model


def ensure_account(s: Session, account_id: str, now: datetime) -> None:
    """The account's row, created if missing; two requests creating it at once both succeed."""
    dialect = s.get_bind().dialect.name
    row = {"id": account_id, "created_at": now}
    if dialect == "postgresql":
        s.execute(postgresql.insert(Account).values(row).on_conflict_do_nothing())
    elif dialect == "sqlite":
        s.execute(sqlite.insert(Account).values(row).on_conflict_do_nothing())
    elif s.get(Account, account_id) is None:
        s.add(Account(**row))
        s.flush()


def lock_model(s: Session, account_id: str, name: str) -> Model | None:
    """The model, locked for this transaction (concurrent retries and deletes of it wait their turn)."""
    return s.scalars(
        sa.select(Model)
        .where(Model.account_id == account_id, Model.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
        .options(selectinload(Model.jobs), selectinload(Model.events))
    ).one_or_none()


def find_model(s: Session, account_id: str, name: str) -> Model | None:
    return s.scalars(
        sa.select(Model)
        .where(Model.account_id == account_id, Model.name == name)
        .options(selectinload(Model.jobs), selectinload(Model.events))
    ).one_or_none()


def account_models(s: Session, account_id: str) -> Sequence[Model]:
    """Oldest first."""
    return s.scalars(
        sa.select(Model)
        .where(Model.account_id == account_id)
        .order_by(Model.creation_time, Model.name)
        .options(selectinload(Model.jobs), selectinload(Model.events))
    ).all()
