"""`drmodels models list|show|retry|delete|download`: the registry's models and their content."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.options import Account, DataDir, model_service, settings
from drmodels.cli.render import print_model, status_text
from drmodels.errors import InvalidRequest
from drmodels.registry.statuses import ModelStatus
from drmodels.rules.limits import human_size
from drmodels.rules.requests import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from drmodels.adapters.ports import ModelStore
    from drmodels.registry.tables import Model

models_app = typer.Typer(help="List, show, retry, delete and download imported models.", no_args_is_help=True)


def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Every model with its status and size."""
    from drmodels.service.shapes import model_shape

    models = model_service(settings(data_dir), account).list()
    if as_json:
        typer.echo(json.dumps([model_shape(m, history=False) for m in models], indent=2))
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
    Console().print(table)


def show_model(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="The API's Model shape as JSON.")] = False,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """Status, error code with its explanation and fix, checkpoints kept, size and history."""
    from drmodels.service.shapes import model_shape

    model = model_service(settings(data_dir), account).get(name)
    if as_json:
        typer.echo(json.dumps(model_shape(model), indent=2))
    else:
        print_model(Console(), model)


def retry_model(
    name: str,
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
    from drmodels.service.imports.job import run_import
    from drmodels.service.repairs import retry_with_reset
    from drmodels.service.tasks import IMPORT

    service = model_service(settings(data_dir), account)
    if reset_permissions:
        job_id, done = retry_with_reset(service, name)
        for line in done:
            Console().print(f"[yellow]Repaired:[/] {escape(line)}")
    else:
        job_id = service.retry(name)
    if not wait:
        service.deps.runner.submit(IMPORT, job_id)
        Console().print(f"Retrying {escape(name)}: job {job_id} runs in the background")
        return
    status = run_import(job_id, service.deps)
    print_model(Console(), service.get(name))
    raise typer.Exit(0 if status == ModelStatus.READY else 1)


def delete_model(name: str, data_dir: DataDir = None, account: Account = DEFAULT_ACCOUNT) -> None:
    """Delete the stored model and its registry entry; the source is never touched."""
    model_service(settings(data_dir), account).delete(name)
    Console().print(f"Deleted {escape(name)}")


def download(
    name: str,
    car: Annotated[bool, typer.Option("--car", help="The car archive model.tar.gz.")] = False,
    logs: Annotated[
        bool, typer.Option("--logs", help="Logs, metrics and training params as .tar.gz.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write ('-' for stdout).")
    ] = None,
    data_dir: DataDir = None,
    account: Account = DEFAULT_ACCOUNT,
) -> None:
    """The model as a re-importable .tar.gz (default), its car archive, or its logs and metrics."""
    if car and logs:
        raise InvalidRequest("--car/--logs", "choose --car or --logs, not both")
    service = model_service(settings(data_dir), account)
    model = service.get(name)
    suffix = "-car-model.tar.gz" if car else "-logs.tar.gz" if logs else ".tar.gz"
    target = output or Path(f"{name}{suffix}")
    store = service.deps.store
    if str(target) == "-":
        _write(store, model, sys.stdout.buffer, car, logs)
        return
    part = target.with_name(target.name + ".part")
    try:
        with part.open("wb") as out:
            _write(store, model, out, car, logs)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    Console(stderr=True).print(f"Wrote {target} ({human_size(target.stat().st_size)})")


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
