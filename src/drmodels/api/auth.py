"""Who sent a request: its SigV4 signature checked against the access key's secret; the answer is the
account id every operation then works in."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.types import Scope

from drmodels.api.gate import note
from drmodels.api.sigv4 import Received, UnrecognizedClient, check_scope, parse_authorization, verify
from drmodels.bootstrap import Services

JSON11_SERVICE = "deepracer"
REST_SERVICE = "execute-api"


async def receive(request: Request) -> Received:
    """The request with its whole body (the gate has refused bodies over the limit)."""
    body = await request.body()
    scope = request.scope
    return Received(
        method=request.method,
        raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        body=body,
    )


def authenticate(services: Services, request: Received, service: str, scope: Scope) -> str:
    """The account whose access key signed `request` for `service`; a SignatureError otherwise."""
    auth = parse_authorization(request)
    stamp = check_scope(auth, request, service, services.settings.region, datetime.now(UTC))
    if request.header("x-amz-security-token") is not None:
        raise UnrecognizedClient(
            "The security token included in the request is invalid: this server issues no session "
            "tokens; sign with an access key of `drmodels account keys create`"
        )
    key = services.accounts.signing_key(auth.access_key)
    if key is None:
        raise UnrecognizedClient(
            f"The security token included in the request is invalid: no access key {auth.access_key[:32]!r} "
            "(unknown or deleted)"
        )
    verify(request, auth, key.secret, stamp)
    note(scope, account=key.account_id)
    return key.account_id
