"""Sign-in and sign-out."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from drmodels.web.site import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    clear_session_cookie,
    console_of,
    current,
    login_csrf,
    page,
    set_session_cookie,
    signed_form,
)

HOME = "/models"


def _next(request: Request, wanted: object) -> str:
    """Where to go after signing in: a console page, never another site."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    if isinstance(wanted, str) and wanted.startswith(base + "/") and not wanted.startswith("//"):
        return wanted
    return base + HOME


async def home(request: Request) -> Response:
    base = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(base + (HOME if await current(request) else "/login"), status_code=303)


async def login_form(request: Request) -> Response:
    if await current(request) is not None:
        return RedirectResponse(_next(request, request.query_params.get("next")), status_code=303)
    return page(
        request, "login.html", login_csrf=login_csrf(request), next=request.query_params.get("next", "")
    )


async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not held or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), held.encode()):
        raise CsrfRefused
    account, password = str(form.get("account", "")).strip(), str(form.get("password", ""))
    console = console_of(request)
    account_id = await run_in_threadpool(console.services.accounts.check_password, account, password)
    if account_id is None:
        return page(
            request, "login.html", status_code=401, login_csrf=login_csrf(request), next=form.get("next", ""),
            account=account, failed="Wrong account or password.",
        )  # fmt: skip
    info = await run_in_threadpool(console.services.accounts.get, account_id)
    started = await run_in_threadpool(console.sessions.start, account_id, info.name)
    response = RedirectResponse(_next(request, form.get("next")), status_code=303)
    set_session_cookie(request, response, started.token)
    return response


async def logout(request: Request) -> Response:
    await signed_form(request)
    console = console_of(request)
    await run_in_threadpool(console.sessions.end, request.cookies.get(SESSION_COOKIE, ""))
    base = str(request.scope.get("root_path", "")).rstrip("/")
    response = RedirectResponse(base + "/login", status_code=303)
    clear_session_cookie(request, response)
    return response


ROUTES = [
    Route("/", home),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
