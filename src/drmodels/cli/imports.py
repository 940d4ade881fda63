"""`drmodels import SOURCE --name NAME` and `drmodels import --manifest FILE.csv`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.options import DataDir, settings
from drmodels.cli.render import print_model, transfer_bar
from drmodels.errors import InvalidRequest
from drmodels.registry.statuses import ModelStatus

if TYPE_CHECKING:
    from drmodels.service.bulk import BulkProgress, BulkResult
    from drmodels.service.imports.progress import Progress as JobProgress


def import_model(
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="SOURCE", help="s3://bucket/prefix, a model folder, or a .tar.gz or .zip of one."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Model name: letters, digits, '-', 1-64.")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", help="1-255 characters.")
    ] = None,
    role_arn: Annotated[
        str | None, typer.Option("--role-arn", metavar="ARN", help="IAM role to assume to read s3://.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Run here with a progress bar until done.")] = False,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest", metavar="FILE.csv", help="CSV of name,source,role,description: bulk import."
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", metavar="N", help="Imports run at once (bulk).")] = 4,
    data_dir: DataDir = None,
) -> None:
    """Import a DeepRacer model: check it, copy what the plan names, build the car archive, verify."""
    from drmodels.bootstrap import build
    from drmodels.service.imports.job import run_import
    from drmodels.service.models import ModelService
    from drmodels.service.tasks import IMPORT

    console = Console()
    if manifest is not None:
        if source is not None or name is not None:
            raise InvalidRequest("manifest", "give either SOURCE --name NAME or --manifest FILE, not both")
        raise typer.Exit(_bulk(console, data_dir, manifest, workers))
    if source is None or name is None:
        raise InvalidRequest("source", "give SOURCE and --name NAME (or --manifest FILE.csv)")
    deps = build(settings(data_dir))
    service = ModelService(deps)
    accepted = service.accept(name, source, description, role_arn)
    console.print(f"Accepted [bold]{escape(name)}[/] ({accepted.arn}): IMPORTING")
    if not wait:
        deps.runner.submit(IMPORT, accepted.job_id)
        console.print(
            f"Import job {accepted.job_id} runs in the background; "
            f"follow it with `drmodels models show {name}`."
        )
        return
    with transfer_bar(console) as bar:
        task = bar.add_task(escape(name), total=None, files="")

        def show(p: JobProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done}/{p.files_total} files · {p.stage}",
            )

        status = run_import(accepted.job_id, deps, show)
    print_model(console, service.get(name))
    raise typer.Exit(0 if status == ModelStatus.READY else 1)


def _bulk(console: Console, data_dir: Path | None, manifest: Path, workers: int) -> int:
    from drmodels.bootstrap import build
    from drmodels.service.bulk import bulk_import, read_manifest
    from drmodels.service.models import ModelService

    rows = read_manifest(manifest)
    service = ModelService(build(settings(data_dir)))
    with transfer_bar(console) as bar:
        task = bar.add_task(f"{len(rows)} models", total=None, files="")

        def show(p: BulkProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done} files · {p.models_done}/{p.models_total} models done",
            )

        result = bulk_import(service, rows, workers, show)
    _summary(console, result)
    return 0 if result.ok else 1


def _summary(console: Console, result: BulkResult) -> None:
    counts = Counter[tuple[str, str]]()
    for _row, model in result.imported:
        status = model.status if model else "MISSING"
        counts[(status, (model.error_code if model else None) or "")] += 1
    for _row, _reason in result.refused:
        counts[("REFUSED", "REQUEST")] += 1
    table = Table(title="Import results")
    table.add_column("Status")
    table.add_column("Code")
    table.add_column("Models", justify="right")
    for (status, code), n in sorted(counts.items()):
        style = "green" if status == ModelStatus.READY else "red"
        table.add_row(f"[{style}]{status}[/]", code or "-", str(n))
    console.print(table)
    failures = Table(title="Not imported")
    failures.add_column("Line", justify="right")
    failures.add_column("Name")
    failures.add_column("Code")
    failures.add_column("Why")
    for row, reason in result.refused:
        failures.add_row(str(row.line), escape(row.name), "REQUEST", escape(reason))
    for row, model in result.imported:
        if model is not None and model.status != ModelStatus.READY:
            why = (model.error_details or [{}])[0].get("explanation", "")
            failures.add_row(str(row.line), escape(row.name), model.error_code or "", escape(str(why)))
    if failures.row_count:
        console.print(failures)


def register(app: typer.Typer) -> None:
    app.command("import")(import_model)
