"""Removing migrated models' sources after the cutoff, so their storage is not billed twice (a job).

Only READY migrated models, only in `*deepracer*` buckets, only the objects the store holds verified
copies of: each key of the model's manifest whose source still has the size and ETag recorded when it
was copied. A model any of whose copied objects changed (or vanished) since is left whole. Each object is
checked again (HeadObject) right before its DeleteObject. What is not copied (older checkpoints, sim
traces, videos, logs) stays, and the report says why. Nothing is deleted before the cutoff, or without
`apply`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from drmodels.adapters.ports import AccountS3, SourceError
from drmodels.errors import Conflict, InvalidRequest
from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import AccountJob, Model, ModelEvent
from drmodels.rules import requests
from drmodels.rules.migration import is_migration_bucket, split_source, why_kept
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from drmodels.service.account_jobs import Held, run_account_job
from drmodels.service.deps import Deps

CLEANUP = "source-cleanup"
REMOVED, WOULD_REMOVE, LEFT_WHOLE, PARTLY = "removed", "would remove", "left whole", "partly removed"


@dataclass
class ModelCleanup:
    name: str
    source: str
    outcome: str
    reason: str = ""
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    """Why -> how many source objects stay (not copied into the store)."""
    changed: list[str] = field(default_factory=list)
    """Copied objects whose source differs now: `key: what changed`."""


@dataclass
class CleanupReport:
    cutoff: str
    applied: bool
    models: list[ModelCleanup] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """Models never touched, by reason (errored, not READY, not in a *deepracer* bucket)."""

    @property
    def bytes_freed(self) -> int:
        return sum(m.bytes_freed for m in self.models)

    @property
    def objects_removed(self) -> int:
        return sum(len(m.removed) for m in self.models)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bytes_freed": self.bytes_freed, "objects_removed": self.objects_removed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanupReport:
        models = [ModelCleanup(**m) for m in data.get("models", [])]
        return cls(data["cutoff"], bool(data["applied"]), models, dict(data.get("skipped", {})))


def parse_cutoff(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("remove-source-after", f"write the cutoff as YYYY-MM-DD; got {text!r}") from None


def _changes(manifest: list[dict[str, Any]], prefix: str, now: dict[str, ObjectInfo]) -> list[str]:
    changes = []
    for entry in manifest:
        current = now.get(prefix + entry["key"])
        if entry.get("source_etag") is None:
            changes.append(f"{entry['key']}: no source ETag was recorded when it was copied")
        elif current is None:
            changes.append(f"{entry['key']}: no longer in the source")
        elif current.size != entry["size"] or current.etag != entry["source_etag"]:
            changes.append(
                f"{entry['key']}: now {current.size} bytes, ETag {current.etag} "
                f"(copied: {entry['size']} bytes, ETag {entry['source_etag']})"
            )
    return changes


def _clean_one(s3: AccountS3, model: Model, apply: bool, check: Callable[[], None]) -> ModelCleanup:
    source = model.import_src_location or ""
    result = ModelCleanup(model.name, source, WOULD_REMOVE)
    bucket, prefix = split_source(source)
    if not is_migration_bucket(bucket):
        result.outcome, result.reason = LEFT_WHOLE, f"bucket {bucket!r} does not match *deepracer*"
        return result
    listed = {o.key: o for o in s3.listing(bucket, prefix)}
    manifest = list(model.manifest or [])
    copied = {prefix + e["key"] for e in manifest}
    result.kept = dict(Counter(why_kept(k[len(prefix) :]) for k in listed if k not in copied))
    result.changed = _changes(manifest, prefix, listed)
    if result.changed:
        result.outcome, result.reason = LEFT_WHOLE, "its source changed after migration"
        return result
    for entry in manifest:
        key = prefix + entry["key"]
        if apply:
            check()
            now = s3.head(bucket, key)  # re-checked right before the delete
            if now is None or now.size != entry["size"] or now.etag != entry["source_etag"]:
                result.changed.append(f"{entry['key']}: changed while the cleanup ran")
                result.outcome, result.reason = PARTLY, "a source object changed during the cleanup"
                return result
            s3.delete(bucket, key)
        result.removed.append(entry["key"])
        result.bytes_freed += int(entry["size"])
    result.outcome = REMOVED if apply else WOULD_REMOVE
    return result


def _check_cutoff(cutoff: date, apply: bool, now: datetime) -> None:
    if apply and now < datetime(cutoff.year, cutoff.month, cutoff.day):
        raise InvalidRequest(
            "remove-source-after",
            f"the cutoff {cutoff} has not come (now {now:%Y-%m-%d %H:%M} UTC): sources are removed from that "
            "day on; run without --apply to see what would be removed",
        )


def clean_sources(
    deps: Deps, account_id: str, role_arn: str, cutoff: date, apply: bool,
    check: Callable[[], None] = lambda: None,
) -> CleanupReport:  # fmt: skip
    """The cleanup's report; deletes only with `apply`, and only from the cutoff on. `check()` is called
    before each delete (a job's lease: it raises once another worker took the job over)."""
    requests.check_account(account_id)
    requests.check_role_arn(role_arn)
    _check_cutoff(cutoff, apply, deps.clock())
    report = CleanupReport(cutoff.isoformat(), apply)
    with deps.registry.session() as s:
        models = s.scalars(
            sa.select(Model)
            .where(Model.account_id == account_id, Model.was_migrated.is_(True))
            .order_by(Model.name)
        ).all()
    skipped: Counter[str] = Counter()
    s3 = deps.need_aws().s3(role_arn)
    for model in models:
        if model.status != ModelStatus.READY:
            skipped[f"{model.status}: its source is kept"] += 1
            continue
        try:
            done = _clean_one(s3, model, apply, check)
        except SourceError as exc:
            done = ModelCleanup(
                model.name,
                model.import_src_location or "",
                LEFT_WHOLE,
                f"{exc.code}: {exc.message} {exc.fix}",
            )
        report.models.append(done)
        if apply and done.removed:
            _record(deps, model.id, done)
    report.skipped = dict(skipped)
    return report


def _record(deps: Deps, model_id: str, done: ModelCleanup) -> None:
    with deps.registry.session() as s:
        s.add(
            ModelEvent(
                model_id=model_id, at=deps.clock(), kind="source-removed",
                message=f"{done.outcome}: {len(done.removed)} source objects ({done.bytes_freed} bytes) "
                f"of {done.source}; {sum(done.kept.values())} not copied stay",
            )
        )  # fmt: skip


def start_cleanup(deps: Deps, account_id: str, role_arn: str, cutoff: date, apply: bool) -> int:
    requests.check_account(account_id)
    requests.check_role_arn(role_arn)
    _check_cutoff(cutoff, apply, deps.clock())
    params = {"cutoff": cutoff.isoformat(), "apply": apply}
    return account_jobs.create(deps.registry, account_id, CLEANUP, role_arn, params, deps.clock())


def run_cleanup(job_id: int, deps: Deps) -> JobStatus:
    """The cleanup as a (leased) job: its report is the job's result."""

    def work(job: AccountJob, held: Held) -> dict[str, Any]:
        cutoff, apply = date.fromisoformat(job.params["cutoff"]), bool(job.params.get("apply"))
        return clean_sources(deps, job.account_id, job.role_arn or "", cutoff, apply, held.check).as_dict()

    return run_account_job(deps, job_id, work)


@dataclass(frozen=True)
class CleanupJob:
    """A cleanup job as it stands (`GET /sourcecleanups/{id}`): its report once it has ended well."""

    id: int
    role_arn: str
    cutoff: str
    apply: bool
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: dict[str, str] | None
    report: CleanupReport | None


def cleanup_job(deps: Deps, account_id: str, job_id: int) -> CleanupJob:
    """The cleanup job (NotFound outside its account)."""
    job = account_jobs.get(deps.registry, account_id, job_id, CLEANUP)
    ended_well = job.status == JobStatus.SUCCEEDED and job.result is not None
    return CleanupJob(
        id=job.id, role_arn=job.role_arn or "", cutoff=job.params["cutoff"],
        apply=bool(job.params.get("apply")), status=job.status, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at,
        error={"code": job.error_code, "message": job.error_message or ""} if job.error_code else None,
        report=CleanupReport.from_dict(job.result or {}) if ended_well else None,
    )  # fmt: skip


def cleanup_report(deps: Deps, account_id: str, job_id: int) -> CleanupReport:
    """The report of a finished cleanup job; its failure raised as the error it was."""
    job = cleanup_job(deps, account_id, job_id)
    if job.error is not None:
        if job.error["code"] in Code.__members__:
            raise SourceError(Code(job.error["code"]), job.error["message"], "")
        raise InvalidRequest("remove-source-after", job.error["message"] or "the cleanup failed")
    if job.report is None:
        raise Conflict(f"source cleanup {job_id} is {job.status}: it has no report yet")
    return job.report
