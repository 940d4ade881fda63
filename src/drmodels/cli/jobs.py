"""`drmodels jobs run JOB_ID`: run one import job in this process (what the detached runner starts)."""

from __future__ import annotations

from typing import Annotated

import typer

from drmodels.cli.options import DataDir, settings
from drmodels.registry.statuses import ModelStatus

jobs_app = typer.Typer(
    help="Run queued jobs (started by drmodels itself).", no_args_is_help=True, hidden=True
)


def run_job(
    job_id: Annotated[int, typer.Argument(help="The import job's id.")], data_dir: DataDir = None
) -> None:
    """Run or resume one import job; exit 0 when its model ends READY."""
    from drmodels.bootstrap import build
    from drmodels.service.imports.job import run_import

    deps = build(settings(data_dir))
    status = run_import(job_id, deps)
    deps.registry.close()
    typer.echo(status)
    raise typer.Exit(0 if status == ModelStatus.READY else 1)


def register(app: typer.Typer) -> None:
    jobs_app.command("run")(run_job)
    app.add_typer(jobs_app, name="jobs")
