"""The import job: inspect -> copy the planned objects -> build the car archive -> verify -> READY.

A migrated model runs the same job (MIGRATING -> READY / MIGRATE_ERROR: registry/jobs.py).

`run_import(job_id, deps)` is idempotent and takes only an id (plus the process's dependencies), so
the in-process pool and a distributed runner call the same function. Whatever it finds in the store
from an earlier, interrupted attempt is either kept (complete and matching) or removed.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from drmodels.adapters.ports import Source, SourceError, StoredObject
from drmodels.errors import ImportFailed, LeaseLost
from drmodels.registry import job_queries
from drmodels.registry import jobs as job_records
from drmodels.registry.jobs import Claim, Outcome
from drmodels.registry.statuses import ModelStatus
from drmodels.rules import layout
from drmodels.rules.limits import human_size
from drmodels.rules.metadata import ModelMetadata, parse_model_metadata
from drmodels.rules.problems import Code, Problem, error
from drmodels.rules.report import Report
from drmodels.service.check import check_source
from drmodels.service.deep import deep_check
from drmodels.service.deps import Deps
from drmodels.service.imports.copy import copy_all
from drmodels.service.imports.package import build_car
from drmodels.service.imports.pinned import Pinned, pinnable
from drmodels.service.imports.prefetch import Prefetching
from drmodels.service.imports.progress import Listener, Stopped, Tracker
from drmodels.service.imports.verify import reconcile, verify
from drmodels.service.jobs import Lease, lost, worker_id
from drmodels.service.shapes import car_configuration
from drmodels.service.store_keys import model_prefix, virtual_key, virtual_prefix

IMPORT = job_queries.IMPORT
"""This job's kind in the task table (service/tasks.py)."""


def interrupted(name: str) -> Problem:
    return error(
        Code.SERVICE_ERROR,
        "",
        "the import was interrupted (Ctrl-C or a stop request) before it finished; nothing of it was kept",
        f"Start it again with `drmodels models retry {name}`, or forget it with "
        f"`drmodels models delete {name}`.",
    )


def run_import(
    job_id: int, deps: Deps, listener: Listener | None = None, stop: threading.Event | None = None
) -> ModelStatus:
    """Run (or resume) one import job; returns the model's final status.

    A job held by another live worker is left to it (its status is returned as it stands); a job
    whose worker died or stopped renewing its lease is taken over and resumed. Stopped (`stop` set,
    or Ctrl-C: KeyboardInterrupt, raised again) it ends IMPORT_ERROR with nothing kept, so the
    model can be retried or deleted at once.
    """
    now, worker = deps.clock(), worker_id()
    claim = job_records.claim(
        deps.registry, job_id, worker, now,
        lambda job: not lost(job.owner, job.heartbeat_at, now, deps.jobs.lease),
    )  # fmt: skip
    if claim is None:
        return job_records.final_status(deps.registry, job_id)
    with Lease(deps, job_id, worker) as lease:
        try:
            outcome = _import(job_id, claim, deps, listener, lease, stop)
        except LeaseLost:
            return job_records.final_status(deps.registry, job_id)
        except ImportFailed as exc:
            return _fail(job_id, worker, claim.model_id, list(exc.problems), deps)
        except (Stopped, KeyboardInterrupt) as exc:
            status = _fail(job_id, worker, claim.model_id, [interrupted(claim.model_name)], deps)
            if isinstance(exc, KeyboardInterrupt):
                raise
            return status
        except Exception as exc:
            problem = error(
                Code.SERVICE_ERROR,
                "",
                f"the import stopped on an internal error: {type(exc).__name__}: {exc}",
                "Retry the import; if it fails again, report this message.",
            )
            return _fail(job_id, worker, claim.model_id, [problem], deps)
        job_records.mark_ready(deps.registry, job_id, worker, claim.model_id, outcome, deps.clock())
    return job_records.final_status(deps.registry, job_id)


@dataclass(frozen=True)
class _Inspected:
    source: Source
    report: Report
    metadata: ModelMetadata | None
    metadata_json: bytes


def _inspect(claim: Claim, deps: Deps) -> _Inspected:
    """Step 2 and 3: reach the source and inspect it; a model that is not importable ends here."""
    try:
        source = Prefetching(deps.sources(claim.source, claim.role_arn), deps.limits)
        report = check_source(source, deps.limits)
    except SourceError as exc:
        raise ImportFailed(exc.problems) from exc
    if not report.importable:
        raise ImportFailed(report.errors + [p for p in report.problems if not p.is_error])
    key = report.plan.model_metadata
    if key is None:
        return _Inspected(source.inner, report, None, b"")
    try:
        data = source.read(key, deps.limits.control_file_bytes)
    except SourceError as exc:
        raise ImportFailed([error(exc.code, exc.path or key, exc.message, exc.fix)]) from exc
    metadata = report.metadata or parse_model_metadata(key, data)[0]
    return _Inspected(source.inner, report, metadata, data)


def abandon(job_id: int, deps: Deps) -> None:
    """A job that will not run after all (its bulk import was interrupted first): IMPORT_ERROR as
    interrupted, unless a worker claimed it meanwhile."""
    job_records.fail_queued(deps.registry, job_id, lambda name: [interrupted(name)], deps.clock())


def _import(
    job_id: int,
    claim: Claim,
    deps: Deps,
    listener: Listener | None,
    lease: Lease,
    stop: threading.Event | None,
) -> Outcome:
    found = _inspect(claim, deps)
    plan, model_id = found.report.plan, claim.model_id
    wanted = {virtual_key(model_id, o.key): o for o in plan.objects}
    lease.check()
    kept = {} if claim.fresh else reconcile(model_id, wanted, deps.store)
    tracker = Tracker(
        job_id, deps, sum(o.size for o in plan.objects), len(plan.objects), listener, lease, stop
    )
    for key in kept:
        tracker.already_done(wanted[key].size)
    todo = [(k, o) for k, o in wanted.items() if k not in kept]
    deep = found.metadata is not None and deps.options.deep
    at_source = deep and pinnable(found.source, plan.objects)
    with ThreadPoolExecutor(1, thread_name_prefix="deep") as pool:
        early = (
            pool.submit(
                deep_check, Pinned(found.source, plan.objects), found.report, found.metadata,
                limits=deps.limits,
            )
            if at_source
            else None
        )  # fmt: skip
        stored = dict(kept)
        stored.update(
            copy_all(
                found.source, todo, deps.store, deps.options.copy_workers, deps.options.retry,
                tracker.add_bytes, tracker.add_file,
            )
        )  # fmt: skip
        lease.check()
        car_size = 0
        problems: list[Problem] = []
        if plan.build_car_archive and plan.car_archive_graph:
            tracker.stage = "package"
            car_size, problems = build_car(
                deps, model_id, plan.car_archive_graph, wanted, found.metadata_json, found.metadata
            )
        tracker.stage = "verify"
        verify(model_id, wanted, stored, deps.store)
        if early is not None:
            problems += early.result().problems
        elif deep:
            store_copy = deps.store.source(virtual_prefix(model_id))
            problems += deep_check(store_copy, found.report, found.metadata, limits=deps.limits).problems
    if any(p.is_error for p in problems):
        raise ImportFailed(problems)
    lease.check()
    return _outcome(model_id, found, stored, car_size)


def _outcome(model_id: str, found: _Inspected, stored: dict[str, StoredObject], car_size: int) -> Outcome:
    report, metadata = found.report, found.metadata
    cut = len(virtual_prefix(model_id)) + 1
    etags = {o.key: o.etag for o in report.plan.objects}
    manifest = [
        {"key": k[cut:], "size": o.size, "checksum": o.checksum, "source_etag": etags.get(k[cut:])}
        for k, o in sorted(stored.items())
    ]
    size = sum(o.size for o in stored.values()) + car_size
    checkpoints = list(report.plan.checkpoints)
    algorithm = None if metadata is None else ("SAC" if metadata.training_algorithm == "sac" else "PPO")
    return Outcome(
        size_bytes=size,
        packaging_complete=car_size > 0 or any(o.key in layout.CAR_ARCHIVES for o in report.plan.objects),
        manifest=manifest,
        checkpoints=checkpoints,
        car_configuration=car_configuration(metadata),
        agent_algorithm=algorithm,
        warnings=report.problems,
        event=f"READY: {len(manifest)} files, {human_size(size)}, "
        f"checkpoints {', '.join(checkpoints) or '-'}",
    )


def _fail(job_id: int, worker: str, model_id: str, problems: list[Problem], deps: Deps) -> ModelStatus:
    """Remove every partial copy, then record the failure (also when the removal itself fails).

    Nothing is removed once another worker holds the job: the copies are its own by then.
    """
    if not job_records.holds(deps.registry, job_id, worker):
        return job_records.final_status(deps.registry, job_id)
    try:
        removed = deps.store.delete_prefix(model_prefix(model_id))
    except Exception as exc:
        removed = 0
        problems = [
            *problems,
            error(
                Code.SERVICE_ERROR,
                "",
                f"partial copies could not be removed: {exc}",
                "Retry or delete the model.",
            ),
        ]
    job_records.mark_failed(deps.registry, job_id, worker, model_id, problems, removed, deps.clock())
    return job_records.final_status(deps.registry, job_id)
