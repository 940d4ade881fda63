"""The API over the server's services: JSON 1.1 at POST /, and a FastAPI app with the REST face, download
links and GET /health; errors answered by api/errors.py. The OpenAPI document (/openapi.json) is the
REST face's (the JSON 1.1 face's model is the DeepRacer service model itself)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount

from drmodels.api import assets, rest
from drmodels.api.deepracer import router as json11
from drmodels.api.gate import note
from drmodels.api.rest.schemas import ErrorBody
from drmodels.bootstrap import Services

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in (
        (400, "A request this server refuses, with the field and why"),
        (403, "A missing or wrong signature, or an unknown or deleted access key"),
        (404, "No such model or job in this account (another account's included)"),
        (409, "The model's status does not allow it now"),
        (413, "A body over DRMODELS_API_MAX_BODY_BYTES"),
        (429, "More requests at once than the server takes; retry with backoff"),
        (500, "The server failed; the message names a reference in its log"),
        (503, "The job queue cannot be reached: the request is recorded, its job runs once it answers"),
    )
}


def create_api(services: Services) -> list[BaseRoute]:
    """The API's routes: JSON 1.1 at POST / (a plain route), and the FastAPI app for everything else."""
    return [json11.route(services), Mount("", app=_rest_app(services))]


def _rest_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="drmodels",
        summary="AWS DeepRacer models: the DeepRacer-on-AWS style REST face (SigV4, service execute-api).",
        version=version("drmodels"),
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.services = services
    for feature in rest.FEATURES:
        app.include_router(feature)
    app.include_router(assets.router())

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> JSONResponse:
        note(request.scope, operation="Health")

        def probe() -> None:
            with services.deps.registry.session() as s:
                s.execute(sa.text("SELECT 1"))

        try:
            await run_in_threadpool(probe)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "registry": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "version": version("drmodels")})

    app.add_exception_handler(HTTPException, _http_error)  # no such route or method
    return app


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return JSONResponse({"message": str(detail)}, status_code=status)
