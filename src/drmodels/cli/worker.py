"""`drmodels worker [--concurrency N] [--queues KIND,...]`: run jobs from the broker until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from drmodels.cli.options import DataDir, settings
from drmodels.errors import ConfigError, InvalidRequest


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", help="Jobs run at once (default DRMODELS_WORKER_CONCURRENCY)."),
    ] = None,
    queues: Annotated[
        str | None,
        typer.Option("--queues", "-Q", help="Job kinds to take, comma-separated (default: every kind)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Celery node name (default drmodels-PID@HOST).")
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    data_dir: DataDir = None,
) -> None:
    """Take jobs from the broker (DRMODELS_BROKER_URL) and run them; SIGTERM drains: running jobs finish."""
    from functools import partial

    from drmodels.bootstrap import build
    from drmodels.runner.celery import CeleryRunner
    from drmodels.service.jobs import worker_id
    from drmodels.service.sweep import Sweeper
    from drmodels.service.tasks import TASKS, run_task

    chosen = settings(data_dir)
    if chosen.broker_url is None:
        raise ConfigError(
            "DRMODELS_BROKER_URL is not set: `drmodels worker` takes its jobs from a broker "
            "(redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST:5672//)"
        )
    threads = concurrency or chosen.worker_concurrency
    kinds = [k.strip() for k in (queues or ",".join(TASKS)).split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(TASKS))
    if unknown or not kinds:
        raise InvalidRequest("queues", f"no job kind {', '.join(unknown)}; the kinds are {', '.join(TASKS)}")
    # Each running job holds a registry connection now and then, plus its lease and the sweep.
    pool = max(chosen.registry_pool_size, threads + 2)
    deps = build(chosen.model_copy(update={"registry_pool_size": pool}), long_lived=True)
    runner = deps.runner
    assert isinstance(runner, CeleryRunner)  # a broker URL always builds one
    tasks = {kind: partial(run_task, deps, kind) for kind in TASKS}
    sweeper = Sweeper(deps, worker_id()).start()
    try:
        runner.run_worker(tasks, kinds, threads, name, loglevel.upper())
    finally:
        sweeper.stop()
        deps.registry.close()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
