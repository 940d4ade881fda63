"""`drmodels import SOURCE --name NAME` and `drmodels import --manifest FILE.csv`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.console import console as make_console
from drmodels.cli.console import strict_json
from drmodels.cli.options import Account, DataDir, model_service, settings
from drmodels.cli.render import print_model, transfer_bar
from drmodels.errors import InvalidRequest
from drmodels.registry.statuses import ModelStatus
from drmodels.rules.requests import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from drmodels.service.bulk import BulkProgress, BulkResult
    from drmodels.service.deps import Deps
    from drmodels.service.imports.progress import Progress as JobProgress

INTERRUPTED = 130
"""The exit status of a command stopped by Ctrl-C (128 + SIGINT)."""


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
    workers: Annotated[
        int, typer.Option("--workers", metavar="N", help="Imports run at once (bulk, without a broker).")
    ] = 4,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Bulk: retry rows whose model ended IMPORT_ERROR.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Bulk: print one JSON result per row.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Import a DeepRacer model: check it, copy what the plan names, build the car archive, verify.

    A manifest runs again safely: rows already READY are skipped, failed ones are retried with
    --retry-failed. Ctrl-C stops an import cleanly (nothing of it is kept) and says how to retry it.
    """
    from drmodels.service.tasks import IMPORT

    console = make_console()
    if manifest is not None:
        if source is not None or name is not None:
            raise InvalidRequest("manifest", "give either SOURCE --name NAME or --manifest FILE, not both")
        raise typer.Exit(_bulk(console, data_dir, account, manifest, workers, retry_failed, as_json))
    if source is None or name is None:
        raise InvalidRequest("source", "give SOURCE and --name NAME (or --manifest FILE.csv)")
    chosen = settings(data_dir)
    service = model_service(chosen, account)
    deps = service.deps
    accepted = service.accept(name, source, description, role_arn)
    console.print(f"Accepted [bold]{escape(name)}[/] ({accepted.arn}): IMPORTING", highlight=False)
    distributed = chosen.broker_url is not None
    if distributed or not wait:
        deps.runner.submit(IMPORT, accepted.job_id)
        where = "a worker runs it" if distributed else "it runs in the background"
        console.print(
            f"Import job {accepted.job_id} is queued; {where}. Follow it with `drmodels models show {name}`.",
            highlight=False,
        )
        if not wait:
            return
    run_here(console, deps, accepted.job_id, name, distributed)
    model = service.get(name)
    print_model(console, model)
    raise typer.Exit(0 if model.status == ModelStatus.READY else 1)


def run_here(console: Console, deps: Deps, job_id: int, name: str, distributed: bool = False) -> str:
    """Run the import job in this process with a progress bar (or, with workers, follow it there).

    Ctrl-C stops a job run here cleanly and says so; a job a worker runs goes on, and so says.
    """
    from drmodels.service.imports.job import run_import
    from drmodels.service.imports.progress import watch

    with transfer_bar(console) as bar:
        task = bar.add_task(escape(name), total=None, files="")

        def show(p: JobProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done}/{p.files_total} files · {p.stage}",
            )

        try:
            if distributed:
                watch(deps, [job_id], show)
                return ModelStatus.IMPORTING
            return run_import(job_id, deps, show)
        except KeyboardInterrupt:
            bar.stop()
            said = (
                f"stopped following the import of {escape(name)}; a worker goes on with it. Follow it "
                f"with `drmodels models show {escape(name)}`."
                if distributed
                else f"the import of {escape(name)} stopped; nothing of it was kept (the model is "
                f"IMPORT_ERROR). Start it again with `drmodels models retry {escape(name)}`, or forget it "
                f"with `drmodels models delete {escape(name)}`."
            )
            make_console(stderr=True).print(f"[yellow]Interrupted:[/] {said}", highlight=False)
            raise typer.Exit(INTERRUPTED) from None


def _bulk(
    console: Console, data_dir: Path | None, account: str, manifest: Path, workers: int, retry_failed: bool,
    as_json: bool,
) -> int:  # fmt: skip
    from drmodels.service.bulk import bulk_import, read_manifest

    rows = read_manifest(manifest)
    chosen = settings(data_dir)
    service = model_service(chosen, account)
    enqueue = chosen.broker_url is not None
    bar_console = make_console(stderr=True) if as_json else console
    with transfer_bar(bar_console) as bar:
        task = bar.add_task(f"{len(rows)} models", total=None, files="")

        def show(p: BulkProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done} files · {p.models_done}/{p.models_total} models done",
            )

        result = bulk_import(service, rows, workers, show, retry_failed=retry_failed, enqueue=enqueue)
    if as_json:
        typer.echo(strict_json([r.as_dict() for r in result.rows]))
    else:
        _summary(console, result)
    if result.interrupted:
        said = (
            "stopped following the imports; the workers go on with them (`drmodels status` follows them)."
            if enqueue
            else "the imports still running were stopped (nothing of them kept). Run "
            f"`drmodels import --manifest {escape(str(manifest))} --retry-failed` to finish the rest."
        )
        make_console(stderr=True).print(f"[yellow]Interrupted:[/] {said}", highlight=False)
        return INTERRUPTED
    return 0 if result.ok else 1


def _summary(console: Console, result: BulkResult) -> None:
    from drmodels.service.bulk import Action

    counts = Counter[tuple[str, str]]()
    for r in result.rows:
        if r.action is Action.REFUSED:
            counts[("REFUSED", "REQUEST")] += 1
        elif r.action is Action.SKIPPED:
            counts[("SKIPPED", r.model.status if r.model else "")] += 1
        else:
            status = r.model.status if r.model else "MISSING"
            counts[(status, (r.model.error_code if r.model else None) or "")] += 1
    table = Table(title="Import results")
    table.add_column("Status")
    table.add_column("Code")
    table.add_column("Models", justify="right")
    for (status, code), n in sorted(counts.items()):
        style = "green" if status == ModelStatus.READY else "yellow" if status == "SKIPPED" else "red"
        table.add_row(f"[{style}]{status}[/]", code or "-", str(n))
    console.print(table)
    failures = Table(title="Not imported")
    for column in ("Line", "Name", "Code", "Why"):
        failures.add_column(column, justify="right" if column == "Line" else "left")
    for r in result.rows:
        if r.action is Action.SKIPPED and r.model is not None and r.model.status == ModelStatus.READY:
            continue
        if r.action in (Action.REFUSED, Action.SKIPPED):
            code = "REQUEST" if r.action is Action.REFUSED else "SKIPPED"
            failures.add_row(str(r.row.line), escape(r.row.name), code, escape(r.reason or ""))
        elif r.model is not None and r.model.status != ModelStatus.READY:
            why = (r.model.error_details or [{}])[0].get("explanation", "")
            failures.add_row(str(r.row.line), escape(r.row.name), r.model.error_code or "", escape(str(why)))
    if failures.row_count:
        console.print(failures)
    skipped = sum(
        1 for r in result.rows if r.action is Action.SKIPPED and r.model and r.model.status == "READY"
    )
    if skipped:
        console.print(f"{skipped} row{'s' * (skipped != 1)} already imported (READY): skipped.")


def register(app: typer.Typer) -> None:
    app.command("import")(import_model)
