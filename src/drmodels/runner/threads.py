"""The in-process runner: a bounded thread pool calling the job function with (kind, id), for a
long-lived process (the server)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class ThreadRunner:
    """At most `size` jobs run at once; the rest wait in the queue."""

    def __init__(self, job: Callable[[str, int], object], size: int = 4) -> None:
        self._job = job
        self._pool = ThreadPoolExecutor(max(1, size), thread_name_prefix="job")

    def submit(self, kind: str, job_id: int) -> None:
        self._pool.submit(self._job, kind, job_id)

    def depth(self) -> None:
        """No broker: jobs wait in this process's memory."""
        return None

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
