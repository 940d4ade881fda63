"""Download links of both faces and the route that serves them: GET /assets/{token}.

A link is a time-limited token sealed with the server's key (service/secrets.py) naming the account,
the model and the asset; it needs no signature, like an S3 presigned URL. The content is built in a
worker thread into a temporary file (memory, then disk past 16 MiB) and streamed with its length.
"""

from __future__ import annotations

from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from drmodels.api.errors import AnsweredRoute
from drmodels.api.gate import note
from drmodels.bootstrap import Services
from drmodels.registry.queries import ModelRecord
from drmodels.service.assets import Asset, check_asset, chunks, download_headers, spool_asset
from drmodels.service.models import ModelService

ROUTE = "/assets/{token}"


def asset_url(services: Services, base_url: str, account_id: str, model: ModelRecord, asset: Asset) -> str:
    """A link to `asset` of a READY model, valid for DRMODELS_ASSET_URL_TTL_SECONDS."""
    check_asset(services.deps, model, asset)
    token = services.accounts.keyring.link(
        {"a": account_id, "m": model.id, "k": asset.value}, services.settings.asset_url_ttl_seconds
    )
    return f"{base_url.rstrip('/')}/assets/{token}"


def _spool(services: Services, token: str) -> tuple[IO[bytes], int, str]:
    link = services.accounts.keyring.read_link(token)
    model = ModelService(services.deps, link["a"], services.settings.region).by_id(link["m"])
    return spool_asset(services.deps, model, Asset(link["k"]))


def router() -> APIRouter:
    api = APIRouter(include_in_schema=False, route_class=AnsweredRoute)

    @api.get(ROUTE)
    async def download(token: str, request: Request) -> Any:
        note(request.scope, operation="GetAsset")  # before anything: the token is never logged
        services: Services = request.app.state.services
        out, size, filename = await run_in_threadpool(_spool, services, token)
        return StreamingResponse(
            chunks(out), media_type="application/gzip", headers=download_headers(size, filename)
        )

    return api
