"""Many processes on one registry at once (the API server and parallel CLIs make this everyday):
migrations, first imports, parallel retries; ids never reused, attempts counting on."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drmodels.registry.db import Registry
from drmodels.registry.statuses import JobStatus
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from support.deps import make_deps
from support.import_fixtures import registry_url, write_model  # noqa: F401  (fixtures)

PROCESSES = 10
FORK = multiprocessing.get_context("fork")  # the children reuse this process's imports: cheap to start


def in_processes(target: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[Any]:
    """Run target(*args) in one forked process per args, all released at once; their results, or
    the repr of what each raised."""
    start = FORK.Barrier(len(args))
    results = FORK.Queue()

    def child(i: int, a: tuple[Any, ...]) -> None:
        start.wait()
        try:
            results.put((i, target(*a)))
        except BaseException as exc:
            results.put((i, f"{type(exc).__name__}: {exc}"))

    procs = [FORK.Process(target=child, args=(i, a)) for i, a in enumerate(args)]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    return [got[i] for i in range(len(args))]


def _open_registry(url: str) -> str:
    Registry(url).close()
    return "ok"


def test_many_processes_open_a_new_registry_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'registry.sqlite3'}"
    assert in_processes(_open_registry, [(url,)] * PROCESSES) == ["ok"] * PROCESSES


def _accept(data: Path, name: str, source: str) -> int:
    svc = ModelService(make_deps(data))
    return svc.accept(name, source).job_id


def test_parallel_first_imports_with_different_names(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    names = [f"team-{i}" for i in range(PROCESSES)]
    jobs = in_processes(_accept, [(tmp_path, n, str(src)) for n in names])
    assert all(isinstance(j, int) for j in jobs), jobs  # none refused as "already exists"
    assert sorted(m.name for m in ModelService(make_deps(tmp_path)).list()) == sorted(names)


def _retry(data: Path, name: str) -> int:
    return ModelService(make_deps(data)).retry(name)


def test_parallel_retries_of_one_model_start_one_job(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    (src / "reward_function.py").rename(tmp_path / "reward.py")
    svc = ModelService(make_deps(tmp_path))
    assert run_import(svc.accept("once", str(src)).job_id, svc.deps) == "IMPORT_ERROR"
    (tmp_path / "reward.py").rename(src / "reward_function.py")
    jobs = in_processes(_retry, [(tmp_path, "once")] * 8)
    assert len(set(jobs)) == 1 and isinstance(jobs[0], int), jobs
    statuses = in_processes(_run, [(tmp_path, jobs[0])] * 4)  # every retry hands its job to a runner
    assert statuses.count("READY") >= 1 and set(statuses) <= {"READY", "IMPORTING"}, statuses
    model = svc.get("once")
    assert model.status == "READY" and len(model.jobs) == 2
    assert [e.kind for e in model.events].count("import-started") == 2  # the job ran once


def _run(data: Path, job_id: int) -> str:
    return str(run_import(job_id, ModelService(make_deps(data)).deps))


def test_a_job_left_queued_can_be_retried(tmp_path: Path) -> None:
    """Its worker died before claiming it: retry hands the same job out again."""
    src = write_model(tmp_path / "src", checkpoints=2)
    svc = ModelService(make_deps(tmp_path))
    accepted = svc.accept("stuck", str(src))
    assert svc.get("stuck").jobs[0].status == JobStatus.QUEUED
    assert svc.retry("stuck") == accepted.job_id
    assert run_import(accepted.job_id, svc.deps) == "READY"
    assert svc.get("stuck").jobs[0].attempts == 1


def test_job_ids_are_never_reused(registry_url: str, tmp_path: Path) -> None:  # noqa: F811
    src = write_model(tmp_path / "src", checkpoints=2)
    svc = ModelService(make_deps(tmp_path, registry_url=registry_url))
    first = svc.accept("a", str(src)).job_id
    events = [e.id for e in svc.get("a").events]
    svc.delete("a")
    second = svc.accept("b", str(src)).job_id
    assert second > first and min(e.id for e in svc.get("b").events) > max(events)
    svc.deps.registry.close()
