"""Bulk import for league organisers: a CSV manifest -> one accept per row -> jobs -> one result per row.

The manifest: a header naming the columns `name,source[,role][,description]` (any order, any case),
UTF-8 (Excel's "CSV UTF-8"; a BOM is fine), separated by commas, or by semicolons as Excel writes
CSV in many European locales (told from the header). Empty rows are skipped; a local source path
is relative to the manifest's folder. Running a manifest again skips the rows already imported
(READY) and, with `retry_failed`, retries the ones that failed; a name taken by another source is
refused.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from drmodels.errors import Conflict, InvalidRequest, NotFound
from drmodels.registry.statuses import ModelStatus
from drmodels.registry.tables import Model
from drmodels.service.deps import Deps
from drmodels.service.imports.job import IMPORT, abandon, run_import
from drmodels.service.imports.progress import Progress, watch
from drmodels.service.models import ModelService

COLUMNS = ("name", "source", "role", "description")
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Row:
    name: str
    source: str
    role: str | None
    description: str | None
    line: int


def read_manifest(path: Path) -> list[Row]:
    """The manifest's rows, each with its line; every problem with the file names the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest("manifest", f"{path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidRequest(
            "manifest",
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}, perhaps Latin-1 or "
            "Windows-1252); save it as UTF-8 (Excel: CSV UTF-8)",
        ) from None
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.strip()), "")
    delimiter = next((d for d in DELIMITERS if {"name", "source"} <= _columns(header, d)), None)
    if delimiter is None:
        raise InvalidRequest(
            "manifest",
            f"{path}: the header (line {lines.index(header) + 1 if header else 1}) must name the columns "
            f"{','.join(COLUMNS)} (name and source at least), separated by commas or semicolons; "
            f"found {header[:80]!r}",
        )
    return _rows(path, text, delimiter)


def _columns(header: str, delimiter: str) -> set[str]:
    return {c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter), [])}


def _rows(path: Path, text: str, delimiter: str) -> list[Row]:
    rows = []
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        for raw in reader:
            line = reader.line_num
            if raw.get(None):
                raise InvalidRequest(
                    "manifest",
                    f"{path}, line {line}: more fields than the header has (a field holding "
                    f"{delimiter!r} must be quoted)",
                )
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(row.values()):
                continue
            rows.append(
                Row(
                    row.get("name", ""),
                    _resolved(path, row.get("source", "")),
                    row.get("role") or None,
                    row.get("description") or None,
                    line,
                )
            )
    except csv.Error as exc:
        raise InvalidRequest("manifest", f"{path}, line {reader.line_num}: {exc}") from None
    return rows


def _resolved(manifest: Path, source: str) -> str:
    """A local source relative to the manifest's folder (where its author wrote it from)."""
    if not source or "://" in source or Path(source).expanduser().is_absolute():
        return source
    return str(manifest.parent / source)


class Action(StrEnum):
    IMPORTED = "imported"
    RETRIED = "retried"
    SKIPPED = "skipped"
    REFUSED = "refused"


@dataclass
class RowResult:
    row: Row
    action: Action
    model: Model | None = None
    """The model as it ended (None when the row was refused before anything was registered)."""
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        model = self.model
        return {
            "line": self.row.line,
            "name": self.row.name,
            "source": self.row.source,
            "action": self.action.value,
            "status": model.status if model is not None else None,
            "error_code": model.error_code if model is not None else None,
            "reason": self.reason,
            "arn": model.arn if model is not None else None,
        }


@dataclass(frozen=True)
class BulkProgress:
    bytes_done: int
    bytes_total: int
    files_done: int
    models_done: int
    models_total: int


@dataclass
class BulkResult:
    rows: list[RowResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(
            r.action is not Action.REFUSED and r.model is not None and r.model.status == ModelStatus.READY
            for r in self.rows
        )


def bulk_import(
    service: ModelService,
    rows: list[Row],
    workers: int,
    listener: Callable[[BulkProgress], None],
    *,
    retry_failed: bool = False,
    enqueue: bool = False,
) -> BulkResult:
    """Accept every row, run the accepted imports `workers` at a time, tell `listener` the aggregate.

    With `enqueue`, the jobs go to the runner (workers elsewhere, through the broker) and this
    process follows their progress in the registry until every one is finished. Ctrl-C stops every
    import running here (each ends IMPORT_ERROR as interrupted, nothing kept) and the ones not
    started; the result says so (`interrupted`). Enqueued jobs go on in their workers.
    """
    result, job_ids = accept_rows(service, rows, retry_failed=retry_failed)
    try:
        run_jobs(service.deps, job_ids, workers, listener, enqueue=enqueue)
    except KeyboardInterrupt:
        result.interrupted = True
    models = {m.name: m for m in service.list()}
    for outcome in result.rows:
        if outcome.action is not Action.REFUSED:
            outcome.model = models.get(outcome.row.name)
    return result


def accept_rows(
    service: ModelService, rows: list[Row], *, retry_failed: bool = False
) -> tuple[BulkResult, list[int]]:
    """Accept every row (a new import, a retry, skipped or refused): the outcomes, and the jobs to run."""
    result = BulkResult()
    job_ids: list[int] = []
    for row in rows:
        outcome, job_id = _accept(service, row, retry_failed)
        result.rows.append(outcome)
        if job_id is not None:
            job_ids.append(job_id)
    return result, job_ids


def run_jobs(
    deps: Deps,
    job_ids: list[int],
    workers: int,
    listener: Callable[[BulkProgress], None] | None = None,
    *,
    enqueue: bool = False,
) -> None:
    """Run import jobs `workers` at a time in this process, or (`enqueue`) hand them to the runner and
    follow them in the registry until each is finished; `listener` hears the aggregate progress.

    Ctrl-C (KeyboardInterrupt, raised again once every job here has ended) stops the jobs running in
    this process, each IMPORT_ERROR as interrupted with nothing kept, and fails the ones not started;
    enqueued jobs go on in their workers.
    """
    lock = threading.Lock()
    per_job: dict[int, Progress] = {}
    finished = [0]
    stop = threading.Event()

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
        if stop.is_set():
            abandon(job_id, deps)
        else:
            run_import(job_id, deps, on_progress, stop)
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
        return
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="job") as pool:
        futures = [pool.submit(run, job_id) for job_id in job_ids]
        try:
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            stop.set()
            for future in futures:
                future.result()
            raise


def _accept(service: ModelService, row: Row, retry_failed: bool) -> tuple[RowResult, int | None]:
    """What this row becomes: a new import, a retry, skipped (already there) or refused; the job to run."""
    try:
        existing = service.get(row.name) if row.name else None
    except NotFound:
        existing = None
    if existing is None:
        try:
            accepted = service.accept(row.name, row.source, row.description, row.role)
        except InvalidRequest as exc:
            return RowResult(row, Action.REFUSED, reason=f"{exc.field}: {exc.message}"), None
        return RowResult(row, Action.IMPORTED), accepted.job_id
    if existing.import_src_location != service.source_as_recorded(row.source):
        return RowResult(
            row,
            Action.REFUSED,
            reason=f"name: a model named {row.name!r} already exists, imported from "
            f"{existing.import_src_location}; choose another name or delete that model first",
        ), None
    if existing.status == ModelStatus.IMPORT_ERROR and retry_failed:
        try:
            return RowResult(row, Action.RETRIED), service.retry(row.name)
        except Conflict as exc:
            return RowResult(row, Action.REFUSED, reason=str(exc)), None
    why = {
        ModelStatus.READY: "already imported (READY)",
        ModelStatus.IMPORTING: "being imported already",
        ModelStatus.IMPORT_ERROR: "imported before and refused (IMPORT_ERROR); --retry-failed retries it",
    }.get(ModelStatus(existing.status), f"already there ({existing.status})")
    return RowResult(row, Action.SKIPPED, reason=why), None
