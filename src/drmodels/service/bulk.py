"""Bulk import for league organisers: a CSV manifest -> one accept per row -> jobs -> one result table."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from drmodels.errors import InvalidRequest
from drmodels.registry.statuses import ModelStatus
from drmodels.registry.tables import Model
from drmodels.service.deps import Deps
from drmodels.service.imports.job import IMPORT, run_import
from drmodels.service.imports.progress import Progress, watch
from drmodels.service.models import ModelService

COLUMNS = ("name", "source", "role", "description")


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    role: str | None
    description: str | None
    line: int


def read_manifest(path: Path) -> list[Row]:
    """name,source[,role][,description]; a header row naming the columns is required."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = {(h or "").strip().lower() for h in reader.fieldnames or []}
            missing = {"name", "source"} - fields
            if missing:
                raise InvalidRequest(
                    "manifest",
                    f"{path}: the header must name the columns {','.join(COLUMNS)} "
                    f"(missing {', '.join(sorted(missing))})",
                )
            rows = []
            for i, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
                rows.append(
                    Row(
                        row.get("name", ""),
                        row.get("source", ""),
                        row.get("role") or None,
                        row.get("description") or None,
                        i,
                    )
                )
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidRequest("manifest", str(exc)) from None


@dataclass(frozen=True)
class BulkProgress:
    bytes_done: int
    bytes_total: int
    files_done: int
    models_done: int
    models_total: int


@dataclass
class BulkResult:
    refused: list[tuple[Row, str]] = field(default_factory=list)
    """Rows refused before anything was registered, with the reason."""
    imported: list[tuple[Row, Model | None]] = field(default_factory=list)
    """Rows that became imports, with the model as it ended."""

    @property
    def ok(self) -> bool:
        return not self.refused and all(
            m is not None and m.status == ModelStatus.READY for _row, m in self.imported
        )


def bulk_import(
    service: ModelService,
    rows: list[Row],
    workers: int,
    listener: Callable[[BulkProgress], None],
    *,
    enqueue: bool = False,
) -> BulkResult:
    """Accept every row, run the accepted imports `workers` at a time, tell `listener` the aggregate.

    With `enqueue`, the jobs go to the runner (workers elsewhere, through the broker) and this
    process follows their progress in the registry until every one is finished.
    """
    result = BulkResult()
    jobs: list[tuple[Row, int]] = []
    for row in rows:
        try:
            accepted = service.accept(row.name, row.source, row.description, row.role)
        except InvalidRequest as exc:
            result.refused.append((row, f"{exc.field}: {exc.message}"))
        else:
            jobs.append((row, accepted.job_id))
    run_jobs(service.deps, [job_id for _row, job_id in jobs], workers, listener, enqueue=enqueue)
    models = {m.name: m for m in service.list()}
    result.imported = [(row, models.get(row.name)) for row, _job in jobs]
    return result


def run_jobs(
    deps: Deps,
    job_ids: list[int],
    workers: int,
    listener: Callable[[BulkProgress], None] | None = None,
    *,
    enqueue: bool = False,
) -> None:
    """Run import jobs `workers` at a time in this process, or (`enqueue`) hand them to the runner and
    follow them in the registry until each is finished; `listener` hears the aggregate progress."""
    lock = threading.Lock()
    per_job: dict[int, Progress] = {}
    finished = [0]

    def tell() -> None:
        if listener is not None:
            listener(
                BulkProgress(
                    sum(j.bytes_done for j in per_job.values()),
                    sum(j.bytes_total for j in per_job.values()),
                    sum(j.files_done for j in per_job.values()),
                    finished[0],
                    len(job_ids),
                )
            )

    def on_progress(p: Progress) -> None:
        with lock:
            per_job[p.job_id] = p
            tell()

    def run(job_id: int) -> None:
        run_import(job_id, deps, on_progress)
        with lock:
            finished[0] += 1
            tell()

    if enqueue:
        for job_id in job_ids:
            deps.runner.submit(IMPORT, job_id)
        done: set[int] = set()

        def followed(p: Progress) -> None:
            if p.stage in ("succeeded", "failed"):
                done.add(p.job_id)
            finished[0] = len(done)
            on_progress(p)

        watch(deps, job_ids, followed)
    else:
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="job") as pool:
            for future in [pool.submit(run, job_id) for job_id in job_ids]:
                future.result()
