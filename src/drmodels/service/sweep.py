"""The sweep: jobs the registry says are waiting or running, but no runner holds, are handed out again.

Two cases: a RUNNING job whose worker died or stopped renewing its lease (its broker message may
only come back after the visibility timeout), and a job QUEUED for longer than `requeue_after` while
the broker holds fewer messages than the registry has queued jobs (the broker lost them: a Redis
restart without persistence, a publish that failed after the job was registered). A job handed out
twice is harmless: the claim lets one worker run it and the other delivery finds it taken or done.
One worker of many sweeps per interval (the registry's schedule decides which).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from drmodels.registry import job_queries
from drmodels.registry.job_queries import JobRow
from drmodels.registry.statuses import JobStatus
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost

log = logging.getLogger(__name__)
SWEEP = "sweep"


@dataclass(frozen=True)
class Swept:
    lost: list[JobRow]
    """Running jobs taken as lost, handed out to be taken over."""
    stuck: list[JobRow]
    """Queued jobs the broker no longer held, enqueued again."""


def sweep(deps: Deps, worker: str) -> Swept | None:
    """Sweep if this interval's sweep is `worker`'s to run (None when another worker has it)."""
    now = deps.clock()
    if not job_queries.take_schedule(deps.registry, SWEEP, worker, now, deps.jobs.sweep_every):
        return None
    return sweep_now(deps, now)


def sweep_now(deps: Deps, now: datetime) -> Swept:
    """Import and account jobs alike (migration, source cleanup, metering): each is sent as its kind."""
    lease, registry = deps.jobs.lease, deps.registry
    running = job_queries.jobs_in(registry, JobStatus.RUNNING)
    lost_jobs = [
        j for j in running if lost(j.owner, j.heartbeat_at, now, lease) and now - j.waiting_since > lease
    ]
    queued = job_queries.jobs_in(registry, JobStatus.QUEUED)
    depth = deps.runner.depth()
    missing = depth is None or sum(depth.values()) < len(queued)
    stuck = [j for j in queued if missing and now - j.waiting_since > deps.jobs.requeue_after]
    for job in lost_jobs + stuck:
        deps.runner.submit(job.kind, job.id)
    job_queries.mark_enqueued(registry, lost_jobs + stuck, now)
    if lost_jobs or stuck:
        log.info("sweep: %d lost job(s) %s and %d stuck job(s) %s enqueued again", len(lost_jobs),
                 _named(lost_jobs), len(stuck), _named(stuck))  # fmt: skip
    return Swept(lost_jobs, stuck)


def _named(jobs: list[JobRow]) -> str:
    return ", ".join(f"{j.kind} {j.id}" for j in jobs)


class Sweeper:
    """Runs `sweep` every `sweep_every` on a daemon thread (inside each `drmodels worker`)."""

    def __init__(self, deps: Deps, worker: str) -> None:
        self.deps, self.worker = deps, worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sweeper", daemon=True)

    def _loop(self) -> None:
        every = self.deps.jobs.sweep_every.total_seconds()
        while not self._stop.wait(every):
            try:
                sweep(self.deps, self.worker)
            except Exception:  # the registry or broker is down for now: the next interval tries again
                log.exception("sweep failed; trying again in %.0f s", every)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
