"""`drmodels status [--json]`: queue depth, running jobs by worker, stale leases, waiting and failed jobs."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from drmodels.cli.console import console as make_console
from drmodels.cli.options import DataDir, settings
from drmodels.rules.limits import human_size


def show_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    data_dir: DataDir = None,
) -> None:
    """What to watch on a deployment: the broker's queues, jobs waiting and running, lost and failed ones."""
    from drmodels.bootstrap import build
    from drmodels.service.status import status

    deps = build(settings(data_dir))
    now = status(deps)
    deps.registry.close()
    if as_json:
        typer.echo(json.dumps(now.as_dict(), default=str))
        return
    console = make_console()
    if now.broker is None:
        console.print("Broker: none (DRMODELS_BROKER_URL unset: jobs run in the process that accepted them)")
    else:
        console.print(
            "Broker queue depth: "
            + (", ".join(f"{queue} {n}" for queue, n in sorted(now.broker.items())) or "no queue yet")
        )
    oldest = f", oldest waiting {now.oldest_queued_s:.0f} s" if now.oldest_queued_s is not None else ""
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(now.queued_by_kind.items()))
    console.print(f"Queued jobs: {now.queued}{f' ({kinds})' if kinds else ''}{oldest}")
    running = Table(title=f"Running jobs: {sum(len(j) for j in now.running.values())}")
    for column in ("Worker", "Job", "Copied", "Last heartbeat"):
        running.add_column(column)
    for worker, jobs in sorted(now.running.items()):
        for job in jobs:
            copied = "-"  # an account job copies nothing itself (its imports show)
            if job.bytes_total:
                copied = f"{human_size(job.bytes_done)} / {human_size(job.bytes_total)}"
            running.add_row(worker, f"{job.kind} {job.job_id}", copied, f"{job.heartbeat_age_s:.0f} s ago")
    console.print(running)
    if now.stale:
        stale = Table(title="Stale leases (worker dead or silent: the sweep hands these out again)")
        for column in ("Job", "Owner", "Last heartbeat"):
            stale.add_column(column)
        for row in now.stale:
            stale.add_row(f"{row.kind} {row.id}", row.owner or "-", str(row.heartbeat_at or "never"))
        console.print(stale)
    else:
        console.print("Stale leases: none")
    failed = ", ".join(f"{code} {n}" for code, n in now.failed.most_common()) or "none"
    console.print(f"Last 24 hours: {now.succeeded} succeeded; failed by code: {failed}")


def register(app: typer.Typer) -> None:
    app.command("status")(show_status)
