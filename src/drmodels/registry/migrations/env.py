"""Alembic environment: the URL comes from config.attributes["url"] (no alembic.ini)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from drmodels.registry.tables import Base

config = context.config
url: str = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or ""
connection: sa.Connection | None = config.attributes.get("connection")


def _run(conn: sa.Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
