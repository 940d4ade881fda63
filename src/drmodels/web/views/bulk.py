"""Bulk import for league organisers: a CSV manifest (service/bulk.py's format) and, optionally, the
archives it names, uploaded together; one progress view; then the results by status and by code.

A row's source on the console is either s3://bucket/prefix (with its role), or the file name of an
archive uploaded with the manifest. Any other local path is refused: the server never opens a path a
web user typed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from drmodels.errors import InvalidRequest
from drmodels.service.bulk import Action, Row, RowResult, accept_rows, read_manifest
from drmodels.service.tasks import IMPORT
from drmodels.web.site import Console, console_of, page, signed_in, signed_upload
from drmodels.web.uploads import Received
from drmodels.web.views.models import WORKING

BATCH_FILE = "batch.json"
MANIFEST = "manifest.csv"


async def bulk_form(request: Request) -> Response:
    await signed_in(request)
    return page(request, "bulk.html", max_upload=console_of(request).uploads.max_bytes)


def _batch_folder(received: Received) -> Path:
    """The manifest and the archives side by side in one folder (the manifest's relative sources)."""
    manifests = received.files.get("manifest", [])
    if len(manifests) != 1:
        raise InvalidRequest("manifest", "choose one CSV manifest (columns name,source[,role][,description])")
    batch = received.folder / "batch"
    batch.mkdir()
    manifests[0].rename(batch / MANIFEST)
    for archive in received.files.get("archives", []):
        target = batch / archive.name
        if target.exists():
            raise InvalidRequest("archives", f"two archives are named {archive.name!r}")
        archive.rename(target)
    return batch


def _refusal(batch: Path, row: Row) -> str | None:
    """Why the console does not take this row's source (None: it does)."""
    if "://" in row.source:
        if not row.source.startswith("s3://"):
            return (
                "source: must be s3://bucket/prefix or an archive uploaded with the manifest; "
                f"got {row.source!r}"
            )
        if not row.role:
            return "role: an S3 source needs the IAM role drmodels assumes to read it (the role column)"
        return None
    path = Path(row.source).resolve()
    if not path.is_relative_to(batch.resolve()) or not path.is_file() or path.name == MANIFEST:
        return (
            f"source: {Path(row.source).name!r} is not an archive uploaded with the manifest; on the "
            "console a source is s3://bucket/prefix or the file name of an uploaded archive"
        )
    return None


def _start(console: Console, account_id: str, received: Received, retry_failed: bool) -> None:
    service = console.models_of(account_id)
    batch = _batch_folder(received)
    rows = read_manifest(batch / MANIFEST)
    if not rows:
        raise InvalidRequest("manifest", "the manifest has a header but no rows")
    refused: dict[int, str] = {r.line: why for r in rows if (why := _refusal(batch, r)) is not None}
    result, job_ids = accept_rows(
        service, [r for r in rows if r.line not in refused], retry_failed=retry_failed
    )
    outcomes = {o.row.line: o for o in result.rows}
    for row in rows:
        if row.line in refused:
            outcomes[row.line] = RowResult(row, Action.REFUSED, reason=refused[row.line])
    shown = [_shown(outcomes[r.line]) for r in rows]
    (received.folder / BATCH_FILE).write_text(json.dumps({"rows": shown}))
    console.uploads.mark_used(received.folder)
    for job_id in job_ids:
        console.services.deps.runner.submit(IMPORT, job_id)


def _shown(outcome: RowResult) -> dict[str, Any]:
    row = outcome.row
    source = row.source if "://" in row.source else Path(row.source).name
    return {
        "line": row.line,
        "name": row.name,
        "source": source,
        "action": outcome.action.value,
        "reason": outcome.reason,
    }


async def submit(request: Request) -> Response:
    session, received = await signed_upload(request)
    console = console_of(request)
    try:
        retry_failed = received.text("retry_failed") == "on"
        await run_in_threadpool(_start, console, session.account_id, received, retry_failed)
    except InvalidRequest as exc:
        received.discard()
        return page(request, "bulk.html", status_code=400, refused=exc, max_upload=console.uploads.max_bytes)
    except BaseException:
        received.discard()
        raise
    return RedirectResponse(f"{request.scope['root_path']}/bulk/{received.folder.name}", status_code=303)


async def batch(request: Request) -> Response:
    session = await signed_in(request)
    console = console_of(request)

    def read() -> dict[str, Any]:
        folder = console.uploads.find(session.account_id, request.path_params["batch"])
        if not (folder / BATCH_FILE).is_file():
            raise InvalidRequest("batch", "that upload is not a bulk import")
        rows: list[dict[str, Any]] = json.loads((folder / BATCH_FILE).read_text())["rows"]
        models = {m.name: m for m in console.models_of(session.account_id).named([r["name"] for r in rows])}
        for r in rows:
            m = models.get(r["name"]) if r["action"] != Action.REFUSED else None
            r["status"] = (
                m.status if m is not None else ("REFUSED" if r["action"] == Action.REFUSED else "DELETED")
            )
            r["error_code"] = m.error_code if m is not None else None
            r["exists"] = m is not None
        working = [r for r in rows if r["status"] in WORKING]
        return {
            "rows": rows,
            "done": len(rows) - len(working),
            "working": bool(working),
            "by_status": sorted(Counter(r["status"] for r in rows).items()),
            "by_code": sorted(Counter(r["error_code"] for r in rows if r["error_code"]).items()),
        }

    found = await run_in_threadpool(read)
    return page(request, "batch.html", live=found["working"], **found)


ROUTES = [
    Route("/bulk", bulk_form, methods=["GET"]),
    Route("/bulk", submit, methods=["POST"]),
    Route("/bulk/{batch}", batch, methods=["GET"]),
]
