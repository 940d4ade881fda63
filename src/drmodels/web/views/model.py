"""A model's page (status, every problem, the car, reward function, parameters, charts, history) and its
actions: Update (retry; for a permission error, "Reset permissions and retry" too), Delete (a confirmation
page first), Download."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from drmodels.errors import NotFound
from drmodels.registry.jobs import error_status
from drmodels.registry.statuses import ModelStatus
from drmodels.registry.tables import Model
from drmodels.rules.problems import entry_of
from drmodels.service.assets import FILE_SUFFIX, Asset, chunks, download_headers, spool_asset
from drmodels.service.download import is_log_key
from drmodels.service.metrics import ModelMetrics, model_metrics
from drmodels.service.model_files import ModelFiles, model_files
from drmodels.service.repairs import REPAIRABLE, retry_with_reset
from drmodels.service.shapes import problems_of
from drmodels.service.tasks import IMPORT
from drmodels.web.charts import Chart, render_charts
from drmodels.web.site import Console, console_of, page, signed_form, signed_in
from drmodels.web.views.models import WORKING, action_space

ASSET_LABELS = {
    Asset.VIRTUAL: "Virtual model (.tar.gz, imports again)",
    Asset.CAR: "Car model (model.tar.gz, for a physical car)",
    Asset.LOGS: "Logs and metrics (.tar.gz)",
}


@dataclass(frozen=True)
class Details:
    model: Model
    files: ModelFiles
    charts: list[Chart]
    metrics: ModelMetrics | None
    assets: list[tuple[Asset, str, str]]
    """(asset, label, file name) of each download the model has."""


def _details(console: Console, model: Model) -> Details:
    deps = console.services.deps
    assets: list[tuple[Asset, str, str]] = []
    if model.status == ModelStatus.READY:
        has_logs = any(is_log_key(str(e["key"])) for e in model.manifest or [])
        for asset in Asset:
            if asset is Asset.CAR and not model.packaging_complete:
                continue
            if asset is Asset.LOGS and not has_logs:
                continue
            assets.append((asset, ASSET_LABELS[asset], f"{model.name}{FILE_SUFFIX[asset]}"))
    return Details(model, model_files(deps, model), *_charts(console, model), assets)


def _charts(console: Console, model: Model) -> tuple[list[Chart], ModelMetrics | None]:
    """The model's training and evaluation charts and what they were drawn from (none until READY)."""
    if model.status != ModelStatus.READY:
        return [], None
    metrics = model_metrics(console.services.deps, model)
    return render_charts(metrics), metrics


def _action_rows(car: dict[str, Any] | None) -> list[dict[str, Any]]:
    space = (car or {}).get("ActionSpace") or {}
    if "ContinuousActionSpace" in space:
        c = space["ContinuousActionSpace"]
        return [
            {
                "label": "Steering angle (°)",
                "low": c["SteeringAngle"]["Low"],
                "high": c["SteeringAngle"]["High"],
            },
            {"label": "Speed (m/s)", "low": c["Speed"]["Low"], "high": c["Speed"]["High"]},
        ]
    return [
        {"index": i, "steering": a.get("SteeringAngle"), "speed": a.get("Speed")}
        for i, a in enumerate(space.get("DiscreteActionSpace") or [])
    ]


def _reward_html(code: str | None) -> str | None:
    """The reward function as highlighted, escaped HTML (Pygments escapes every character it emits)."""
    if code is None:
        return None
    html: str = highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight", linenos=False))
    return html


async def model_page(request: Request) -> Response:
    session = await signed_in(request)
    console = console_of(request)
    service = console.models(session)
    name = request.path_params["name"]

    def read() -> Details:
        return _details(console, service.get(name))

    details = await run_in_threadpool(read)
    model = details.model
    problems = problems_of(model)
    return page(
        request, "model.html", model=model, entry=entry_of(model.error_code), problems=problems,
        errors=[p for p in problems if p.is_error], warnings=[p for p in problems if not p.is_error],
        car=model.car_configuration or {}, action_space=action_space(model.car_configuration),
        actions=_action_rows(model.car_configuration), files=details.files,
        reward_html=_reward_html(details.files.reward_function), charts=details.charts,
        metrics=details.metrics, assets=details.assets,
        retryable=model.status == error_status(model), live=model.status in WORKING,
        resettable=_resettable(model),
    )  # fmt: skip


def _resettable(model: Model) -> bool:
    """Update may first reset permissions (`retry_with_reset`): the codes it repairs, an S3 source."""
    return (
        model.status == error_status(model)
        and model.error_code in REPAIRABLE
        and (model.import_src_location or "").startswith("s3://")
    )


async def retry(request: Request) -> Response:
    session, _ = await signed_form(request)
    console = console_of(request)
    name = request.path_params["name"]

    def run() -> None:
        job_id = console.models(session).retry(name)
        console.services.deps.runner.submit(IMPORT, job_id)

    await run_in_threadpool(run)
    return RedirectResponse(f"{request.scope['root_path']}/models/{name}", status_code=303)


async def retry_with_reset_permissions(request: Request) -> Response:
    """Update after resetting permissions (the bucket policy, or the role): what was repaired, then the
    model following its import. A refusal (another code, a local source, a model not in error) is a page."""
    session, _ = await signed_form(request)
    console = console_of(request)
    name = request.path_params["name"]

    def run() -> tuple[list[str], Model]:
        service = console.models(session)
        job_id, done = retry_with_reset(service, name)
        console.services.deps.runner.submit(IMPORT, job_id)
        return done, service.get(name)

    done, model = await run_in_threadpool(run)
    return page(request, "repaired.html", model=model, done=done)  # no refresh: it would GET a POST's URL


async def confirm_delete(request: Request) -> Response:
    session = await signed_in(request)
    model = await run_in_threadpool(console_of(request).models(session).get, request.path_params["name"])
    return page(request, "delete.html", model=model)


async def delete(request: Request) -> Response:
    session, _ = await signed_form(request)
    console = console_of(request)
    name = request.path_params["name"]

    def run() -> None:
        service = console.models(session)
        source = service.get(name).import_src_location or ""
        service.delete(name)
        folder = console.uploads.holds(session.account_id, source)
        if folder is not None and service.imported_from(str(folder)) == 0:  # its upload goes with the last
            shutil.rmtree(folder, ignore_errors=True)

    await run_in_threadpool(run)
    return RedirectResponse(f"{request.scope['root_path']}/models?deleted={name}", status_code=303)


async def download(request: Request) -> Response:
    session = await signed_in(request)
    console = console_of(request)
    try:
        asset = Asset(request.path_params["asset"])
    except ValueError:
        raise NotFound(
            f"no download {request.path_params['asset'][:40]!r}; there are {', '.join(Asset)}"
        ) from None

    def spool() -> tuple[Any, int, str]:
        model = console.models(session).get(request.path_params["name"])
        return spool_asset(console.services.deps, model, asset)

    out, size, filename = await run_in_threadpool(spool)
    return StreamingResponse(
        chunks(out), media_type="application/gzip", headers=download_headers(size, filename)
    )


ROUTES = [
    Route("/models/{name}", model_page),
    Route("/models/{name}/retry", retry, methods=["POST"]),
    Route("/models/{name}/reset", retry_with_reset_permissions, methods=["POST"]),
    Route("/models/{name}/delete", confirm_delete, methods=["GET"]),
    Route("/models/{name}/delete", delete, methods=["POST"]),
    Route("/models/{name}/download/{asset}", download),
]
