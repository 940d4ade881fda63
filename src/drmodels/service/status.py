"""What an operator watches (`drmodels status`): queue depth, running jobs by worker, stale leases,
waiting jobs and their age, failures by code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from drmodels.registry import job_queries
from drmodels.registry.job_queries import JobRow
from drmodels.registry.statuses import JobStatus
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost, owner_host_pid

RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class Running:
    kind: str
    job_id: int
    heartbeat_age_s: float
    bytes_done: int
    bytes_total: int


@dataclass
class Status:
    broker: dict[str, int] | None
    """Messages waiting by queue (one queue per job kind); None without a broker."""
    queued: int = 0
    queued_by_kind: Counter[str] = field(default_factory=Counter)
    """Jobs QUEUED in the registry, by kind (import, migration, source-cleanup, metering)."""
    oldest_queued_s: float | None = None
    running: dict[str, list[Running]] = field(default_factory=dict)
    """By worker (host:pid)."""
    stale: list[JobRow] = field(default_factory=list)
    """Running jobs whose worker died or stopped renewing its lease: the sweep hands them out again."""
    succeeded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    """Jobs failed in the last 24 hours, by error code."""

    def as_dict(self) -> dict[str, object]:
        return {
            "broker": self.broker,
            "queued": self.queued,
            "queued_by_kind": dict(self.queued_by_kind),
            "oldest_queued_s": self.oldest_queued_s,
            "running": {w: [r.__dict__ for r in jobs] for w, jobs in self.running.items()},
            "stale": [
                {"kind": j.kind, "job_id": j.id, "owner": j.owner, "heartbeat_at": str(j.heartbeat_at)}
                for j in self.stale
            ],
            "succeeded_24h": self.succeeded,
            "failed_24h": dict(self.failed),
        }


def status(deps: Deps) -> Status:
    """Import jobs and account jobs (migration, source cleanup, metering) alike."""
    now, registry = deps.clock(), deps.registry
    result = Status(broker=deps.runner.depth())
    queued = job_queries.jobs_in(registry, JobStatus.QUEUED)
    result.queued = len(queued)
    result.queued_by_kind = Counter(j.kind for j in queued)
    if queued:
        result.oldest_queued_s = max((now - j.waiting_since).total_seconds() for j in queued)
    for job in job_queries.jobs_in(registry, JobStatus.RUNNING):
        if lost(job.owner, job.heartbeat_at, now, deps.jobs.lease):
            result.stale.append(job)
            continue
        host, pid = owner_host_pid(job.owner or "")
        age = (now - job.heartbeat_at).total_seconds() if job.heartbeat_at else 0.0
        result.running.setdefault(f"{host}:{pid}", []).append(
            Running(job.kind, job.id, age, job.bytes_done, job.bytes_total)
        )
    for job in job_queries.finished_since(registry, now - RECENT):
        if job.status == JobStatus.SUCCEEDED:
            result.succeeded += 1
        else:
            result.failed[job.error_code or "UNKNOWN"] += 1
    return result
