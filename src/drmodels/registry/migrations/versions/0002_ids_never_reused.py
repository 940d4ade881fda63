"""job and event ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0002
Revises: 0003
Create Date: 2026-12-02 02:00:00.000000

SQLite hands out the largest id + 1 unless the table is AUTOINCREMENT, so deleting a model reused its
last job's id (and its job log). The tables are rebuilt with AUTOINCREMENT, their rows kept.
PostgreSQL sequences never reuse a value: nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("import_jobs", "model_events")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
