"""Reading models back: by name, ARN or id within an account, or an account's models whole or in pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from drmodels.registry.db import Registry
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


def model_where(s: Session, account_id: str, *where: sa.ColumnElement[bool]) -> Model | None:
    """One model of the account (by ARN or id) in a session, without its jobs and history."""
    return s.scalars(sa.select(Model).where(Model.account_id == account_id, *where)).one_or_none()


class ModelRecord(Protocol):
    """A model as read (a `Model` in a session, or a row of the models table): what the shapes need."""

    @property
    def id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_details(self) -> list[Any] | None: ...
    @property
    def was_imported(self) -> bool: ...
    @property
    def was_migrated(self) -> bool: ...
    @property
    def import_src_location(self) -> str | None: ...
    @property
    def size_bytes(self) -> int | None: ...
    @property
    def packaging_complete(self) -> bool: ...
    @property
    def car_configuration(self) -> dict[str, Any] | None: ...
    @property
    def agent_algorithm(self) -> str | None: ...
    @property
    def agent_network(self) -> str | None: ...
    @property
    def checkpoints(self) -> list[Any] | None: ...
    @property
    def manifest(self) -> list[Any] | None: ...
    @property
    def creation_time(self) -> datetime: ...


_MODELS = Model.__table__
_OWNED = _MODELS.c.account_id == sa.bindparam("account")
_BY = {
    "arn": sa.select(_MODELS).where(_OWNED, _MODELS.c.arn == sa.bindparam("key")),
    "id": sa.select(_MODELS).where(_OWNED, _MODELS.c.id == sa.bindparam("key")),
}
_POSITION = sa.tuple_(_MODELS.c.creation_time, _MODELS.c.id)
_AFTER = sa.tuple_(sa.bindparam("at"), sa.bindparam("after"))
_PAGES = {
    (descending, resumed): sa.select(_MODELS)
    .where(_OWNED, *([(_POSITION < _AFTER) if descending else (_POSITION > _AFTER)] if resumed else []))
    .order_by(*((_MODELS.c.creation_time.desc(), _MODELS.c.id.desc()) if descending else _POSITION.clauses))
    .limit(sa.bindparam("limit"))
    for descending in (False, True)
    for resumed in (False, True)
}
"""The page statements, built once (4: each order, from the start or after a position)."""


def _literal(text: str) -> str:
    """`text` matched as itself in a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_models(
    registry: Registry, account_id: str, status: str | None, name: str | None, offset: int, limit: int
) -> tuple[Sequence[ModelRecord], int]:
    """A page of the account's models, newest first, with a status and a part of the name (any case);
    and how many match in all."""
    where = [_MODELS.c.account_id == account_id]
    if status:
        where.append(_MODELS.c.status == status)
    if name:
        where.append(_MODELS.c.name.ilike(f"%{_literal(name)}%", escape="\\"))
    page = (
        sa.select(_MODELS)
        .where(*where)
        .order_by(_MODELS.c.creation_time.desc(), _MODELS.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    total = registry.rows(sa.select(sa.func.count()).select_from(_MODELS).where(*where), {})
    return cast("Sequence[ModelRecord]", registry.rows(page, {})), int(total[0][0])


def read_named(registry: Registry, account_id: str, names: Sequence[str]) -> Sequence[ModelRecord]:
    """The account's models with these names (the others' left out)."""
    if not names:
        return []
    found = sa.select(_MODELS).where(_MODELS.c.account_id == account_id, _MODELS.c.name.in_(list(names)))
    return cast("Sequence[ModelRecord]", registry.rows(found, {}))


def count_sources_under(registry: Registry, account_id: str, folder: str) -> int:
    """How many of the account's models were imported from a path inside `folder`."""
    escaped = _literal(folder.rstrip("/")) + "/%"
    count = (
        sa.select(sa.func.count())
        .select_from(_MODELS)
        .where(_MODELS.c.account_id == account_id, _MODELS.c.import_src_location.like(escaped, escape="\\"))
    )
    return int(registry.rows(count, {})[0][0])


def read_model(registry: Registry, account_id: str, by: Literal["arn", "id"], key: str) -> ModelRecord | None:
    """One model of the account by ARN or id, read outside the ORM (the API's hot path)."""
    rows = registry.rows(_BY[by], {"account": account_id, "key": key})
    return cast("ModelRecord", rows[0]) if rows else None


def read_page(
    registry: Registry, account_id: str, after: tuple[datetime, str] | None, descending: bool, limit: int
) -> Sequence[ModelRecord]:
    """Up to `limit` models by creation time (then id), strictly after the `after` position when given.

    A position-based page: models added while a client pages through fall in their place and never
    shift the pages still to come.
    """
    params: dict[str, Any] = {"account": account_id, "limit": limit}
    if after is not None:
        params.update(at=after[0], after=after[1])
    return cast("Sequence[ModelRecord]", registry.rows(_PAGES[(descending, after is not None)], params))
