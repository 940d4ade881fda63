"""What every console page stands on: the console's dependencies, the signed-in session (cookie), the
CSRF check of every form, and rendering a template into a page.

Sign-in state is a server-side session (service/sessions.py) named by an HttpOnly, SameSite=Lax cookie,
Secure when the page was served over https. Every POST carries the session's CSRF token in the field
`csrf` (the sign-in form, before there is a session, a random token in a cookie of its own: double
submit); a POST without it is refused with a 403 page before anything is done.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from drmodels.bootstrap import Services
from drmodels.errors import Unauthorized
from drmodels.rules.limits import human_size
from drmodels.service.models import ModelService
from drmodels.service.sessions import SESSION_LIFETIME, Session, SessionService
from drmodels.web.uploads import Received, UploadArea

SESSION_COOKIE = "drmodels_session"
LOGIN_CSRF_COOKIE = "drmodels_login_csrf"
CSRF_FIELD = "csrf"


class SignInRequired(Unauthorized):
    """The page needs a signed-in session; the browser is sent to the sign-in page."""


class CsrfRefused(Unauthorized):
    """A POST without its form's CSRF token (or with another one)."""


@dataclass(frozen=True)
class Console:
    services: Services
    sessions: SessionService
    uploads: UploadArea
    templates: Environment

    def models(self, session: Session) -> ModelService:
        return self.models_of(session.account_id)

    def models_of(self, account_id: str) -> ModelService:
        return ModelService(self.services.deps, account_id, self.services.settings.region)


def build_console(services: Services) -> Console:
    templates = Environment(
        loader=PackageLoader("drmodels.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters["size"] = human_size
    templates.filters["when"] = _when
    return Console(
        services,
        SessionService(services.deps.registry, services.deps.clock),
        UploadArea(services.settings.data_dir / "uploads", services.settings.model_max_bytes),
        templates,
    )


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at is not None else "-"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def current(request: Request) -> Session | None:
    """The session of this browser's cookie, read once per request (and named in the request's log line)."""
    state = request.scope.setdefault("state", {})
    if "session" not in state:
        token = request.cookies.get(SESSION_COOKIE, "")
        found = await run_in_threadpool(console_of(request).sessions.find, token) if token else None
        state["session"] = found
        if found is not None:
            state["account"] = found.account_id
    session: Session | None = state["session"]
    return session


async def signed_in(request: Request) -> Session:
    session = await current(request)
    if session is None:
        raise SignInRequired
    return session


def check_csrf(session: Session, sent: object) -> None:
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused


async def signed_form(request: Request) -> tuple[Session, FormData]:
    """The session and the form of a POST without files, its CSRF token checked."""
    session = await signed_in(request)
    form = await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    check_csrf(session, form.get(CSRF_FIELD))
    return session, form


async def signed_upload(request: Request) -> tuple[Session, Received]:
    """The session and the multipart form of a POST with files (saved in the account's upload area),
    its CSRF token checked: a refused upload is deleted."""
    session = await signed_in(request)
    received = await console_of(request).uploads.receive(request, session.account_id)
    try:
        check_csrf(session, received.fields.get(CSRF_FIELD))
    except BaseException:
        received.discard()
        raise
    return session, received


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path=_base(request) + "/",
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=_base(request) + "/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def login_csrf(request: Request) -> str:
    """The sign-in form's token: the one the browser holds already, or a new one (set by `page`)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.scope.setdefault("state", {})["login_csrf"] = token
    return token


def _base(request: Request) -> str:
    """Where the console is mounted (/console, behind any proxy prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = request.scope.get("state", {})
    session: Session | None = state.get("session")
    console = console_of(request)

    def shown(text: str | None) -> str:
        return console.uploads.shown(session.account_id, text or "") if session else text or ""

    html = console.templates.get_template(template).render(
        base=_base(request), session=session, csrf=session.csrf if session else "", path=request.url.path,
        shown_path=shown, **context,
    )  # fmt: skip
    response = HTMLResponse(html, status_code=status_code)
    token = state.get("login_csrf")
    if token and request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, path=_base(request) + "/", httponly=True, samesite="lax",
            secure=request.url.scheme == "https",
        )  # fmt: skip
    return response


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    return page(request, "error.html", status_code=status, code=code, message=message)
