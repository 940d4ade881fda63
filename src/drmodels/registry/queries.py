"""Reading models back: by name within an account, or all of an account's, with jobs and history."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from drmodels.registry.tables import Model


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
