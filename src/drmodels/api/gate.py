"""The API's ASGI gate: refuses bodies over the size limit, sheds load over the concurrency limit, and
logs one line per request.

The line is `METHOD OPERATION account=ID status=N ms=T`: the operation is the X-Amz-Target operation or
the route, the account the one the signature proved (`-` before that). Headers, bodies, keys, tokens and
query strings are never logged. A pure ASGI middleware (no per-request task, no body copy).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drmodels.api.errors import Answer, BodyTooLarge, Throttled, answer

log = logging.getLogger("drmodels.api.requests")


def note(scope: Scope, **fields: str) -> None:
    """Record what the log line says about this request (operation=..., account=...)."""
    scope.setdefault("state", {}).update(fields)


class Gate:
    def __init__(
        self, app: ASGIApp, max_concurrent: int, max_body: int, own_limits: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.max_body = max_body
        self.own_limits = own_limits
        """Path prefixes whose app limits bodies itself (the console's uploads)."""
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        bounded = not scope["path"].startswith(self.own_limits) if self.own_limits else True
        refused = self._refusal(scope, bounded)
        if refused is not None:
            await _send(sending, refused)
        else:
            self.in_flight += 1
            try:
                await self.app(scope, self._bounded(receive) if bounded else receive, sending)
            finally:
                self.in_flight -= 1
        state: dict[str, Any] = scope.get("state") or {}
        log.info(
            "%s %s account=%s status=%d ms=%.1f",
            scope["method"],
            state.get("operation") or scope["path"][:100],
            state.get("account", "-"),
            status,
            (time.perf_counter() - start) * 1000,
        )

    def _refusal(self, scope: Scope, bounded: bool) -> Answer | None:
        if self.in_flight >= self.max_concurrent:
            return answer(
                Throttled(
                    f"the server is working on {self.max_concurrent} requests already; retry with backoff"
                )
            )
        for name, value in scope["headers"] if bounded else ():
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                return answer(self._too_large(int(value)))
        return None

    def _too_large(self, size: int | None) -> BodyTooLarge:
        has = f"{size} bytes" if size is not None else f"more than {self.max_body} bytes"
        return BodyTooLarge("body", f"the body has {has}; this server takes at most {self.max_body}")

    def _bounded(self, receive: Receive) -> Receive:
        """`receive` that raises BodyTooLarge once a streamed body passes the limit."""
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise self._too_large(None)
            return message

        return bounded


async def _send(send: Send, said: Answer) -> None:
    body = json.dumps(said.json11()).encode()  # `message` is what the REST face reads too
    await send(
        {
            "type": "http.response.start",
            "status": said.status,
            "headers": [
                (b"content-type", b"application/x-amz-json-1.1"),
                (b"content-length", str(len(body)).encode()),
                *([(b"retry-after", b"1")] if said.status == 429 else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
