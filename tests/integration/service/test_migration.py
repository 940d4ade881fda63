"""An account's migration on SeaweedFS, with the role holding exactly the spec's migration policy.

Three `*deepracer*` buckets with good models and every fault the spec names, plus an unrelated bucket;
one SeaweedFS of its own (ListBuckets would otherwise show other tests' buckets). One scenario, in order:
dry run, migration, rerun (a no-op), --retry-errors, cleanup dry run, cleanup before and after the cutoff.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from drmodels.errors import Conflict, InvalidRequest
from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import ImportJob, MigrationSource, Model
from drmodels.service.cleanup import LEFT_WHOLE, REMOVED, WOULD_REMOVE, clean_sources
from drmodels.service.deps import Deps
from drmodels.service.jobs import worker_id
from drmodels.service.migration import migration_progress, run_migration, start_migration
from drmodels.service.migration_plan import MIGRATE, RETRY, make_plan
from drmodels.service.models import ModelService
from support import servers
from support.deps import make_deps
from support.migration_account import (
    BROKEN,
    LIMITS,
    MIGRATION_SESSION,
    broken,
    console_prefix,
    deny_policy,
    good_model,
    under,
)

pytestmark = pytest.mark.servers
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def server() -> Iterator[servers.Seaweed]:
    with servers.seaweed() as sw:
        yield sw


@pytest.fixture
def env(server: servers.Seaweed, monkeypatch: pytest.MonkeyPatch) -> servers.Seaweed:
    for name, value in server.env(server.importer).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return server


def _keys(s3: Any, bucket: str) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["ETag"] for p in pages for o in p.get("Contents", ())}


def _models(deps: Deps) -> dict[str, Model]:
    with deps.registry.session() as s:
        return {m.import_src_location: m for m in s.scalars(sa.select(Model)).all()}


def _job_counts(deps: Deps) -> dict[str, int]:
    with deps.registry.session() as s:
        rows = s.execute(sa.select(ImportJob.model_id, sa.func.count()).group_by(ImportJob.model_id)).all()
        return {model_id: n for model_id, n in rows}


def test_an_account_migrates_reruns_as_a_no_op_and_cleans_up_only_verified_copies(
    env: servers.Seaweed, tmp_path: Path
) -> None:
    admin = servers.s3_client(env)
    uid = uuid.uuid4().hex[:6]
    alpha, beta, gamma = (f"acct-deepracer-{n}-{uid}" for n in ("alpha", "beta", "gamma"))
    holiday = f"holiday-photos-{uid}"
    layout: dict[str, dict[str, bytes]] = {
        f"s3://{alpha}/{console_prefix(1)}/": good_model(),
        f"s3://{alpha}/drfc/rl-deepracer-sagemaker/": good_model(),
        f"s3://{beta}/{console_prefix(2)}/": good_model(),
        f"s3://{beta}/changed-later/": good_model(),
        f"s3://{gamma}/denied/": good_model(),
    }
    codes = sorted(BROKEN)
    for i, code in enumerate(codes):
        layout[f"s3://{(alpha, beta, gamma)[i % 3]}/{code.lower()}/"] = broken(code)
    for source, files in layout.items():
        bucket, _, prefix = source.removeprefix("s3://").partition("/")
        servers.put_objects(admin, bucket, "", under(prefix, files))
    servers.put_objects(admin, holiday, "", under("m/", good_model()))
    denied = deny_policy(MIGRATION_SESSION, ["s3:GetObject"], [f"arn:aws:s3:::{gamma}/denied/*"])
    admin.put_bucket_policy(Bucket=gamma, Policy=denied)
    before = {b: _keys(admin, b) for b in (alpha, beta, gamma, holiday)}
    deps = make_deps(tmp_path, limits=LIMITS)
    role = env.roles.migration
    expected = dict.fromkeys(layout, "READY")
    expected.update({f"s3://{(alpha, beta, gamma)[i % 3]}/{c.lower()}/": c for i, c in enumerate(codes)})
    expected[f"s3://{gamma}/denied/"] = "ACCESS_DENIED_TO_BUCKET"

    # 1. dry run: the plan, nothing registered, nothing touched
    plan = make_plan(deps, ACCOUNT, role, retry_errors=False)
    assert {i.source for i in plan.items} == set(layout)
    assert all(i.action == MIGRATE for i in plan.items)
    assert holiday not in plan.buckets and {alpha, beta, gamma} <= set(plan.buckets)
    assert len({i.name for i in plan.items}) == len(plan.items)
    assert _models(deps) == {}

    # 2. the migration: each model READY or MIGRATE_ERROR with its code
    migration_id = start_migration(deps, ACCOUNT, role, workers=4)
    assert run_migration(migration_id, deps) == JobStatus.SUCCEEDED
    models = _models(deps)
    assert set(models) == set(layout)
    got = {src: (m.error_code or m.status) for src, m in models.items()}
    assert got == expected
    for m in models.values():
        assert m.was_migrated and not m.was_imported and m.role_arn == role
        assert m.status in (ModelStatus.READY, ModelStatus.MIGRATE_ERROR)
        assert m.account_id == ACCOUNT
    progress = migration_progress(deps, ACCOUNT, migration_id)
    assert progress.done and progress.models == {"READY": 4, "MIGRATE_ERROR": len(codes) + 1}
    assert progress.errors == {**{c: 1 for c in codes}, "ACCESS_DENIED_TO_BUCKET": 1}
    assert progress.migrated_bytes == sum(m.size_bytes or 0 for m in models.values())
    json.dumps(progress.as_dict())  # the API serves it as is

    # 3. a rerun changes nothing; errored models are retried only when asked
    snapshot = {src: (m.id, m.name, m.status, m.error_code) for src, m in models.items()}
    jobs = _job_counts(deps)
    again = start_migration(deps, ACCOUNT, role)
    assert again != migration_id and run_migration(again, deps) == JobStatus.SUCCEEDED
    assert {src: (m.id, m.name, m.status, m.error_code) for src, m in _models(deps).items()} == snapshot
    assert _job_counts(deps) == jobs
    rerun = migration_progress(deps, ACCOUNT, again)
    assert rerun.models == {} and sum(rerun.skipped.values()) == len(layout)
    retry_plan = make_plan(deps, ACCOUNT, role, retry_errors=True)
    assert {i.source for i in retry_plan.items if i.action == RETRY} == {
        s for s, c in expected.items() if c != "READY"
    }
    third = start_migration(deps, ACCOUNT, role, retry_errors=True)
    run_migration(third, deps)
    counts = _job_counts(deps)
    assert {src: counts[m.id] - jobs[m.id] for src, m in models.items()} == {
        src: int(code != "READY") for src, code in expected.items()
    }
    with deps.registry.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MigrationSource)) == len(layout)
    assert {b: _keys(admin, b) for b in before} == before  # the migration never writes to a source

    # 4. cleanup: a dry run deletes nothing
    cutoff = date(2020, 8, 10)
    late = replace(deps, clock=lambda: datetime(2030, 1, 1))
    dry = clean_sources(late, ACCOUNT, env.roles.migration_cleanup, cutoff, apply=False)
    assert {m.outcome for m in dry.models} == {WOULD_REMOVE} and dry.bytes_freed > 0
    assert {b: _keys(admin, b) for b in before} == before

    # a source edited after migration, and a cutoff not yet come
    changed = f"s3://{beta}/changed-later/"
    admin.put_object(
        Bucket=beta, Key="changed-later/reward_function.py", Body=b"def reward_function(p):\n  return 2.0\n"
    )
    early = replace(deps, clock=lambda: datetime(2020, 8, 9, 23, 59))
    with pytest.raises(InvalidRequest, match="has not come"):
        clean_sources(early, ACCOUNT, env.roles.migration_cleanup, cutoff, apply=True)

    # 5. cleanup after the cutoff: exactly the verified copies' sources go
    report = clean_sources(late, ACCOUNT, env.roles.migration_cleanup, cutoff, apply=True)
    outcome = {m.source: m for m in report.models}
    assert set(outcome) == {s for s, c in expected.items() if c == "READY"}
    assert outcome[changed].outcome == LEFT_WHOLE and outcome[changed].removed == []
    assert any(c.startswith("reward_function.py") for c in outcome[changed].changed)
    removed = {src for src, m in outcome.items() if m.outcome == REMOVED}
    assert removed == set(outcome) - {changed}
    after = {b: _keys(admin, b) for b in before}
    assert after[holiday] == before[holiday]
    now_models = _models(deps)
    for source, files in layout.items():
        bucket, _, prefix = source.removeprefix("s3://").partition("/")
        left = {k[len(prefix) :] for k in after[bucket] if k.startswith(prefix)}
        if source in removed:
            copied = {e["key"] for e in now_models[source].manifest or []}
            assert left == set(files) - copied, source
            assert {"model/1_Step-42.ckpt.index", "sim-trace/training/training-simtrace/0-iteration.csv",
                    "videos/training/camera-45degree.mp4"} <= left  # fmt: skip
            assert outcome[source].bytes_freed == sum(e["size"] for e in now_models[source].manifest or [])
            assert any(why.startswith("checkpoint") for why in outcome[source].kept)
        else:
            assert left == set(files), source  # errored or changed: whole
    assert report.bytes_freed == sum(m.bytes_freed for m in report.models) > 0
    assert report.skipped == {"MIGRATE_ERROR: its source is kept": len(codes) + 1}


def test_a_migration_whose_role_cannot_be_assumed_fails_with_the_spec_code(
    env: servers.Seaweed, tmp_path: Path
) -> None:
    deps = make_deps(tmp_path)
    migration_id = start_migration(deps, ACCOUNT, env.roles.missing)
    assert run_migration(migration_id, deps) == JobStatus.FAILED
    progress = migration_progress(deps, ACCOUNT, migration_id)
    assert progress.error is not None and progress.error["code"] == "ACCOUNT_RESOURCE_DOES_NOT_EXIST"
    assert "DrmNoSuchRole" in progress.error["message"]
    assert ModelService(deps, ACCOUNT).list() == []


def test_progress_of_another_accounts_migration_is_not_found(env: servers.Seaweed, tmp_path: Path) -> None:
    from drmodels.errors import NotFound

    deps = make_deps(tmp_path)
    migration_id = start_migration(deps, ACCOUNT, env.roles.missing)
    with pytest.raises(NotFound):
        migration_progress(deps, "210987654321", migration_id)


def test_a_killed_migration_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with servers.seaweed() as sw:
        for name, value in {**sw.env(sw.importer), "DRMODELS_IMPORT_DEEP": "0"}.items():
            monkeypatch.setenv(name, value)
        bucket = f"kill-deepracer-{uuid.uuid4().hex[:6]}"
        files = good_model()
        servers.put_objects(
            servers.s3_client(sw),
            bucket,
            "",
            {k: v for i in range(8) for k, v in under(f"m{i:02d}/", files).items()},
        )
        deps = make_deps(tmp_path)
        migration_id = start_migration(deps, ACCOUNT, sw.roles.migration, workers=1)
        command = [sys.executable, "-m", "drmodels", "jobs", "run", "migration", str(migration_id),
                   "--data-dir", str(tmp_path / "data")]  # fmt: skip
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        ready = 0
        while time.monotonic() < deadline and child.poll() is None:
            ready = sum(m.status == ModelStatus.READY for m in _models(deps).values())
            if ready >= 2:
                break
            time.sleep(0.02)
        child.kill()
        child.wait()
        assert 2 <= ready < 8, "the migration must be killed midway"
        interrupted = _models(deps)
        assert len(interrupted) == 8 and any(m.status == ModelStatus.MIGRATING for m in interrupted.values())

        assert start_migration(deps, ACCOUNT, sw.roles.migration) == migration_id  # resumed, not restarted
        assert run_migration(migration_id, deps) == JobStatus.SUCCEEDED
        models = _models(deps)
        assert {m.status for m in models.values()} == {ModelStatus.READY}
        assert len(models) == 8 and len({m.name for m in models.values()}) == 8
        assert {m.id for m in models.values()} == {m.id for m in interrupted.values()}
        with deps.registry.session() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(MigrationSource)) == 8
        for model in models.values():  # the store holds exactly each manifest: no leftover part copies
            stored = {o.key.rsplit("/virtual/", 1)[-1] for o in deps.store.scan(f"models/{model.id}/virtual")}
            assert stored == {e["key"] for e in model.manifest or []}


def test_one_migration_of_an_account_at_a_time(tmp_path: Path) -> None:
    """Starting again follows the unfinished migration with that role; another role waits for it."""
    deps = make_deps(tmp_path)
    role, other = servers.role_arn("migration-a"), servers.role_arn("migration-b")
    first = start_migration(deps, ACCOUNT, role)
    assert start_migration(deps, ACCOUNT, role) == first
    assert account_jobs.claim(deps.registry, first, worker_id(), deps.clock(), lambda _job: False)
    assert start_migration(deps, ACCOUNT, role) == first
    with pytest.raises(Conflict, match=f"migration {first} of account {ACCOUNT} is running with role {role}"):
        start_migration(deps, ACCOUNT, other)
    later = deps.clock() + timedelta(hours=1)
    stale = replace(deps, clock=lambda: later)  # its worker went silent for an hour
    assert start_migration(stale, ACCOUNT, other) not in (first, None)
