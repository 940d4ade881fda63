"""A migration run by `drmodels worker` processes on Redis and PostgreSQL: its worker is SIGKILLed midway,
another worker's sweep finds the migration (and its running import) lost and hands them out again, and
the migration is taken over and completes: every model READY once, no duplicate, nothing left over.

SeaweedFS of its own: the migration role lists every `*deepracer*` bucket it can reach."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from drmodels.bootstrap import build
from drmodels.config import load_settings
from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import AccountJob, ImportJob, JobRun, MigrationSource, Model
from drmodels.service.jobs import owner_host_pid
from drmodels.service.migration import MIGRATION, migration_progress, start_migration
from support import servers, workers
from support.import_fixtures import pg_database
from support.migration_account import good_model, under

pytestmark = pytest.mark.servers
ACCOUNT = "123456789012"
MODELS = 10


def test_a_migration_whose_worker_is_killed_is_taken_over_and_completes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = good_model(extras=False)
    with servers.seaweed() as sw, pg_database() as url, workers.broker("redis") as broker:
        bucket = f"work-deepracer-{uuid.uuid4().hex[:6]}"
        layout = {k: v for i in range(MODELS) for k, v in under(f"m{i:02d}/", files).items()}
        servers.put_objects(servers.s3_client(sw), bucket, "", layout)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRMODELS_"))}
        env.update({
            **sw.env(sw.importer), **broker.env(), "DRMODELS_REGISTRY_URL": url,
            "DRMODELS_DATA_DIR": str(tmp_path / "data"), "DRMODELS_IMPORT_DEEP": "0",
            "DRMODELS_JOB_LEASE_SECONDS": "2", "DRMODELS_SWEEP_SECONDS": "1",
            "DRMODELS_REQUEUE_AFTER_SECONDS": "2",
        })  # fmt: skip
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        deps = build(load_settings())  # the same registry, local store and broker as the workers
        pool = workers.Workers(broker, env, tmp_path)
        try:
            migration_id = start_migration(deps, ACCOUNT, sw.roles.migration, workers=1)
            doomed = pool.start(2)
            deps.runner.submit(MIGRATION, migration_id)

            def doomed_is_midway() -> bool:
                """Frozen (SIGSTOP) while it holds the migration and runs one of its imports, two models
                done and more to go, so it dies holding both; else let go."""
                with deps.registry.session() as s:
                    ready = s.scalar(sa.select(sa.func.count()).where(Model.status == ModelStatus.READY))
                if (ready or 0) < 2:
                    return False
                os.kill(doomed.proc.pid, signal.SIGSTOP)
                with deps.registry.session() as s:
                    job = s.get_one(AccountJob, migration_id)
                    ready = s.scalar(sa.select(sa.func.count()).where(Model.status == ModelStatus.READY))
                    running = sa.select(ImportJob.owner).where(ImportJob.status == JobStatus.RUNNING)
                    importing = s.scalars(running).all()
                owners = {owner_host_pid(o or "")[1] for o in [job.owner, *importing]}
                if owners == {str(doomed.proc.pid)} and len(importing) == 1 and (ready or 0) < MODELS:
                    return True
                os.kill(doomed.proc.pid, signal.SIGCONT)
                return False

            workers.wait_for(doomed_is_midway, "the first worker to be midway through the migration")
            doomed.kill()
            survivor = pool.start(2)

            def ended() -> str | None:
                with deps.registry.session() as s:
                    status = s.get_one(AccountJob, migration_id).status
                return status if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None

            assert workers.wait_for(ended, "the migration to be taken over and end") == JobStatus.SUCCEEDED, (
                survivor.tail()
            )
        finally:
            pool.stop_all()

        with deps.registry.session() as s:
            job = s.get_one(AccountJob, migration_id)
            models = s.scalars(sa.select(Model)).all()
            jobs = s.scalars(sa.select(ImportJob)).all()
            sources = s.scalars(sa.select(MigrationSource)).all()
            runs = s.scalars(sa.select(JobRun)).all()
        assert job.attempts == 2 and owner_host_pid(job.owner or "")[1] == str(survivor.proc.pid)
        assert job.started_at is not None and job.finished_at is not None
        assert len(models) == MODELS and {m.status for m in models} == {ModelStatus.READY}
        assert len({m.name for m in models}) == MODELS and {m.import_src_location for m in models} == {
            f"s3://{bucket}/m{i:02d}/" for i in range(MODELS)
        }
        assert len(jobs) == MODELS and len(sources) == MODELS  # one import job a model: none registered twice
        assert {s.migration_id for s in sources} == {migration_id}
        lost = [r for r in runs if r.outcome == "LOST"]  # the import the killed worker ran was taken over
        assert len(lost) == 1 and owner_host_pid(lost[0].owner)[1] == str(doomed.proc.pid)
        assert {r.outcome for r in runs} == {"LOST", "SUCCEEDED"}
        assert sorted(r.job_id for r in runs if r.outcome == "SUCCEEDED") == sorted(j.id for j in jobs)
        for model in models:  # the store holds exactly each manifest: no leftover part copies
            stored = {o.key.rsplit("/virtual/", 1)[-1] for o in deps.store.scan(f"models/{model.id}/virtual")}
            assert stored == {e["key"] for e in model.manifest or []}
        progress = migration_progress(deps, ACCOUNT, migration_id)
        assert progress.done and progress.models == {"READY": MODELS} and progress.skipped == {}
        deps.registry.close()
