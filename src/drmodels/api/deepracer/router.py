"""AWS JSON 1.1 at `POST /`: the operation by `X-Amz-Target: AwsSilverstoneCloudService.<Operation>`,
signed for `deepracer`, validated against the service model, answered as AWS JSON services answer.

Checks run in the order AWS services run them: the body within its limit, the signature, the
operation, the content type, the JSON, the members; any failure is an AWS error body, never a 500 page.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
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
READS = frozenset({"GetModel", "ListModels", "ListTagsForResource"})
"""With an in-process registry (SQLite) these are answered on the event loop: a signature check and
indexed reads, CPU work that a thread hop would only add to (measured: ~40% more CPU per GetModel).
Everything else, and every request on a PostgreSQL registry (a network wait), runs in the thread pool."""


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


def handle(services: Services, request: Received, scope: Scope, base_url: URL) -> dict[str, Any]:
    account = authenticate(services, request, JSON11_SERVICE, scope)
    name = _operation(request.header("x-amz-target"))
    body = _members(request)
    shape = input_shape(name)
    if shape is not None:
        validate(shape, body)
    return OPERATIONS[name](Caller(services, account, base_url), body)


def route(services: Services) -> Route:
    """`POST /` as a plain Starlette route: it answers every failure itself, so it needs none of FastAPI's
    request machinery (which cost ~160 us of CPU per request, measured: bench/README.md)."""

    async def json11(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        note(request.scope, operation=target.rpartition(".")[2][:60] or "POST /")
        try:
            received = await receive(request)
            call = (services, received, request.scope, request.base_url)
            if services.deps.registry.in_process and target.removeprefix(target_prefix()) in READS:
                result = handle(*call)  # CPU work only: a thread hop would cost more than it frees
            else:
                result = await run_in_threadpool(handle, *call)
        except Exception as exc:
            said = answer(exc)
            return Response(json.dumps(said.json11()), status_code=said.status, media_type=CONTENT_TYPE)
        return Response(json.dumps(result), media_type=CONTENT_TYPE)

    return Route("/", json11, methods=["POST"])
