"""Reading models back: by name, ARN or id within an account, or an account's models whole or in pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


def model_where(s: Session, account_id: str, *where: sa.ColumnElement[bool]) -> Model | None:
    """One model of the account (by ARN or id), without its jobs and history."""
    return s.scalars(sa.select(Model).where(Model.account_id == account_id, *where)).one_or_none()


def models_page(
    s: Session, account_id: str, after: tuple[datetime, str] | None, descending: bool, limit: int
) -> Sequence[Model]:
    """Up to `limit` models by creation time (then id), strictly after the `after` position when given.

    A position-based page: models added while a client pages through fall in their place and never
    shift the pages still to come.
    """
    position = sa.tuple_(Model.creation_time, Model.id)
    query = sa.select(Model).where(Model.account_id == account_id)
    if after is not None:
        query = query.where(position < after if descending else position > after)
    order = (Model.creation_time.desc(), Model.id.desc()) if descending else (Model.creation_time, Model.id)
    return s.scalars(query.order_by(*order).limit(limit)).all()
