"""The composition root: settings -> the immutable dependencies of the service. The only place that
chooses adapters (each by URL scheme, in its own registry) and the runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from drmodels.adapters.iam import BotoAws
from drmodels.adapters.sources.open import SourceOpener
from drmodels.adapters.store.open import store_opener
from drmodels.adapters.store.target import S3Target
from drmodels.config import Settings
from drmodels.errors import ConfigError
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
DATA_DIR_SETTING = "--data-dir / DRMODELS_DATA_DIR"


def source_opener() -> SourceOpener:
    """What `check` and `fix` need: no registry, no store, nothing written."""
    return SourceOpener()


def build(settings: Settings, *, long_lived: bool = False) -> Deps:
    """Registry, store, sources, runner, limits and options from the settings.

    With DRMODELS_BROKER_URL set, every process only enqueues: jobs run in `drmodels worker`
    processes fed by the broker. Without it, a short-lived process (the CLI) runs each job in a
    detached process that outlives it, and a long-lived one runs them in its own thread pool.
    Nothing is created before every URL is known to be usable as far as can be told without
    touching it.
    """

    def run(kind: str, job_id: int) -> object:
        return run_task(deps, kind, job_id)

    open_store = store_opener(settings.store)
    check_data_dir(settings.data_dir)
    try:
        store = open_store()  # first: a store that cannot be opened must leave no registry behind
    except OSError as exc:
        what = f"model store {settings.store}" if settings.store_url else f"data dir {settings.data_dir}"
        where = "DRMODELS_STORE_URL" if settings.store_url else DATA_DIR_SETTING
        raise ConfigError(f"{what} cannot be created ({exc.strerror or exc}; {where})") from None
    runner: Runner
    if settings.broker_url:
        runner = CeleryRunner(broker(settings), TASKS)
    elif long_lived:
        runner = ThreadRunner(run, IN_PROCESS_JOBS)
    else:
        runner = DetachedRunner(settings.data_dir)
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


def check_data_dir(path: Path) -> None:
    """A data dir that is a file, or that could not be created or written, is a ConfigError (checked
    without creating anything: what uses the folder creates it)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data dir {path} is a file, not a folder; give a folder ({DATA_DIR_SETTING})")
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"data dir {path} cannot be created: {existing} is a file ({DATA_DIR_SETTING})")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"data dir {path} cannot be created or written: no permission in {existing} ({DATA_DIR_SETTING})"
        )
