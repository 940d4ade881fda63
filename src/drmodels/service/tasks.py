"""The task table: every kind of job the service runs, by name. Runners carry only (kind, job id)."""

from __future__ import annotations

from collections.abc import Callable

from drmodels.errors import InvalidRequest
from drmodels.service.billing import METERING, run_metering
from drmodels.service.cleanup import CLEANUP, run_cleanup
from drmodels.service.deps import Deps
from drmodels.service.imports.job import IMPORT, run_import
from drmodels.service.migration import MIGRATION, run_migration

__all__ = ["IMPORT", "TASKS", "run_task"]

TASKS: dict[str, Callable[[int, Deps], object]] = {
    IMPORT: run_import,
    MIGRATION: run_migration,
    CLEANUP: run_cleanup,
    METERING: run_metering,
}
"""kind -> job function(job_id, deps); every one is idempotent and takes only the id."""


def run_task(deps: Deps, kind: str, job_id: int) -> object:
    task = TASKS.get(kind)
    if task is None:
        raise InvalidRequest("kind", f"no job kind {kind!r}; the kinds are {', '.join(sorted(TASKS))}")
    return task(job_id, deps)
