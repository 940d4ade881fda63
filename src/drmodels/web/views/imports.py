"""Import one model: from S3 through the user's role, or from an uploaded archive or folder. "Check"
shows the whole report before anything is registered; "Import" registers it and starts its job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from drmodels.errors import InvalidRequest
from drmodels.rules.report import Report
from drmodels.service.check import check_location
from drmodels.service.tasks import IMPORT
from drmodels.web.site import console_of, page, signed_in, signed_upload
from drmodels.web.uploads import Received

SOURCE_FILE = "source"
"""In an upload folder: the path (inside it) of what was uploaded, for an Import after a Check."""


@dataclass(frozen=True)
class Source:
    location: str
    """What the service opens: s3://..., or a path inside the account's upload area."""
    shown: str
    """What the user gave (the S3 location, or the file or folder name uploaded)."""
    upload: Path | None = None


async def import_form(request: Request) -> Response:
    await signed_in(request)
    return page(request, "import.html", form={}, max_upload=console_of(request).uploads.max_bytes)


def _uploaded(received: Received) -> Source | None:
    """The archive or folder the form uploaded (None: it uploaded neither)."""
    archives = received.files.get("archive", [])
    folder = received.files.get("folder", [])
    if len(archives) > 1:
        raise InvalidRequest("archive", "choose one archive (.tar.gz or .zip) of one model")
    if archives and folder:
        raise InvalidRequest("archive", "choose an archive or a folder, not both")
    files = received.folder / "files"
    if archives:
        chosen = archives[0]
        shown = chosen.name
    elif folder:  # browsers name each file by its path under the folder chosen: that folder is the model
        root = files / "folder"
        tops = {p.relative_to(root).parts[0] for p in folder}
        nested = all(len(p.relative_to(root).parts) > 1 for p in folder)
        chosen = root / tops.pop() if len(tops) == 1 and nested else root
        shown = chosen.name + "/"
    else:
        return None
    (received.folder / SOURCE_FILE).write_text(str(chosen.relative_to(received.folder)))
    return Source(str(chosen), shown, received.folder)


def _source(request: Request, account_id: str, received: Received) -> Source:
    """The source the form names: an earlier checked upload, a new upload, or an S3 location."""
    uploads = console_of(request).uploads
    earlier = received.text("upload")
    if earlier:
        folder = uploads.find(account_id, earlier)
        if not (folder / SOURCE_FILE).is_file():
            raise InvalidRequest("upload", "that upload holds no model; choose the archive or folder again")
        chosen = folder / (folder / SOURCE_FILE).read_text()
        return Source(str(chosen), chosen.name + ("/" if chosen.is_dir() else ""), folder)
    uploaded = _uploaded(received)
    if uploaded is not None:
        return uploaded
    s3_path, role_arn = received.text("s3_path"), received.text("role_arn")
    if not s3_path:
        raise InvalidRequest(
            "source", "give the model's S3 location and a role, or choose an archive or a folder"
        )
    if not s3_path.startswith("s3://"):
        raise InvalidRequest("s3_path", f"must be an S3 location, s3://bucket/prefix; got {s3_path[:120]!r}")
    if not role_arn:
        raise InvalidRequest("role_arn", "give the IAM role drmodels assumes to read your bucket")
    return Source(s3_path, s3_path)


async def submit(request: Request) -> Response:
    session, received = await signed_upload(request)
    console = console_of(request)
    form = {k: received.text(k) for k in ("name", "description", "s3_path", "role_arn")}
    try:
        source = _source(request, session.account_id, received)
    except InvalidRequest as exc:
        received.discard()
        return page(
            request,
            "import.html",
            status_code=400,
            form=form,
            refused=exc,
            max_upload=console.uploads.max_bytes,
        )
    if source.upload != received.folder:
        received.discard()
    role_arn = form["role_arn"] if source.upload is None else None
    upload_id = source.upload.name if source.upload is not None else ""
    if received.text("action") == "check":
        settings = console.services.settings
        report, _ = await run_in_threadpool(
            check_location, source.location, settings.limits(), console.services.deps.sources,
            role_arn=role_arn, deep=settings.import_deep,
        )  # fmt: skip
        return page(
            request, "import.html", form=form, report=report, shown=source.shown, upload=upload_id,
            max_upload=console.uploads.max_bytes, **_plan(report),
        )  # fmt: skip

    def accept() -> None:
        service = console.models(session)
        accepted = service.accept(form["name"], source.location, form["description"] or None, role_arn)
        if source.upload is not None:
            console.uploads.mark_used(source.upload)
        console.services.deps.runner.submit(IMPORT, accepted.job_id)

    try:
        await run_in_threadpool(accept)
    except InvalidRequest as exc:  # the name, description or role: said beside the form, the upload kept
        return page(
            request, "import.html", status_code=400, form=form, refused=exc, upload=upload_id,
            shown=source.shown, max_upload=console.uploads.max_bytes,
        )  # fmt: skip
    return RedirectResponse(f"{request.scope['root_path']}/models/{form['name']}", status_code=303)


def _plan(report: Report) -> dict[str, Any]:
    plan = report.plan
    return {
        "warnings": [p for p in report.problems if not p.is_error],
        "plan_bytes": sum(o.size for o in plan.objects),
    }


ROUTES = [Route("/import", import_form, methods=["GET"]), Route("/import", submit, methods=["POST"])]
