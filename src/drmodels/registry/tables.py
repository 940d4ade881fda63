"""Registry tables: accounts and their access keys, models (the API's `Model` shape) and their tags,
import jobs, their runs, each model's history, the schedule of periodic work shared by many workers, and
the console's sign-in sessions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drmodels.clock import utcnow
from drmodels.registry.statuses import JobStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    """An Argon2id hash (the console's sign-in); None: no password."""


class AccessKey(Base):
    """An API key pair of an account; the secret is kept encrypted (it is needed to verify signatures)."""

    __tablename__ = "access_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    """The access key id the client signs with."""
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(sa.Text)
    """The secret access key, encrypted with the configured key (service/secrets.py)."""
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "name", name="uq_models_account_name"),
        sa.Index("ix_models_account_created", "account_id", "creation_time", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    arn: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(20))
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_details: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    was_imported: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    was_migrated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    import_src_location: Mapped[str | None] = mapped_column(sa.String(1024))
    role_arn: Mapped[str | None] = mapped_column(sa.String(2048))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    packaging_complete: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    car_configuration: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    agent_algorithm: Mapped[str | None] = mapped_column(sa.String(40))
    agent_network: Mapped[str | None] = mapped_column(sa.String(60))
    checkpoints: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    manifest: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    """The stored objects of the virtual model: [{key, size, checksum}], written at READY."""
    creation_time: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow)

    jobs: Mapped[list[ImportJob]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ImportJob.id"
    )
    events: Mapped[list[ModelEvent]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelEvent.id"
    )


NEVER_REUSED = {"sqlite_autoincrement": True}
"""Ids of deleted rows are never handed out again (SQLite reuses the largest id without AUTOINCREMENT;
PostgreSQL sequences never do): a job id or a job log names one import for good."""


class ImportJob(Base):
    __tablename__ = "import_jobs"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(sa.ForeignKey("models.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(1024))
    role_arn: Mapped[str | None] = mapped_column(sa.String(2048))
    status: Mapped[str] = mapped_column(sa.String(20), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    """host:pid of the worker running it, so a dead worker's job can be taken over."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    bytes_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    bytes_done: Mapped[int | None] = mapped_column(sa.BigInteger)
    files_total: Mapped[int | None] = mapped_column(sa.Integer)
    files_done: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    """When a runner was last handed the job (the sweep re-enqueues jobs it finds lost)."""

    model: Mapped[Model] = relationship(back_populates="jobs")
    runs: Mapped[list[JobRun]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobRun.id"
    )


class JobRun(Base):
    """One claim of a job by one worker: the job's history, one row per attempt."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(sa.Integer)
    owner: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    """When the run finished; for a run taken over, its last heartbeat (its last sign of life)."""
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    """SUCCEEDED, FAILED, or LOST (its worker died or stopped reporting and another took the job)."""

    job: Mapped[ImportJob] = relationship(back_populates="runs")


class Schedule(Base):
    """Periodic work (the sweep) that many workers may attempt: the one that moves `due_at` runs it."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(sa.DateTime)
    owner: Mapped[str | None] = mapped_column(sa.String(200))


class ModelEvent(Base):
    __tablename__ = "model_events"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(sa.ForeignKey("models.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    model: Mapped[Model] = relationship(back_populates="events")


class AccountJob(Base):
    """A job over a whole account: a migration, a source cleanup or a usage metering run."""

    __tablename__ = "account_jobs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    role_arn: Mapped[str | None] = mapped_column(sa.String(2048))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    """What the job found and did (the migration's plan and counts, the cleanup's report)."""
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    """When a runner was last handed the job (the sweep re-enqueues jobs it finds lost)."""


class MigrationSource(Base):
    """A model prefix a migration found in an account's buckets: one model per source, ever."""

    __tablename__ = "migration_sources"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "source", name="uq_migration_sources_account_source"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(1024))
    model_id: Mapped[str | None] = mapped_column(sa.ForeignKey("models.id", ondelete="SET NULL"), index=True)
    """None once the user deleted the model: a later run does not bring it back."""
    migration_id: Mapped[int] = mapped_column(sa.ForeignKey("account_jobs.id"), index=True)
    """The last migration run that registered or retried it."""
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class UsageRecord(Base):
    """Metered facts, kept after the model is deleted: storage spans and the service's work spans."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(12), index=True)
    model_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    """'storage' (bytes held from started_at to ended_at) or a job kind ('import', 'migration')."""
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    """None while the model is still stored."""
    migrated_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    """When a migrated model was registered (its free storage window starts there)."""


class UsageDay(Base):
    """One account's metered usage of one UTC day (written by the metering job)."""

    __tablename__ = "usage_days"

    account_id: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    storage_byte_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    free_byte_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    """The part of storage_byte_seconds inside a migrated model's free window."""
    service_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)
    metered_at: Mapped[datetime] = mapped_column(sa.DateTime)


class ModelTag(Base):
    __tablename__ = "model_tags"

    model_id: Mapped[str] = mapped_column(sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))


class ConsoleSession(Base):
    """A signed-in browser of the web console: revoked by deleting the row (sign-out, expiry)."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    """SHA-256 of the session cookie's value (the cookie itself is never stored)."""
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(sa.String(64))
    """The token every form of this session carries (synchronizer token)."""
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
