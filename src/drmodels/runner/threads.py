"""The embedded runner: a bounded in-process thread pool calling job functions with ids."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class WorkerPool:
    """At most `size` jobs run at once; the rest wait in the queue."""

    def __init__(self, size: int = 4) -> None:
        self.size = max(1, size)
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="job")

    def submit(self, job: Callable[[int], T], job_id: int) -> Future[T]:
        return self._pool.submit(job, job_id)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
