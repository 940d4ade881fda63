"""The REST face's caller: the request signed with SigV4 for `execute-api` by an account's key."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from drmodels.api.auth import REST_SERVICE, authenticate, receive
from drmodels.bootstrap import Services
from drmodels.service.models import ModelService

SIGV4 = APIKeyHeader(
    name="Authorization",
    scheme_name="sigv4",
    description="AWS Signature Version 4 for the service `execute-api` (with X-Amz-Date), made with an "
    "access key of `drmodels account create`.",
    auto_error=False,
)


@dataclass(frozen=True)
class Caller:
    services: Services
    account_id: str

    @cached_property
    def models(self) -> ModelService:
        return ModelService(self.services.deps, self.account_id, self.services.settings.region)


async def caller(request: Request, _: Annotated[str | None, Depends(SIGV4)]) -> Caller:
    services: Services = request.app.state.services
    received = await receive(request)
    account = await run_in_threadpool(authenticate, services, received, REST_SERVICE, request.scope)
    return Caller(services, account)
