"""A bounded pool of worker processes running job functions by id (for CPU-bound bulk imports).

Each process calls `setup()` once (building its own dependencies: registry engine, store, S3 clients)
and then `job(state, job_id)` for each id it is given; `job` must be a module-level function.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_STATE: Any = None


def _init(setup: Callable[[], object]) -> None:
    global _STATE
    _STATE = setup()


def _run(job: Callable[[Any, int], T], job_id: int) -> T:
    return job(_STATE, job_id)


class ProcessPool:
    """At most `size` worker processes; jobs queue behind them."""

    def __init__(self, size: int, setup: Callable[[], object]) -> None:
        context = multiprocessing.get_context("fork")  # `setup` may be a closure: it is not pickled
        self._pool = ProcessPoolExecutor(
            max(1, size), mp_context=context, initializer=_init, initargs=(setup,)
        )

    def submit(self, job: Callable[[Any, int], T], job_id: int) -> Future[T]:
        return self._pool.submit(_run, job, job_id)

    def shutdown(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
