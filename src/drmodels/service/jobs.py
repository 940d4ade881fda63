"""Job leases: which worker runs a job, whether it still lives, when a job is taken as lost.

A worker holds a job while it renews its lease (the job's heartbeat) from a thread of its own; every
write it makes after the claim is fenced by its identity, so once another worker has taken the job
over (the first died, or stopped renewing for the lease's length), the first one can no longer write.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from drmodels.errors import LeaseLost
from drmodels.registry import jobs as job_records
from drmodels.registry.tables import ImportJob
from drmodels.service.deps import Deps, JobOptions

STALE_AFTER = JobOptions().lease
"""The default lease: a running job whose heartbeat is older than this is taken as lost (its worker
may be on another host, where its pid cannot be checked)."""


def worker_id() -> str:
    """host:pid:run: unique per claim, so two deliveries of one job to one process never share a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_host_pid(owner: str) -> tuple[str, str]:
    host, _, rest = owner.partition(":")
    return host, rest.partition(":")[0]


def owner_alive(owner: str | None) -> bool:
    """Whether the worker that claimed a job still runs (only known for workers on this host)."""
    if not owner:
        return False
    host, pid = owner_host_pid(owner)
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def stale(heartbeat: datetime | None, now: datetime, after: timedelta = STALE_AFTER) -> bool:
    return heartbeat is None or now - heartbeat > after


def lost(
    owner: str | None, heartbeat: datetime | None, now: datetime, after: timedelta = STALE_AFTER
) -> bool:
    """A running job whose worker died, or that has not renewed its lease for `after`."""
    return not owner_alive(owner) or stale(heartbeat, now, after)


class Lease:
    """Renews `worker`'s hold on a job (of `table`: an import job by default, or an account job) every
    lease/4 from a daemon thread while the job runs.

    `check()` raises LeaseLost once a renewal found the job held by another worker: the job stops
    where it is and writes nothing more (the new holder finishes it).
    """

    def __init__(self, deps: Deps, job_id: int, worker: str, table: job_records.Leased = ImportJob) -> None:
        self.deps, self.job_id, self.worker, self.table = deps, job_id, worker, table
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job_id}", daemon=True)

    def _renew(self) -> None:
        every = self.deps.jobs.lease.total_seconds() / 4
        while not self._stop.wait(every):
            try:
                held = job_records.heartbeat(
                    self.deps.registry, self.job_id, self.worker, self.deps.clock(), self.table
                )
            except Exception:  # the registry is unreachable for now: the next renewal tries again
                continue
            if not held:
                self.lost = True
                return

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"job {self.job_id} was taken over by another worker; {self.worker} stops")

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
