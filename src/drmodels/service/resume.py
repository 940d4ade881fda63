"""Jobs a starting long-lived process takes back: queued ones, and running ones whose worker is lost.

A server stopped with SIGTERM leaves its queued jobs QUEUED and its running ones RUNNING under its own
(now dead) process; the next start submits them again, and each job resumes from what it finds (the
claim refuses a job another live worker holds, so a job submitted twice runs once).
"""

from __future__ import annotations

import sqlalchemy as sa

from drmodels.registry.statuses import JobStatus, ModelStatus
from drmodels.registry.tables import ImportJob, Model
from drmodels.service.deps import Deps
from drmodels.service.jobs import lost
from drmodels.service.tasks import IMPORT


def resume_jobs(deps: Deps) -> list[int]:
    """Submit every import job left unfinished by a worker that is gone; the ids submitted."""
    now = deps.clock()
    with deps.registry.session() as s:
        rows = s.execute(
            sa.select(ImportJob.id, ImportJob.status, ImportJob.owner, ImportJob.heartbeat_at)
            .join(Model, Model.id == ImportJob.model_id)
            .where(
                ImportJob.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
                Model.status.in_([ModelStatus.IMPORTING.value, ModelStatus.MIGRATING.value]),
            )
            .order_by(ImportJob.id)
        ).all()
    ids = [row.id for row in rows if row.status == JobStatus.QUEUED or lost(row.owner, row.heartbeat_at, now)]
    for job_id in ids:
        deps.runner.submit(IMPORT, job_id)
    return ids
