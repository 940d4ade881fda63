"""The ASGI app `drmodels serve` runs: the API (and, beside it, the web console) over one set of services.

uvicorn calls `create_app()` (by import string, so the CLI never imports an entrypoint). The services
are built once per process (bootstrap.services: registry, store, the job pool, accounts); on start the
jobs a stopped server left behind are resumed (when they run in its own pool; with a broker the
workers' sweep hands them out); on stop (SIGTERM) the server takes no more requests,
finishes the ones it has, and leaves running jobs for the next start.

To serve another face, build its app from the same Services and add it to MOUNTS (before the API,
which answers every other path), e.g. `Mount("/console", create_console(services))`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from drmodels import bootstrap
from drmodels.api.app import create_api
from drmodels.api.gate import Gate
from drmodels.config import load_settings
from drmodels.service.resume import resume_jobs

log = logging.getLogger("drmodels.server")

MOUNTS: list[Callable[[bootstrap.Services], BaseRoute]] = []
"""Faces mounted beside the API, each built from the services (the console: issue 16)."""


def create_app() -> Starlette:
    settings = load_settings()
    services = bootstrap.services(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        resumed = resume_jobs(services.deps) if settings.broker_url is None else []  # else: workers' sweep
        if resumed:
            named = ", ".join(f"{job.kind} {job.id}" for job in resumed)
            log.info("resumed %d unfinished job(s): %s", len(resumed), named)
        try:
            yield
        finally:
            services.close()

    routes = [mount(services) for mount in MOUNTS]
    routes += create_api(services)  # last: the API answers every other path
    gate = Middleware(
        Gate, max_concurrent=settings.api_max_concurrent_requests, max_body=settings.api_max_body_bytes
    )
    return Starlette(routes=routes, middleware=[gate], lifespan=lifespan)
