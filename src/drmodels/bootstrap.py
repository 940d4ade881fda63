"""The composition root: settings -> the immutable dependencies of the service. The only place that
chooses adapters (each by URL scheme, in its own registry) and the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from drmodels.adapters.iam import BotoAws
from drmodels.adapters.sources.open import SourceOpener
from drmodels.adapters.store.open import open_store
from drmodels.adapters.store.target import S3Target
from drmodels.config import Settings
from drmodels.registry.db import Registry
from drmodels.runner.celery import Broker, CeleryRunner
from drmodels.runner.detached import DetachedRunner
from drmodels.runner.threads import ThreadRunner
from drmodels.service.accounts import AccountService
from drmodels.service.deps import Deps, ImportOptions, JobOptions, Runner
from drmodels.service.secrets import Keyring
from drmodels.service.tasks import TASKS, run_task

IN_PROCESS_JOBS = 4
"""Jobs a long-lived process (server, worker) runs at once in its own pool."""


def source_opener() -> SourceOpener:
    """What `check` and `fix` need: no registry, no store, nothing written."""
    return SourceOpener()


def build(settings: Settings, *, long_lived: bool = False) -> Deps:
    """Registry, store, sources, runner, limits and options from the settings.

    With DRMODELS_BROKER_URL set, every process only enqueues: jobs run in `drmodels worker`
    processes fed by the broker. Without it, a short-lived process (the CLI) runs each job in a
    detached process that outlives it, and a long-lived one runs them in its own thread pool.
    """

    def run(kind: str, job_id: int) -> object:
        return run_task(deps, kind, job_id)

    runner: Runner
    if settings.broker_url:
        runner = CeleryRunner(broker(settings), TASKS)
    elif long_lived:
        runner = ThreadRunner(run, IN_PROCESS_JOBS)
    else:
        runner = DetachedRunner(settings.data_dir)
    store = open_store(settings.store)  # first: a bad store URL must leave no registry behind
    deps = Deps(
        registry=Registry(settings.registry, pool_size=settings.registry_pool_size),
        store=store,
        sources=source_opener(),
        runner=runner,
        targets=S3Target,
        limits=settings.limits(),
        options=ImportOptions(deep=settings.import_deep),
        aws=BotoAws(),
        prices=settings.prices(),
        service_principal=settings.service_principal,
        jobs=JobOptions(
            lease=timedelta(seconds=settings.job_lease_seconds),
            sweep_every=timedelta(seconds=settings.sweep_seconds),
            requeue_after=timedelta(seconds=settings.requeue_after_seconds),
        ),
    )
    return deps


def broker(settings: Settings) -> Broker:
    """The broker of DRMODELS_BROKER_URL (which must be set)."""
    assert settings.broker_url
    return Broker(
        url=settings.broker_url,
        queue=settings.queue,
        prefix=settings.broker_prefix,
        visibility_timeout=settings.broker_visibility_timeout,
    )


def accounts(settings: Settings, deps: Deps) -> AccountService:
    """Accounts and keys over the registry of `deps`; the secret key is loaded when first needed."""
    return AccountService(deps.registry, Keyring(settings), deps.clock)


@dataclass(frozen=True)
class Services:
    """What the server's faces (the API, the console) stand on: built once per process by server.py."""

    settings: Settings
    deps: Deps
    accounts: AccountService

    def close(self) -> None:
        """Stop taking jobs (queued ones are left QUEUED, running ones RUNNING: the next start resumes
        them) and release the registry."""
        runner = self.deps.runner
        if isinstance(runner, ThreadRunner):
            runner.shutdown(wait=False)
        self.deps.registry.close()


def services(settings: Settings) -> Services:
    deps = build(settings, long_lived=True)
    return Services(settings, deps, accounts(settings, deps))
