"""AWS JSON 1.1 at `POST /`: the operation by `X-Amz-Target: AwsSilverstoneCloudService.<Operation>`,
signed for `deepracer`, validated against the service model, answered as AWS JSON services answer.

Checks run in the order AWS services run them: the body within its limit, the signature, the
operation, the content type, the JSON, the members; any failure is an AWS error body, never a 500 page.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from drmodels.api.auth import JSON11_SERVICE, authenticate, receive
from drmodels.api.deepracer.operations import OPERATIONS, Caller
from drmodels.api.deepracer.servicemodel import input_shape, service_model, validate
from drmodels.api.errors import Malformed, UnknownOperation, UnsupportedOperation, answer
from drmodels.api.gate import note
from drmodels.api.sigv4 import Received
from drmodels.bootstrap import Services
from drmodels.errors import InvalidRequest

CONTENT_TYPE = "application/x-amz-json-1.1"


def target_prefix() -> str:
    return str(service_model()["metadata"]["targetPrefix"]) + "."


def _operation(target: str | None) -> str:
    prefix = target_prefix()
    if not target or not target.startswith(prefix):
        raise UnknownOperation(
            "X-Amz-Target", f"must be {prefix}<Operation>; got {(target or 'nothing')[:120]!r}"
        )
    name = target.removeprefix(prefix)
    if name in OPERATIONS:
        return name
    if name in service_model()["operations"]:
        raise UnsupportedOperation(
            "X-Amz-Target",
            f"{name} is an operation of the DeepRacer service that this server does not support; it "
            f"serves {', '.join(OPERATIONS)}",
        )
    raise UnknownOperation("X-Amz-Target", f"no operation {name[:120]!r} in the DeepRacer service model")


def _members(request: Received) -> dict[str, Any]:
    kind = (request.header("content-type") or "").split(";")[0].strip().lower()
    if kind != CONTENT_TYPE:
        raise InvalidRequest("Content-Type", f"must be {CONTENT_TYPE}; got {kind[:80] or 'nothing'!r}")
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed("body", f"is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise Malformed("body", "must be a JSON object of the operation's members")
    return body


def handle(services: Services, request: Received, scope: Scope, base_url: str) -> dict[str, Any]:
    account = authenticate(services, request, JSON11_SERVICE, scope)
    name = _operation(request.header("x-amz-target"))
    body = _members(request)
    shape = input_shape(name)
    if shape is not None:
        validate(shape, body)
    return OPERATIONS[name](Caller(services, account, base_url), body)


def router() -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.post("/")
    async def json11(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        note(request.scope, operation=target.rpartition(".")[2][:60] or "POST /")
        services: Services = request.app.state.services
        try:
            received = await receive(request)
            result = await run_in_threadpool(handle, services, received, request.scope, str(request.base_url))
        except Exception as exc:
            said = answer(exc)
            return Response(json.dumps(said.json11()), status_code=said.status, media_type=CONTENT_TYPE)
        return Response(json.dumps(result), media_type=CONTENT_TYPE)

    return api
