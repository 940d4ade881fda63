"""An import's progress: told to a listener as it happens, saved to the registry twice a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from drmodels.errors import DrmodelsError
from drmodels.registry import job_queries, jobs
from drmodels.registry.statuses import JobStatus
from drmodels.service.deps import Deps
from drmodels.service.jobs import Lease

SAVE_EVERY_S = 0.5


@dataclass(frozen=True)
class Progress:
    job_id: int
    stage: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


Listener = Callable[[Progress], None]


class Stopped(DrmodelsError):
    """The import was asked to stop (Ctrl-C, or a bulk import interrupted): its copies end here."""


class Tracker:
    """Counts bytes and files copied; the registry write doubles as a heartbeat, fenced by the lease."""

    def __init__(
        self, job_id: int, deps: Deps, bytes_total: int, files_total: int, listener: Listener | None,
        lease: Lease, stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.job_id, self.deps, self.listener, self.lease, self.stop = job_id, deps, listener, lease, stop
        self.bytes_total, self.files_total = bytes_total, files_total
        self.bytes_done = self.files_done = 0
        self.stage = "copy"
        self._lock = threading.Lock()
        self._saved = 0.0

    def already_done(self, size: int) -> None:
        """An object kept from an earlier attempt."""
        self.bytes_done += size
        self.files_done += 1

    def add_bytes(self, n: int) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Stopped("the import was stopped")
        with self._lock:
            self.bytes_done += n
        self._tell()

    def add_file(self) -> None:
        with self._lock:
            self.files_done += 1
        self._tell()

    def _tell(self) -> None:
        if self.listener is not None:
            self.listener(
                Progress(
                    self.job_id, self.stage, self.bytes_done, self.bytes_total, self.files_done,
                    self.files_total,
                )
            )  # fmt: skip
        self.lease.check()
        now = time.monotonic()
        if now - self._saved > SAVE_EVERY_S:
            self._saved = now
            held = jobs.save_progress(
                self.deps.registry, self.job_id, self.lease.worker, self.bytes_done, self.bytes_total,
                self.files_done, self.files_total, self.deps.clock(),
            )  # fmt: skip
            if not held:
                self.lease.lost = True
                self.lease.check()


def watch(deps: Deps, job_ids: list[int], listener: Listener, poll_s: float = 0.5) -> None:
    """Tell `listener` each job's progress as workers elsewhere record it, until every job is finished."""
    pending = set(job_ids)
    while pending:
        rows = job_queries.jobs_by_id(deps.registry, sorted(pending))
        pending &= {row.id for row in rows}  # a job deleted meanwhile (its model was) is not waited for
        for row in rows:
            stage = row.status.lower() if row.status != JobStatus.RUNNING else "copy"
            listener(
                Progress(row.id, stage, row.bytes_done, row.bytes_total, row.files_done, row.files_total)
            )
            if row.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                pending.discard(row.id)
        if pending:
            time.sleep(poll_s)
