"""Account jobs (migration, source cleanup, metering) under the import jobs' lease, on SQLite and PostgreSQL:
takeover of a silent worker's job, the superseded worker's writes refused, the sweep handing lost and
stuck account jobs out as their kind, and `status` counting them (concurrent claims: test_job_leases.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drmodels.clock import utcnow
from drmodels.errors import LeaseLost
from drmodels.registry import account_jobs
from drmodels.registry import jobs as job_records
from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob
from drmodels.service.account_jobs import Held, run_account_job
from drmodels.service.billing import METERING, run_metering, start_metering
from drmodels.service.deps import Deps, JobOptions
from drmodels.service.jobs import lost, worker_id
from drmodels.service.models import ModelService
from drmodels.service.status import status
from drmodels.service.sweep import sweep_now
from support.deps import make_deps
from support.import_fixtures import registry, registry_url, write_model  # noqa: F401  (fixtures)

ACCOUNT = "123456789012"
ELSEWHERE = "otherhost:123:aaaa"
"""A worker on another host: only its silence tells it is gone."""
LEASE = timedelta(seconds=30)


class Recorder:
    """A runner that records what it is handed; its broker holds `waiting` messages."""

    def __init__(self, waiting: int = 0) -> None:
        self.submitted: list[tuple[str, int]] = []
        self.waiting = waiting

    def submit(self, kind: str, job_id: int) -> None:
        self.submitted.append((kind, job_id))

    def depth(self) -> dict[str, int]:
        return {"q.import": self.waiting}


def _deps(registry: Registry, tmp_path: Path, now: datetime | None = None) -> Deps:  # noqa: F811
    deps = replace(make_deps(tmp_path), registry=registry, runner=Recorder(), jobs=JobOptions(lease=LEASE))
    return replace(deps, clock=lambda: now) if now is not None else deps


def _job(registry: Registry, job_id: int) -> AccountJob:  # noqa: F811
    with registry.session() as s:
        return s.get_one(AccountJob, job_id)


def _taken(at: datetime) -> Any:
    return lambda job: not lost(job.owner, job.heartbeat_at, at, LEASE)


def test_a_silent_account_job_is_taken_over_and_its_first_worker_fenced(
    registry: Registry,  # noqa: F811
    tmp_path: Path,
) -> None:
    job_id = start_metering(_deps(registry, tmp_path), ACCOUNT, "2021-06")
    t0 = utcnow()
    claimed = account_jobs.claim(registry, job_id, ELSEWHERE, t0, lambda job: True)
    assert claimed is not None and claimed.status == "RUNNING" and claimed.started_at == t0
    assert job_records.heartbeat(registry, job_id, ELSEWHERE, t0 + timedelta(seconds=5), AccountJob)
    second = worker_id()
    early, late = t0 + timedelta(seconds=20), t0 + timedelta(seconds=40)
    assert account_jobs.claim(registry, job_id, second, early, _taken(early)) is None  # its lease holds
    taken = account_jobs.claim(registry, job_id, second, late, _taken(late))
    assert taken is not None and (taken.owner, taken.attempts, taken.started_at) == (second, 2, t0)
    # the first worker comes back: every write it tries changes nothing
    assert not job_records.heartbeat(registry, job_id, ELSEWHERE, late, AccountJob)
    assert not account_jobs.save(registry, job_id, ELSEWHERE, {"stale": True}, late)
    assert not account_jobs.finish(registry, job_id, ELSEWHERE, {"stale": True}, late)
    job = _job(registry, job_id)
    assert (job.status, job.owner, job.result) == ("RUNNING", second, None)
    assert account_jobs.finish(registry, job_id, second, {"days": 30}, late)
    assert (_job(registry, job_id).status, _job(registry, job_id).result) == ("SUCCEEDED", {"days": 30})
    assert account_jobs.claim(registry, job_id, "late:1:x", late, lambda job: False) is None  # it ended


def test_run_account_job_takes_over_a_lost_job_and_leaves_a_held_one(
    registry: Registry,  # noqa: F811
    tmp_path: Path,
) -> None:
    deps = _deps(registry, tmp_path)
    silent, held = (start_metering(deps, ACCOUNT, "2021-06") for _ in range(2))
    long_ago = utcnow() - 2 * LEASE
    assert account_jobs.claim(registry, silent, ELSEWHERE, long_ago, lambda job: True)
    assert account_jobs.claim(registry, held, ELSEWHERE, utcnow(), lambda job: True)
    assert run_metering(silent, deps) == JobStatus.SUCCEEDED
    job = _job(registry, silent)
    assert job.attempts == 2 and job.owner != ELSEWHERE and job.result == {"month": "2021-06", "days": 30}
    assert run_metering(held, deps) == JobStatus.RUNNING  # a live lease: left to its worker
    assert _job(registry, held).owner == ELSEWHERE and _job(registry, held).attempts == 1


def test_an_account_job_taken_over_mid_run_writes_nothing_more(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    deps = _deps(registry, tmp_path)
    job_id = start_metering(deps, ACCOUNT, "2021-06")
    thief = "thief:1:run"

    def work(job: AccountJob, held: Held) -> dict[str, Any]:
        held.save({"step": 1})
        later = utcnow() + 2 * LEASE  # this worker has been silent for two leases, as seen by the thief
        assert account_jobs.claim(registry, job.id, thief, later, _taken(later)) is not None
        with pytest.raises(LeaseLost):
            held.save({"step": 2})
        return {"done": True}  # its end is refused too

    assert run_account_job(deps, job_id, work) == JobStatus.RUNNING
    job = _job(registry, job_id)
    assert (job.status, job.owner, job.result, job.finished_at) == ("RUNNING", thief, {"step": 1}, None)


def test_an_unforeseen_failure_ends_the_job_with_service_error(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    deps = _deps(registry, tmp_path)
    job_id = start_metering(deps, ACCOUNT, "2021-06")

    def work(_job: AccountJob, _held: Held) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    assert run_account_job(deps, job_id, work) == JobStatus.FAILED
    job = _job(registry, job_id)
    assert job.error_code == "SERVICE_ERROR" and "RuntimeError: disk on fire" in (job.error_message or "")


def test_the_sweep_hands_out_lost_and_stuck_account_jobs_as_their_kind(
    registry: Registry,  # noqa: F811
    tmp_path: Path,
) -> None:
    now = utcnow()
    deps = _deps(registry, tmp_path, now - timedelta(hours=1))  # created an hour ago
    lost_one, stuck, fresh_lease = (start_metering(deps, ACCOUNT, "2021-06") for _ in range(3))
    assert account_jobs.claim(registry, lost_one, ELSEWHERE, now - 2 * LEASE, lambda job: True)
    assert account_jobs.claim(registry, fresh_lease, ELSEWHERE, now, lambda job: True)
    deps = replace(deps, clock=lambda: now, runner=Recorder(waiting=0))  # the broker lost every message
    swept = sweep_now(deps, now)
    assert [(j.kind, j.id) for j in swept.lost] == [(METERING, lost_one)]
    assert [(j.kind, j.id) for j in swept.stuck] == [(METERING, stuck)]
    assert deps.runner.submitted == [(METERING, lost_one), (METERING, stuck)]  # type: ignore[attr-defined]
    assert _job(registry, lost_one).enqueued_at == now and _job(registry, stuck).enqueued_at == now
    again = sweep_now(deps, now + timedelta(seconds=1))  # just handed out: not again at once
    assert again.lost == [] and again.stuck == []


def test_status_counts_account_jobs(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    now = utcnow()
    deps = replace(_deps(registry, tmp_path), clock=lambda: now)
    svc = ModelService(deps, ACCOUNT)
    svc.accept("queued-import", str(write_model(tmp_path / "src", checkpoints=2)))
    _queued, running, stale = (start_metering(deps, ACCOUNT, "2021-06") for _ in range(3))
    live = worker_id()
    assert account_jobs.claim(registry, running, live, now, lambda job: True)
    assert account_jobs.claim(registry, stale, ELSEWHERE, now - 2 * LEASE, lambda job: True)
    seen = status(deps)
    assert seen.queued == 2 and dict(seen.queued_by_kind) == {"import": 1, METERING: 1}
    (by_worker,) = seen.running.values()
    assert [(r.kind, r.job_id) for r in by_worker] == [(METERING, running)]
    assert [(j.kind, j.id, j.owner) for j in seen.stale] == [(METERING, stale, ELSEWHERE)]
    shown = seen.as_dict()
    assert shown["queued_by_kind"] == {"import": 1, METERING: 1}
    assert shown["stale"] == [
        {"kind": METERING, "job_id": stale, "owner": ELSEWHERE, "heartbeat_at": str(now - 2 * LEASE)}
    ]
