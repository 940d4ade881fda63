"""The ASGI app `drmodels serve` runs: the API (and, beside it, the web console) over one set of services.

uvicorn calls `create_app()` (by import string, so the CLI never imports an entrypoint). The services
are built once per process (bootstrap.services: registry, store, the job pool, accounts); on start the
jobs a stopped server left behind are resumed (when they run in its own pool; with a broker the
workers' sweep hands them out); on stop (SIGTERM) the server takes no more requests,
finishes the ones it has, and leaves running jobs for the next start.

Another face is built from the same Services and added to MOUNTS (before the API, which answers every
other path): the web console is mounted at /console, and a browser's GET / is sent there.
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
from drmodels.web.app import UPLOADS, BrowserRoot, create_console

log = logging.getLogger("drmodels.server")

MOUNTS: list[Callable[[bootstrap.Services], BaseRoute]] = [create_console]
"""Faces mounted beside the API, each built from the services."""


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
        Gate,
        max_concurrent=settings.api_max_concurrent_requests,
        max_body=settings.api_max_body_bytes,
        own_limits=UPLOADS,  # the console bounds its uploads by DRMODELS_MODEL_MAX_BYTES
    )
    return Starlette(routes=routes, middleware=[gate, Middleware(BrowserRoot)], lifespan=lifespan)
