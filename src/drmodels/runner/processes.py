"""A bounded pool of worker processes running job functions by id (for CPU-bound bulk imports).

Each process builds its own Env once (registry engine, store and S3 clients) from the data dir and the
DRMODELS_* / AWS_* environment, then runs `run_import(job_id, env)` for each id it is given.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from drmodels.service.imports.job import Env, run_import

_ENV: Env | None = None


def _init(data_dir: str, registry_url: str | None, store_url: str | None, deep: bool) -> None:
    global _ENV
    from drmodels.bootstrap import build_env

    _ENV = build_env(Path(data_dir), registry_url, store_url)
    _ENV.deep = deep


def _requests(env: Env) -> Counter[str]:
    total: Counter[str] = Counter()
    for part in (env.open_source, env.store):
        counted = getattr(part, "requests", None)
        if isinstance(counted, Counter):
            total.update(counted)
    return total


def _run(job_id: int) -> tuple[str, dict[str, int]]:
    """Run one job; returns its status and the S3 requests this job sent, by operation."""
    assert _ENV is not None, "the worker process was not initialised"
    before = _requests(_ENV)
    status = run_import(job_id, _ENV)
    return status, dict(_requests(_ENV) - before)


class ProcessPool:
    """At most `size` worker processes; jobs queue behind them."""

    def __init__(
        self, size: int, data_dir: Path, registry_url: str | None = None, store_url: str | None = None,
        deep: bool = True,
    ) -> None:  # fmt: skip
        context = multiprocessing.get_context("fork")
        self._pool = ProcessPoolExecutor(
            max(1, size), mp_context=context, initializer=_init,
            initargs=(str(data_dir), registry_url, store_url, deep),
        )  # fmt: skip

    def submit(self, job_id: int) -> Future[tuple[str, dict[str, int]]]:
        return self._pool.submit(_run, job_id)

    def shutdown(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
