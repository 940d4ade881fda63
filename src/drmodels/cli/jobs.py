"""`drmodels jobs run KIND JOB_ID`: run one job in this process (what the detached runner starts)."""

from __future__ import annotations

from typing import Annotated

import typer

from drmodels.cli.options import DataDir, settings
from drmodels.registry.statuses import JobStatus, ModelStatus

jobs_app = typer.Typer(
    help="Run queued jobs (drmodels starts them).", no_args_is_help=True, hidden=True, rich_markup_mode=None
)


def run_job(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="Job kind (import, ...).")],
    job_id: Annotated[int, typer.Argument(metavar="ID", help="Job id.")],
    data_dir: DataDir = None,
) -> None:
    """Run or resume one job; exit 0 when it ends well (an import: its model READY)."""
    from drmodels.bootstrap import build
    from drmodels.service.tasks import run_task

    deps = build(settings(data_dir))
    outcome = run_task(deps, kind, job_id)
    deps.registry.close()
    typer.echo(outcome)
    raise typer.Exit(0 if outcome in (ModelStatus.READY, JobStatus.SUCCEEDED, None) else 1)


def register(app: typer.Typer) -> None:
    jobs_app.command("run")(run_job)
    app.add_typer(jobs_app, name="jobs")
