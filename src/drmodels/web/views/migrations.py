"""Account migration: the signed-in account's migrations (newest first) and a form to start one with the
account's migration role ("Plan" shows what a run would do and registers nothing); a migration's
progress, followed in place while it runs; and removing migrated models' sources after the cutoff (a
source cleanup: a dry run unless applied), with its report. Jobs run where the server runs jobs."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from drmodels.errors import InvalidRequest
from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob
from drmodels.rules import requests
from drmodels.rules.permissions import migration_policy, trust_policy
from drmodels.service.cleanup import CLEANUP, CleanupJob, cleanup_job, parse_cutoff, start_cleanup
from drmodels.service.deps import Deps
from drmodels.service.migration import MIGRATION, MigrationProgress, migration_progress, start_migration
from drmodels.service.migration_plan import MigrationPlan, make_plan
from drmodels.web.site import Console, console_of, page, signed_form, signed_in

LISTED = 20
"""Migrations (and source cleanups) listed on the page, newest first."""
RUNNING = (JobStatus.QUEUED, JobStatus.RUNNING)


def _policies(console: Console) -> dict[str, str]:
    """The role's documents: `drmodels policy role --migration [--cleanup]` and `drmodels policy trust`."""
    principal = console.services.settings.service_principal
    return {
        "migration": json.dumps(migration_policy(), indent=2),
        "cleanup": json.dumps(migration_policy(cleanup=True), indent=2),
        "trust": json.dumps(trust_policy(principal), indent=2),
    }


async def _listing(request: Request, account_id: str, status_code: int = 200, **context: Any) -> Response:
    """The page: the form (with what was sent, a refusal or a plan), the policies, the account's jobs."""
    console = console_of(request)
    registry = console.services.deps.registry

    def read() -> tuple[list[AccountJob], list[AccountJob]]:
        return (
            account_jobs.recent(registry, account_id, MIGRATION, LISTED),
            account_jobs.recent(registry, account_id, CLEANUP, LISTED),
        )

    migrations, cleanups = await run_in_threadpool(read)
    return page(
        request, "migrations.html", status_code=status_code, migrations=migrations, cleanups=cleanups,
        policies=_policies(console), form=context.pop("form", {}), **context,
    )  # fmt: skip


async def migrations(request: Request) -> Response:
    session = await signed_in(request)
    return await _listing(request, session.account_id)


async def submit(request: Request) -> Response:
    """Plan (a dry run: discovery and the registry, nothing written) or Start (registered, then handed to
    the runner); a second start with another role while one runs is the service's Conflict."""
    session, form = await signed_form(request)
    console = console_of(request)
    deps = console.services.deps
    role_arn = str(form.get("role_arn") or "").strip()
    retry_errors = form.get("retry_errors") == "on"
    shown = {"role_arn": role_arn, "retry_errors": retry_errors}
    try:
        if not role_arn:
            raise InvalidRequest("role_arn", "give the account's migration role (the policy below)")
        requests.check_role_arn(role_arn)
    except InvalidRequest as exc:
        return await _listing(request, session.account_id, 400, form=shown, refused=exc)
    if form.get("action") == "plan":

        def plan() -> MigrationPlan:
            return make_plan(deps, session.account_id, role_arn, retry_errors)

        found = await run_in_threadpool(plan)
        return await _listing(request, session.account_id, form=shown, plan=found)

    def start() -> int:
        job_id = start_migration(deps, session.account_id, role_arn, retry_errors=retry_errors)
        deps.runner.submit(MIGRATION, job_id)
        return job_id

    job_id = await run_in_threadpool(start)
    return RedirectResponse(f"{request.scope['root_path']}/migrations/{job_id}", status_code=303)


def _progress_context(deps: Deps, progress: MigrationProgress) -> dict[str, Any]:
    failed = [i for i in progress.items if i["status"] == "MIGRATE_ERROR" and i["action"] != "skip"]
    by_code: dict[str, list[str]] = {}
    for item in failed:
        by_code.setdefault(item["error_code"] or "", []).append(item["name"])
    return {
        "m": progress,
        "running": progress.status in RUNNING,
        "today": f"{deps.clock():%Y-%m-%d}",
        "failed_by_code": sorted(by_code.items()),
        "share": round(100 * progress.bytes_done / progress.bytes_total) if progress.bytes_total else 0,
    }


async def _progress(request: Request) -> dict[str, Any]:
    session = await signed_in(request)
    deps = console_of(request).services.deps
    found = await run_in_threadpool(
        migration_progress, deps, session.account_id, request.path_params["migration"]
    )
    return _progress_context(deps, found)


async def migration(request: Request) -> Response:
    context = await _progress(request)
    return page(request, "migration.html", live=context["running"], **context)


async def migration_part(request: Request) -> Response:
    """The progress section alone: what the page's script puts in place of the old one while it runs."""
    context = await _progress(request)
    return page(request, "_migration.html", **context)


def _cutoff(form: FormData) -> date:
    text = str(form.get("cutoff") or "").strip()
    if not text:
        raise InvalidRequest("cutoff", "give the cutoff day, YYYY-MM-DD")
    return parse_cutoff(text)


async def start_source_cleanup(request: Request) -> Response:
    """Remove migrated models' verified sources from the cutoff on (a dry run unless `apply` is ticked)."""
    session, form = await signed_form(request)
    deps = console_of(request).services.deps
    role_arn = str(form.get("role_arn") or "").strip()
    apply = form.get("apply") == "on"

    def start() -> int:
        job_id = start_cleanup(deps, session.account_id, role_arn, _cutoff(form), apply)
        deps.runner.submit(CLEANUP, job_id)
        return job_id

    job_id = await run_in_threadpool(start)
    return RedirectResponse(f"{request.scope['root_path']}/cleanups/{job_id}", status_code=303)


async def _cleanup(request: Request) -> dict[str, Any]:
    session = await signed_in(request)
    deps = console_of(request).services.deps
    job: CleanupJob = await run_in_threadpool(
        cleanup_job, deps, session.account_id, request.path_params["cleanup"]
    )
    return {"c": job, "running": job.status in RUNNING}


async def cleanup(request: Request) -> Response:
    context = await _cleanup(request)
    return page(request, "cleanup.html", live=context["running"], **context)


async def cleanup_part(request: Request) -> Response:
    return page(request, "_cleanup.html", **await _cleanup(request))


ROUTES = [
    Route("/migrations", migrations, methods=["GET"]),
    Route("/migrations", submit, methods=["POST"]),
    Route("/migrations/{migration:int}", migration, methods=["GET"]),
    Route("/migrations/{migration:int}/progress", migration_part, methods=["GET"]),
    Route("/cleanups", start_source_cleanup, methods=["POST"]),
    Route("/cleanups/{cleanup:int}", cleanup, methods=["GET"]),
    Route("/cleanups/{cleanup:int}/progress", cleanup_part, methods=["GET"]),
]
