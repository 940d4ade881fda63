"""`drmodels models list|show|retry|delete|download`: the registry's models and their content."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer
from rich.markup import escape
from rich.table import Table

from drmodels.cli.console import console, strict_json
from drmodels.cli.options import Account, DataDir, ModelName, model_service, settings
from drmodels.cli.render import print_model, status_text
from drmodels.errors import InvalidRequest
from drmodels.registry.statuses import ModelStatus
from drmodels.rules.limits import human_size
from drmodels.rules.requests import DEFAULT_ACCOUNT
from drmodels.service.files import new_file

if TYPE_CHECKING:
    from drmodels.adapters.ports import ModelStore
    from drmodels.registry.tables import Model

models_app = typer.Typer(
    help="List, show, retry, delete and download imported models.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Every model with its status and size."""
    from drmodels.service.shapes import model_shape

    models = model_service(settings(data_dir), account).list()
    if as_json:
        typer.echo(strict_json([model_shape(m, history=False) for m in models]))
        return
    table = Table()
    for col in ("Name", "Status", "Error", "Size", "Created"):
        table.add_column(col)
    for m in models:
        table.add_row(
            escape(m.name),
            status_text(m.status),
            m.error_code or "",
            human_size(m.size_bytes or 0),
            m.creation_time.strftime("%Y-%m-%d %H:%M"),
        )
    console().print(table)


def show_model(
    name: ModelName,
    as_json: Annotated[bool, typer.Option("--json", help="The API's Model shape as JSON.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Status, error code with its explanation and fix, checkpoints kept, size and history."""
    from drmodels.service.shapes import model_shape

    model = model_service(settings(data_dir), account).get(name)
    if as_json:
        typer.echo(strict_json(model_shape(model)))
    else:
        print_model(console(), model)


def retry_model(
    name: ModelName,
    wait: Annotated[bool, typer.Option("--wait", help="Run here until done.")] = False,
    reset_permissions: Annotated[
        bool,
        typer.Option(
            "--reset-permissions",
            help="First repair ACCESS_DENIED_TO_BUCKET (restore the bucket policy) or "
            "ACCOUNT_RESOURCE_DOES_NOT_EXIST (recreate the role).",
        ),
    ] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Re-run an errored (or interrupted) import from its recorded source ("Update")."""
    from drmodels.cli.imports import run_here
    from drmodels.service.repairs import retry_with_reset
    from drmodels.service.tasks import IMPORT

    service = model_service(settings(data_dir), account)
    out = console()
    if reset_permissions:
        job_id, done = retry_with_reset(service, name)
        for line in done:
            out.print(f"[yellow]Repaired:[/] {escape(line)}", highlight=False)
    else:
        job_id = service.retry(name)
    if not wait:
        service.deps.runner.submit(IMPORT, job_id)
        out.print(f"Retrying {escape(name)}: job {job_id} runs in the background")
        return
    status = run_here(out, service.deps, job_id, name)
    if status == ModelStatus.IMPORTING:
        out.print(
            f"Job {job_id} of {escape(name)} is running in another process; follow it with "
            f"`drmodels models show {escape(name)}`.",
            highlight=False,
        )
        raise typer.Exit(1)
    print_model(out, service.get(name))
    raise typer.Exit(0 if status == ModelStatus.READY else 1)


def delete_model(name: ModelName, data_dir: DataDir = None, account: Account = DEFAULT_ACCOUNT) -> None:
    """Delete the stored model and its registry entry; the source is never touched."""
    model_service(settings(data_dir), account).delete(name)
    console().print(f"Deleted {escape(name)}")


def download(
    name: ModelName,
    car: Annotated[bool, typer.Option("--car", help="The car archive model.tar.gz.")] = False,
    logs: Annotated[
        bool, typer.Option("--logs", help="Logs, metrics and training params as .tar.gz.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE|FOLDER",
            help="File to write, or a folder to write NAME.tar.gz into ('-' for stdout).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """The model as a re-importable .tar.gz (default), its car archive, or its logs and metrics."""
    if car and logs:
        raise InvalidRequest("--car/--logs", "choose --car or --logs, not both")
    suffix = "-car-model.tar.gz" if car else "-logs.tar.gz" if logs else ".tar.gz"
    target = None if str(output) == "-" else download_target(output, f"{name}{suffix}", force)
    service = model_service(settings(data_dir), account)
    model = service.get(name)
    store = service.deps.store
    if target is None:
        _write(store, model, sys.stdout.buffer, car, logs)
        return
    with new_file(target, replace=force) as out:
        _write(store, model, out, car, logs)
    console(stderr=True).print(f"Wrote {escape(str(target))} ({human_size(target.stat().st_size)})")


def download_target(output: Path | None, default_name: str, force: bool) -> Path:
    """Where a download goes: the file named, or `default_name` in the folder named; checked first."""
    target = Path(default_name) if output is None else output
    if target.is_dir():
        target = target / default_name
    if not target.parent.is_dir():
        raise InvalidRequest("--output", f"the folder {target.parent} does not exist; create it first")
    if target.is_dir():
        raise InvalidRequest("--output", f"{target} is a folder; name a file to write")
    if target.exists() and not force:
        raise InvalidRequest("--output", f"{target} exists; use --force to replace it")
    return target


def _write(store: ModelStore, model: Model, out: BinaryIO, car: bool, logs: bool) -> None:
    from drmodels.service.download import download_car, download_logs, download_model

    if car:
        download_car(store, model, out)
    elif logs:
        download_logs(store, model, out)
    else:
        download_model(store, model, out)


def register(app: typer.Typer) -> None:
    models_app.command("list")(list_models)
    models_app.command("show")(show_model)
    models_app.command("retry")(retry_model)
    models_app.command("delete")(delete_model)
    models_app.command("download")(download)
    app.add_typer(models_app, name="models")
