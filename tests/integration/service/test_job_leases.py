"""The job claim and lease on SQLite and PostgreSQL: one winner among concurrent claims (of an import
job and of an account job), takeover of a silent worker's job, and every write of the superseded worker
refused. More on account jobs: test_account_job_leases.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from drmodels.clock import utcnow
from drmodels.registry import account_jobs, job_queries
from drmodels.registry import jobs as job_records
from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob, ImportJob, JobRun
from drmodels.service.billing import start_metering
from drmodels.service.jobs import lost, worker_id
from drmodels.service.models import ModelService
from support.deps import make_deps
from support.import_fixtures import registry, registry_url, write_model  # noqa: F401  (fixtures)


def _queued_job(registry: Registry, tmp_path: Path) -> int:  # noqa: F811
    svc = ModelService(replace(make_deps(tmp_path), registry=registry))
    return svc.accept("leased", str(write_model(tmp_path / "src", checkpoints=2))).job_id


def _race(claim: Callable[[str], object]) -> list[str]:
    """Eight workers claim at once; the ones whose claim won."""
    start = threading.Barrier(8)
    won: list[str] = []

    def attempt(worker: str) -> None:
        start.wait()
        if claim(worker) is not None:
            won.append(worker)

    threads = [threading.Thread(target=attempt, args=(f"host:{i}:run",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_concurrent_claims_have_one_winner(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    job_id = _queued_job(registry, tmp_path)
    won = _race(lambda worker: job_records.claim(registry, job_id, worker, utcnow(), lambda job: True))
    assert len(won) == 1
    with registry.session() as s:
        job = s.get_one(ImportJob, job_id)
        assert (job.owner, job.attempts) == (won[0], 1)
        assert [r.owner for r in s.scalars(sa.select(JobRun)).all()] == won


def test_a_silent_worker_is_taken_over_and_fenced(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    job_id = _queued_job(registry, tmp_path)
    t0 = utcnow()
    first = "otherhost:123:aaaa"  # on another host: only its silence tells it is gone
    lease = timedelta(seconds=30)
    assert job_records.claim(registry, job_id, first, t0, lambda job: True) is not None
    assert job_records.heartbeat(registry, job_id, first, t0 + timedelta(seconds=5))
    second = worker_id()

    def taken(job: ImportJob, at: object) -> bool:
        return not lost(job.owner, job.heartbeat_at, at, lease)  # type: ignore[arg-type]

    early = t0 + timedelta(seconds=20)
    assert job_records.claim(registry, job_id, second, early, lambda job: taken(job, early)) is None
    late = t0 + timedelta(seconds=40)
    assert job_records.claim(registry, job_id, second, late, lambda job: taken(job, late)) is not None
    # the first worker comes back: every write it tries is refused
    assert not job_records.heartbeat(registry, job_id, first, late)
    assert not job_records.save_progress(registry, job_id, first, 1, 2, 1, 2, late)
    assert not job_records.holds(registry, job_id, first)
    assert job_records.holds(registry, job_id, second)
    with registry.session() as s:
        runs = s.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
        assert [(r.owner, r.outcome) for r in runs] == [(first, "LOST"), (second, None)]
        assert runs[0].ended_at == t0 + timedelta(seconds=5)  # its last sign of life
    assert [j.owner for j in job_queries.jobs_in(registry, JobStatus.RUNNING)] == [second]


def test_concurrent_claims_of_an_account_job_have_one_winner(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    deps = replace(make_deps(tmp_path), registry=registry)
    job_id = start_metering(deps, "123456789012", "2021-06")
    won = _race(lambda worker: account_jobs.claim(registry, job_id, worker, utcnow(), lambda job: True))
    assert len(won) == 1
    with registry.session() as s:
        job = s.get_one(AccountJob, job_id)
        assert (job.status, job.owner, job.attempts) == ("RUNNING", won[0], 1)


def test_one_sweeper_per_interval(registry: Registry) -> None:  # noqa: F811
    now, every = utcnow(), timedelta(seconds=60)
    assert job_queries.take_schedule(registry, "sweep", "a", now, every)
    assert not job_queries.take_schedule(registry, "sweep", "b", now + timedelta(seconds=1), every)
    assert job_queries.take_schedule(registry, "sweep", "b", now + timedelta(seconds=61), every)
