"""Account jobs (migration, source cleanup, metering) run under the same lease as import jobs.

`run_account_job` claims the job (taking it over when its worker died or went silent for a lease),
renews the lease while the job's work runs, and records the end: SUCCEEDED with the work's result, or
FAILED with the spec's code of a SourceError, INVALID_REQUEST, or SERVICE_ERROR for anything
unforeseen. Once another worker has taken the job over, this one's writes change nothing and its work
stops at its next `Held.check()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drmodels.adapters.ports import SourceError
from drmodels.errors import InvalidRequest, LeaseLost
from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob
from drmodels.rules.problems import Code
from drmodels.service.deps import Deps
from drmodels.service.jobs import Lease, lost, worker_id

log = logging.getLogger(__name__)
INVALID_REQUEST = "INVALID_REQUEST"
"""An account job's error code when its own parameters cannot work (a cutoff not yet come)."""


@dataclass(frozen=True)
class Held:
    """A worker's hold on the account job it runs."""

    deps: Deps
    job_id: int
    worker: str
    lease: Lease

    def check(self) -> None:
        """LeaseLost once another worker has taken the job over."""
        self.lease.check()

    def save(self, result: dict[str, Any]) -> None:
        """Record what the job found or did so far (LeaseLost, nothing written, if it is not ours)."""
        self.check()
        if not account_jobs.save(self.deps.registry, self.job_id, self.worker, result, self.deps.clock()):
            raise LeaseLost(f"job {self.job_id} was taken over by another worker; {self.worker} stops")


Work = Callable[[AccountJob, Held], dict[str, Any]]
"""The job's work: the claimed job and the hold -> the result to record."""


def run_account_job(deps: Deps, job_id: int, work: Work) -> JobStatus:
    """Claim the job, run `work` under a renewed lease, record its end; the job's status as it stands
    (a job a live worker holds is left to it)."""
    now, worker = deps.clock(), worker_id()
    job = account_jobs.claim(
        deps.registry, job_id, worker, now,
        lambda j: not lost(j.owner, j.heartbeat_at, now, deps.jobs.lease),
    )  # fmt: skip
    if job is None:
        return account_jobs.status_of(deps.registry, job_id)
    with Lease(deps, job_id, worker, AccountJob) as lease:
        result: dict[str, Any] | None = None
        error: tuple[str, str] | None = None
        try:
            result = work(job, Held(deps, job_id, worker, lease))
        except LeaseLost:
            return account_jobs.status_of(deps.registry, job_id)
        except SourceError as exc:
            error = (exc.code.value, f"{exc.message} {exc.fix}".strip())
        except InvalidRequest as exc:
            error = (INVALID_REQUEST, exc.message)
        except Exception as exc:
            log.exception("%s job %d failed", job.kind, job_id)
            why = f"the job stopped on an internal error: {type(exc).__name__}: {exc}"
            error = (Code.SERVICE_ERROR.value, why)
        account_jobs.finish(deps.registry, job_id, worker, result, deps.clock(), error)
    return account_jobs.status_of(deps.registry, job_id)
