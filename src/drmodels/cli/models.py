"""`drmodels models list|show|retry|delete|download`: the registry's models and their content."""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.imports import DataDir
from drmodels.rules.limits import human_size
from drmodels.rules.problems import CATALOGUE, Code

if TYPE_CHECKING:
    from drmodels.registry.tables import Model
    from drmodels.service.models import ModelService

models_app = typer.Typer(help="List, show, retry, delete and download imported models.", no_args_is_help=True)


def _service(data_dir: Path | None) -> tuple[ModelService, Path]:
    from drmodels.bootstrap import build_env, data_dir_from
    from drmodels.service.models import ModelService

    ddir = data_dir_from(data_dir)
    return ModelService(build_env(ddir)), ddir


def _get(service: ModelService, name: str) -> Model:
    from drmodels.service.models import NotFound

    try:
        return service.get(name)
    except NotFound as exc:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None


def model_dict(model: Model) -> dict[str, Any]:
    """The API's `Model` shape, plus our history and stored checkpoints."""
    error: dict[str, Any] | None = None
    if model.error_code:
        details = model.error_details or []
        error = {
            "ErrorCode": model.error_code,
            "Details": "; ".join(
                str(d.get("explanation", "")) for d in details if d.get("severity") == "error"
            ),
            "Problems": details,
        }
    return {
        "ModelName": model.name,
        "ModelArn": model.arn,
        "ModelDescription": model.description,
        "ModelType": "REINFORCEMENT_LEARNING",
        "ModelFramework": "TENSOR_FLOW",
        "Status": model.status,
        "Error": error,
        "WasImported": model.was_imported,
        "WasMigrated": model.was_migrated,
        "ImportModelS3SrcLocation": model.import_src_location,
        "ModelSizeInBytes": model.size_bytes or 0,
        "ModelSizeInGb": (model.size_bytes or 0) / 1024**3,
        "ModelPackagingComplete": model.packaging_complete,
        "CarConfiguration": model.car_configuration,
        "AgentAlgorithm": model.agent_algorithm,
        "AgentNetwork": model.agent_network,
        "CreationTime": int(model.creation_time.replace(tzinfo=UTC).timestamp() * 1000),
        "Checkpoints": model.checkpoints or [],
        "History": [
            {"At": e.at.isoformat() + "Z", "Kind": e.kind, "Message": e.message} for e in model.events
        ],
    }


def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False, data_dir: DataDir = None
) -> None:
    """Every model with its status and size."""
    service, _ = _service(data_dir)
    models = service.list()
    if as_json:
        typer.echo(
            json.dumps([{k: v for k, v in model_dict(m).items() if k != "History"} for m in models], indent=2)
        )
        return
    table = Table()
    for col in ("Name", "Status", "Error", "Size", "Created"):
        table.add_column(col)
    for m in models:
        style = {"READY": "green", "IMPORTING": "yellow"}.get(m.status, "red")
        table.add_row(
            escape(m.name),
            f"[{style}]{m.status}[/]",
            m.error_code or "",
            human_size(m.size_bytes or 0),
            m.creation_time.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)


def print_model(console: Console, model: Model) -> None:
    style = {"READY": "green", "IMPORTING": "yellow"}.get(model.status, "red")
    console.print(f"[bold]{escape(model.name)}[/]  [{style}]{model.status}[/]  {model.arn}")
    if model.description:
        console.print(f"  {escape(model.description)}")
    console.print(f"  source: {escape(model.import_src_location or '-')}")
    if model.status == "READY":
        console.print(
            f"  size: {human_size(model.size_bytes or 0)}   car archive: "
            f"{'yes' if model.packaging_complete else 'no'}"
        )
        console.print(f"  checkpoints kept: {escape(', '.join(model.checkpoints or []) or '-')}")
        if model.car_configuration:
            sensors = ", ".join(model.car_configuration.get("Sensors", []))
            console.print(
                f"  car: {model.car_configuration.get('NeuralNetwork')} · sensors {sensors} · "
                f"{model.agent_algorithm}"
            )
    if model.error_code:
        entry = CATALOGUE.get(Code(model.error_code)) if model.error_code in Code.__members__ else None
        title = f"{entry.title} — {entry.action}" if entry else ""
        console.print(f"\n  [red]{model.error_code}[/] {escape(title)}")
        for d in model.error_details or []:
            mark = "✘" if d.get("severity") == "error" else "!"
            where = f" [cyan]{escape(str(d.get('path')))}[/]" if d.get("path") else ""
            console.print(f"   {mark} {d.get('code')}{where}")
            console.print(f"     {escape(str(d.get('explanation', '')))}", highlight=False)
            console.print(f"     [bold]Fix:[/] {escape(str(d.get('fix', '')))}", highlight=False)
    if model.events:
        console.print("\n  [bold]History[/]")
        for e in model.events:
            console.print(f"   {e.at:%Y-%m-%d %H:%M:%S}  {e.kind:<14} {escape(e.message)}", highlight=False)


def show_model(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="The API's Model shape as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Status, error code with its explanation and fix, checkpoints kept, size and history."""
    service, _ = _service(data_dir)
    model = _get(service, name)
    if as_json:
        typer.echo(json.dumps(model_dict(model), indent=2))
    else:
        print_model(Console(), model)


def retry_model(
    name: str,
    wait: Annotated[bool, typer.Option("--wait", help="Run here until done.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Re-run an errored (or interrupted) import from its recorded source ("Update")."""
    from drmodels.runner.background import spawn_job
    from drmodels.service.imports.job import run_import
    from drmodels.service.models import Conflict, NotFound

    service, ddir = _service(data_dir)
    try:
        job_id = service.retry(name)
    except NotFound as exc:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except Conflict as exc:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if not wait:
        pid = spawn_job(ddir, job_id)
        Console().print(f"Retrying {escape(name)}: job {job_id} in worker {pid}")
        return
    status = run_import(job_id, service.env)
    print_model(Console(), service.get(name))
    raise typer.Exit(0 if status == "READY" else 1)


def delete_model(name: str, data_dir: DataDir = None) -> None:
    """Delete the stored model and its registry entry; the source is never touched."""
    from drmodels.service.models import Conflict, NotFound

    service, _ = _service(data_dir)
    try:
        service.delete(name)
    except (NotFound, Conflict) as exc:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
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
) -> None:
    """The model as a re-importable .tar.gz (default), its car archive, or its logs and metrics."""
    from drmodels.service.download import NothingToDownload

    err = Console(stderr=True)
    if car and logs:
        err.print("[red]error:[/] choose --car or --logs, not both")
        raise typer.Exit(2)
    service, _ = _service(data_dir)
    model = _get(service, name)
    if model.status != "READY":
        err.print(
            f"[red]error:[/] model {escape(name)!r} is {model.status}; only READY models can be downloaded"
        )
        raise typer.Exit(2)
    suffix = "-car-model.tar.gz" if car else "-logs.tar.gz" if logs else ".tar.gz"
    target = output or Path(f"{name}{suffix}")
    store = service.env.store
    try:
        if str(target) == "-":
            _write(store, model, sys.stdout.buffer, car, logs)
        else:
            part = target.with_name(target.name + ".part")
            with part.open("wb") as out:
                _write(store, model, out, car, logs)
            part.replace(target)
    except NothingToDownload as exc:
        Path(f"{target}.part").unlink(missing_ok=True)
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if str(target) != "-":
        err.print(f"Wrote {target} ({human_size(target.stat().st_size)})")


def _write(store: Any, model: Model, out: BinaryIO, car: bool, logs: bool) -> None:
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
