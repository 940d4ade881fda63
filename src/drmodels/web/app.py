"""The console's ASGI app, mounted at /console by server.py, and the redirect of browsers from / to it.

Every error is answered as a page with its code and message (never a traceback): the error tree maps
to statuses here, in one place, and anything unexpected is logged with a reference the page shows.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from urllib.parse import quote

from pygments.formatters import HtmlFormatter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drmodels.bootstrap import Services
from drmodels.errors import (
    AlreadyExists,
    BrokerUnavailable,
    Conflict,
    DrmodelsError,
    InvalidRequest,
    NotFound,
    ProblemError,
    Unauthorized,
)
from drmodels.web import views
from drmodels.web.site import CsrfRefused, SignInRequired, build_console, error_page
from drmodels.web.uploads import UploadTooLarge

log = logging.getLogger("drmodels.web")
PREFIX = "/console"
UPLOADS = (PREFIX + "/import", PREFIX + "/bulk")
"""The routes that take uploads: their bodies are bounded by uploads.py (DRMODELS_MODEL_MAX_BYTES), every
other console request by the API's body limit."""
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' "
     b"'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]  # fmt: skip
"""Sent with every console answer: scripts only our own file; no framing; forms post only here."""

STATUSES: list[tuple[type[Exception], int, str]] = [
    (UploadTooLarge, 413, "UploadTooLarge"),
    (AlreadyExists, 409, "AlreadyExists"),
    (InvalidRequest, 400, "InvalidRequest"),
    (NotFound, 404, "NotFound"),
    (Conflict, 409, "Conflict"),
    (Unauthorized, 403, "Unauthorized"),
    (ProblemError, 400, "Problem"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, sending if scope["type"] == "http" else send)


class Unexpected:
    """Anything not answered on purpose becomes the 500 page (logged with the reference it shows)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started or scope["type"] != "http":
                raise
            await (await _answer(Request(scope, receive), exc))(scope, receive, send)


class BrowserRoot:
    """GET / from a browser (Accept: text/html) goes to the console; every other request to the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            accept = dict(scope["headers"]).get(b"accept", b"")
            if b"text/html" in accept:
                await RedirectResponse(PREFIX + "/", status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _answer(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={_quoted(target)}", status_code=303)
        return error_page(
            request, 403, "SignInRequired", "Your session has ended; sign in again, then retry."
        )
    if isinstance(exc, CsrfRefused):
        return error_page(
            request, 403, "CsrfTokenMissing",
            "This form was sent without its security token (or with an old one), so nothing was done. "
            "Go back, reload the page, and send the form again.",
        )  # fmt: skip
    if isinstance(exc, HTTPException):
        what = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "BadRequest")
        text = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, what, text)
    if isinstance(exc, BrokerUnavailable):  # its words name the broker: for the log only
        log.warning("%s", exc)
        return error_page(
            request, 503, "ServiceUnavailable",
            "The job queue cannot be reached right now. What you asked is recorded, and its job runs once "
            "the queue answers again: do not send it again.",
        )  # fmt: skip
    for kind, status, code in STATUSES:
        if isinstance(exc, kind):
            if isinstance(exc, ProblemError):
                return error_page(
                    request, status, exc.code.value, f"{exc.problem.explanation} {exc.problem.fix}"
                )
            return error_page(request, status, code, str(exc))
    if isinstance(exc, DrmodelsError):
        return error_page(request, 400, type(exc).__name__, str(exc))
    reference = uuid.uuid4().hex[:12]
    log.exception("console error %s on %s %s", reference, request.method, request.url.path)
    return error_page(
        request, 500, "InternalError", f"The server failed on this page; its log names reference {reference}."
    )


def _quoted(target: str) -> str:
    return quote(target, safe="/")


def create_console(services: Services) -> BaseRoute:
    """The console over the server's services, as a Mount at /console."""
    console = build_console(services)
    static = Path(__file__).parent / "static"
    highlight_css: str = HtmlFormatter(style="friendly").get_style_defs(".highlight")  # type: ignore[no-untyped-call]

    async def pygments_css(_request: Request) -> Response:
        return Response(highlight_css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    routes: list[BaseRoute] = [
        *views.ROUTES,
        Route("/static/highlight.css", pygments_css),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(Unexpected)],
        exception_handlers={kind: _answer for kind in (DrmodelsError, HTTPException)},
    )
    app.state.console = console
    return Mount(PREFIX, app=app)
