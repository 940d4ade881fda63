"""Import jobs' state transitions in the registry: claim, progress, ready, fail; each one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import ImportJob, Model, ModelEvent
from drmodels.rules.problems import Problem

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True)
class Claim:
    """What a worker needs to run a job it has just claimed."""

    model_id: str
    source: str
    role_arn: str | None
    fresh: bool
    """A first attempt on a new model: the store holds nothing of it yet."""
    model_name: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a finished import records on its model."""

    size_bytes: int
    packaging_complete: bool
    manifest: list[dict[str, Any]]
    checkpoints: list[str]
    car_configuration: dict[str, Any] | None
    agent_algorithm: str | None
    warnings: list[Problem]
    event: str


def claim(
    registry: Registry, job_id: int, worker: str, now: datetime, taken: Callable[[ImportJob], bool]
) -> Claim | None:
    """Mark the job RUNNING by `worker`; None if it is finished or `taken(job)` says another has it."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status in FINISHED:
            return None
        if job.status == JobStatus.RUNNING and job.owner != worker and taken(job):
            return None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.owner = worker
        job.started_at = job.heartbeat_at = now
        job.bytes_done = job.files_done = 0
        model = job.model
        model.status = ModelStatus.IMPORTING.value
        model.error_code = None
        model.error_details = None
        s.add(
            ModelEvent(
                model_id=model.id,
                at=now,
                kind="import-started",
                message=f"import attempt {job.attempts} from {job.source}",
            )
        )
        fresh = job.attempts == 1 and len(model.jobs) == 1
        return Claim(model.id, job.source, job.role_arn, fresh, model.name)


def final_status(registry: Registry, job_id: int) -> ModelStatus:
    """The status of the job's model (IMPORT_ERROR when the job is gone)."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id)
        return ModelStatus(job.model.status) if job is not None else ModelStatus.IMPORT_ERROR


def queued_model(registry: Registry, job_id: int) -> tuple[str, str] | None:
    """The model (id, name) of a job no worker has claimed yet (None once claimed, finished or gone)."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id)
        if job is None or job.status != JobStatus.QUEUED:
            return None
        return job.model.id, job.model.name


def save_progress(
    registry: Registry, job_id: int, bytes_done: int, bytes_total: int, files_done: int, files_total: int,
    now: datetime,
) -> None:  # fmt: skip
    """Progress and heartbeat in one write."""
    with registry.session() as s:
        job = s.get(ImportJob, job_id)
        if job is not None:
            job.bytes_done, job.files_done = bytes_done, files_done
            job.bytes_total, job.files_total = bytes_total, files_total
            job.heartbeat_at = now


def mark_ready(registry: Registry, job_id: int, model_id: str, outcome: Outcome, now: datetime) -> None:
    with registry.session() as s:
        model = s.get_one(Model, model_id)
        job = s.get_one(ImportJob, job_id)
        model.status = ModelStatus.READY.value
        model.error_code = None
        model.error_details = [p.as_dict() for p in outcome.warnings] or None
        model.size_bytes = outcome.size_bytes
        model.packaging_complete = outcome.packaging_complete
        model.manifest = outcome.manifest
        model.checkpoints = outcome.checkpoints
        model.car_configuration = outcome.car_configuration
        if outcome.agent_algorithm is not None:
            model.agent_algorithm = outcome.agent_algorithm
            model.agent_network = "SIX_LAYER_DOUBLE_HEAD_OUTPUT"
        job.status = JobStatus.SUCCEEDED.value
        job.finished_at = now
        job.error_code = None
        job.bytes_done, job.files_done = job.bytes_total, job.files_total
        s.add(ModelEvent(model_id=model_id, at=now, kind="ready", message=outcome.event))


def mark_failed(
    registry: Registry, job_id: int, model_id: str, problems: list[Problem], removed: int, now: datetime
) -> None:
    """IMPORT_ERROR with every problem; the first one's code is the model's error code."""
    first = problems[0]
    with registry.session() as s:
        model = s.get(Model, model_id)
        job = s.get(ImportJob, job_id)
        if model is None or job is None:
            return
        model.status = ModelStatus.IMPORT_ERROR.value
        model.error_code = first.code.value
        model.error_details = [p.as_dict() for p in problems]
        model.size_bytes = 0
        model.packaging_complete = False
        model.manifest = None
        job.status = JobStatus.FAILED.value
        job.finished_at = now
        job.error_code = first.code.value
        s.add(
            ModelEvent(
                model_id=model_id,
                at=now,
                kind="import-error",
                message=f"{first.code.value}: {first.path + ': ' if first.path else ''}{first.explanation}",
                details={"removed_objects": removed, "problems": len(problems)},
            )
        )
