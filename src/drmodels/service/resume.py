"""The jobs a starting server takes back when it runs jobs in its own pool (no broker).

A server stopped with SIGTERM leaves its queued jobs QUEUED and its running ones RUNNING under its own
(now dead) process. A fresh process's pool holds nothing, so every queued job is submitted again at
once, and every running one whose worker is lost (dead on this host, or silent for a lease). The
claim lets one runner take a job, so one submitted twice (a CLI's detached runner still holding it)
runs once. With a broker, the workers' sweep (service/sweep.py) does this instead.
"""

from __future__ import annotations

from drmodels.registry import job_queries
from drmodels.registry.job_queries import JobRow
from drmodels.registry.statuses import JobStatus
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost


def resume_jobs(deps: Deps) -> list[JobRow]:
    """Submit every job (import or account job) left unfinished by a worker that is gone; those submitted."""
    now = deps.clock()
    queued = job_queries.jobs_in(deps.registry, JobStatus.QUEUED)
    running = job_queries.jobs_in(deps.registry, JobStatus.RUNNING)
    jobs = queued + [j for j in running if lost(j.owner, j.heartbeat_at, now, deps.jobs.lease)]
    jobs.sort(key=lambda j: (j.kind, j.id))
    for job in jobs:
        deps.runner.submit(job.kind, job.id)
    job_queries.mark_enqueued(deps.registry, jobs, now)
    return jobs
