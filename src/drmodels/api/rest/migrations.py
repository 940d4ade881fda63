"""Account migration on the REST face (a drmodels extension; docs/api.md): POST /migrations, GET
/migrations/{migrationId}, and removing migrated sources after the cutoff: POST /sourcecleanups, GET
/sourcecleanups/{cleanupId}. Each job runs where the server runs jobs (its pool, or the workers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from drmodels.api.errors import AnsweredRoute
from drmodels.api.rest.auth import Caller, caller
from drmodels.rules.requests import ROLE_ARN
from drmodels.service.cleanup import CLEANUP, CleanupJob, cleanup_job, start_cleanup
from drmodels.service.deps import Deps
from drmodels.service.migration import MIGRATION, MigrationProgress, migration_progress, start_migration

Status = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]
Signed = Annotated[Caller, Depends(caller)]
JobId = Annotated[str, Path(pattern=r"^[0-9]{1,12}$", description="The job's id (digits).")]
RoleArn = Annotated[str, Field(max_length=2048, pattern=ROLE_ARN.pattern)]

router = APIRouter(tags=["migrations"], route_class=AnsweredRoute)


class StartMigrationInput(BaseModel):
    roleArn: RoleArn = Field(
        description="The account's migration role: the spec's migration policy "
        "(`drmodels policy role --migration`), trusting this server."
    )
    retryErrors: bool = Field(default=False, description="Retry the models that ended MIGRATE_ERROR.")


class StartMigrationOutput(BaseModel):
    migrationId: str


class JobError(BaseModel):
    code: str = Field(description="The spec's code (ACCOUNT_RESOURCE_DOES_NOT_EXIST...) or INVALID_REQUEST.")
    message: str


class MigrationItem(BaseModel):
    source: str
    name: str
    action: Literal["migrate", "resume", "retry", "skip"]
    reason: str
    status: str | None = None
    errorCode: str | None = None
    size: int


class Migration(BaseModel):
    migrationId: str
    roleArn: str
    status: Status
    done: bool
    createdAt: datetime
    startedAt: datetime | None = None
    finishedAt: datetime | None = None
    error: JobError | None = Field(default=None, description="Why the whole migration failed.")
    buckets: list[str] = Field(description="The *deepracer* buckets searched.")
    ignoredBuckets: list[str] = Field(description="Buckets left alone: no 'deepracer' in the name.")
    bucketErrors: dict[str, str] = Field(description="Buckets that could not be listed, and why.")
    found: int = Field(description="Model prefixes found.")
    skipped: dict[str, int] = Field(description="Reason -> model prefixes left alone.")
    models: dict[str, int] = Field(description="Status -> models this migration registered, retried, resumed")
    errors: dict[str, int] = Field(description="Error code -> models that ended MIGRATE_ERROR.")
    bytesDone: int
    bytesTotal: int
    migratedBytes: int = Field(description="Stored bytes of the models READY.")
    requests: dict[str, int] = Field(description="S3 requests of the discovery, by operation.")
    items: list[MigrationItem]


class GetMigrationOutput(BaseModel):
    migration: Migration


class StartCleanupInput(BaseModel):
    roleArn: RoleArn = Field(
        description="A role that may delete the sources: the migration policy plus s3:DeleteObject "
        "(`drmodels policy role --migration --cleanup`)."
    )
    cutoff: date = Field(description="YYYY-MM-DD: sources are removed from this day (UTC) on.")
    apply: bool = Field(default=False, description="Delete; false: a dry run that only reports.")


class StartCleanupOutput(BaseModel):
    cleanupId: str


class ModelCleanup(BaseModel):
    name: str
    source: str
    outcome: Literal["removed", "would remove", "left whole", "partly removed"]
    reason: str
    removed: list[str] = Field(description="Source keys (relative to the model's prefix) removed.")
    bytesFreed: int
    kept: dict[str, int] = Field(description="Why -> source objects that stay (not copied into the store).")
    changed: list[str] = Field(description="Copied objects whose source differs now, and how.")


class CleanupReport(BaseModel):
    models: list[ModelCleanup]
    skipped: dict[str, int] = Field(description="Reason -> migrated models never touched.")
    bytesFreed: int
    objectsRemoved: int


class SourceCleanup(BaseModel):
    cleanupId: str
    roleArn: str
    cutoff: date
    apply: bool
    status: Status
    done: bool
    createdAt: datetime
    startedAt: datetime | None = None
    finishedAt: datetime | None = None
    error: JobError | None = None
    report: CleanupReport | None = Field(default=None, description="Once the cleanup has ended well.")


class GetCleanupOutput(BaseModel):
    cleanup: SourceCleanup


def _camel(data: dict[str, Any]) -> dict[str, Any]:
    """The service's fields as the REST face names them (camelCase), times in UTC (`...Z` on the wire)."""
    return {
        "".join(w.title() if i else w for i, w in enumerate(k.split("_"))): (
            v.replace(tzinfo=UTC) if isinstance(v, datetime) else v
        )
        for k, v in data.items()
    }


def _migration(p: MigrationProgress) -> Migration:
    data = _camel({k: v for k, v in p.__dict__.items() if k not in ("id", "account_id", "items")})
    return Migration.model_validate(
        {
            **data,
            "migrationId": str(p.id),
            "done": p.done,
            "items": [_camel(item) for item in p.items],
        }
    )


def _cleanup(job: CleanupJob) -> SourceCleanup:
    data = _camel({k: v for k, v in job.__dict__.items() if k not in ("id", "report")})
    report = job.report
    return SourceCleanup.model_validate(
        {
            **data,
            "cleanupId": str(job.id),
            "done": job.status in ("SUCCEEDED", "FAILED"),
            "report": None
            if report is None
            else {
                "models": [_camel(m.__dict__) for m in report.models],
                "skipped": report.skipped,
                "bytesFreed": report.bytes_freed,
                "objectsRemoved": report.objects_removed,
            },
        }
    )


async def _started(c: Caller, kind: str, start: Callable[[Deps], int]) -> str:
    """Register a job in the caller's account and hand it to the runner; its id."""

    def run() -> str:
        job_id = start(c.services.deps)
        c.services.deps.runner.submit(kind, job_id)
        return str(job_id)

    return await run_in_threadpool(run)


@router.post("/migrations", operation_id="StartMigration")
async def start(body: StartMigrationInput, c: Signed) -> StartMigrationOutput:
    """Migrate every model of the account's *deepracer* buckets (an interrupted migration with the same
    role is resumed under its id instead); follow it with GET /migrations/{migrationId}."""
    retry = body.retryErrors
    started = await _started(
        c, MIGRATION, lambda deps: start_migration(deps, c.account_id, body.roleArn, retry_errors=retry)
    )
    return StartMigrationOutput(migrationId=started)


@router.get("/migrations/{migrationId}", operation_id="GetMigration", response_model_exclude_none=True)
async def get(migrationId: JobId, c: Signed) -> GetMigrationOutput:
    """Where the migration stands: the plan's counts and each model prefix with its model's status."""
    job_id = int(migrationId)  # an id no job can have is NotFound, as an unknown one (registry)
    progress = await run_in_threadpool(migration_progress, c.services.deps, c.account_id, job_id)
    return GetMigrationOutput(migration=_migration(progress))


@router.post("/sourcecleanups", operation_id="StartSourceCleanup")
async def start_source_cleanup(body: StartCleanupInput, c: Signed) -> StartCleanupOutput:
    """Remove the sources of the account's READY migrated models that the store holds verified copies
    of (a dry run unless `apply`; with `apply`, only from the cutoff on)."""
    cleanup_id = await _started(
        c, CLEANUP, lambda deps: start_cleanup(deps, c.account_id, body.roleArn, body.cutoff, body.apply)
    )
    return StartCleanupOutput(cleanupId=cleanup_id)


@router.get("/sourcecleanups/{cleanupId}", operation_id="GetSourceCleanup", response_model_exclude_none=True)
async def get_source_cleanup(cleanupId: JobId, c: Signed) -> GetCleanupOutput:
    """The cleanup as it stands, and its report once it has ended."""
    job_id = int(cleanupId)
    job = await run_in_threadpool(cleanup_job, c.services.deps, c.account_id, job_id)
    return GetCleanupOutput(cleanup=_cleanup(job))
