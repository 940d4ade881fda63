"""The statuses a model and its import jobs go through (kept apart from the tables: no SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class ModelStatus(StrEnum):
    """The subset of the API's ModelStatus an imported model goes through."""

    IMPORTING = "IMPORTING"
    MIGRATING = "MIGRATING"
    READY = "READY"
    DELETING = "DELETING"
    IMPORT_ERROR = "IMPORT_ERROR"
    MIGRATE_ERROR = "MIGRATE_ERROR"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
