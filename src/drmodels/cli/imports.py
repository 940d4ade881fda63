"""`drmodels import SOURCE --name NAME` and `drmodels import --manifest FILE.csv`."""

from __future__ import annotations

import csv
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from drmodels.registry.tables import Model
    from drmodels.service.imports.job import Progress as JobProgress


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Embedded registry and store (default ./drmodels-data or DRMODELS_DATA_DIR)."
    ),
]


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[files]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def import_model(
    source: Annotated[
        str | None, typer.Argument(help="s3://bucket/prefix, a model folder or a .tar.gz.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Model name: letters, digits, '-', 1-64.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="1-255 characters.")] = None,
    role_arn: Annotated[
        str | None, typer.Option("--role-arn", help="IAM role to assume to read s3://.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Run here with a progress bar until done.")] = False,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="CSV of name,source,role,description: bulk import.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Imports run at once (bulk).")] = 4,
    data_dir: DataDir = None,
) -> None:
    """Import a DeepRacer model: check it, copy what the plan names, build the car archive, verify."""
    from drmodels.bootstrap import build_env, data_dir_from
    from drmodels.rules.requests import RequestError
    from drmodels.runner.background import spawn_job
    from drmodels.service.imports.job import run_import
    from drmodels.service.models import ModelService

    console = Console()
    ddir = data_dir_from(data_dir)
    if manifest is not None:
        if source is not None or name is not None:
            _die(console, "give either SOURCE --name NAME or --manifest FILE, not both")
        raise typer.Exit(bulk_import(console, ddir, manifest, workers))
    if source is None or name is None:
        _die(console, "give SOURCE and --name NAME (or --manifest FILE.csv)")
    assert source is not None and name is not None
    env = build_env(ddir)
    service = ModelService(env)
    try:
        accepted = service.accept(name, source, description, role_arn)
    except RequestError as exc:
        _die(console, f"{exc.field}: {exc.message}")
    console.print(f"Accepted [bold]{escape(name)}[/] ({accepted.arn}): IMPORTING")
    if not wait:
        pid = spawn_job(ddir, accepted.job_id)
        console.print(
            f"Import job {accepted.job_id} runs in worker {pid}; "
            f"follow it with `drmodels models show {name}`."
        )
        return
    with _bar(console) as bar:
        task = bar.add_task(escape(name), total=None, files="")

        def show(p: JobProgress) -> None:
            bar.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                files=f"{p.files_done}/{p.files_total} files · {p.stage}",
            )

        env.on_progress = show
        status = run_import(accepted.job_id, env)
    model = service.get(name)
    from drmodels.cli.models import print_model

    print_model(console, model)
    raise typer.Exit(0 if status == "READY" else 1)


def _die(console: Console, message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


@dataclass
class Row:
    name: str
    source: str
    role: str | None
    description: str | None
    line: int


def read_manifest(path: Path) -> list[Row]:
    """name,source[,role][,description]; a header row naming the columns is required."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = {(h or "").strip().lower() for h in reader.fieldnames or []}
        missing = {"name", "source"} - fields
        if missing:
            raise ValueError(
                f"{path}: the header must name the columns name,source,role,description "
                f"(missing {', '.join(sorted(missing))})"
            )
        rows = []
        for i, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            rows.append(
                Row(
                    row.get("name", ""),
                    row.get("source", ""),
                    row.get("role") or None,
                    row.get("description") or None,
                    i,
                )
            )
        return rows


def bulk_import(console: Console, data_dir: Path, manifest: Path, workers: int) -> int:
    from drmodels.bootstrap import build_env
    from drmodels.rules.requests import RequestError
    from drmodels.runner.threads import WorkerPool
    from drmodels.service.imports.job import run_import
    from drmodels.service.models import ModelService

    try:
        rows = read_manifest(manifest)
    except (OSError, ValueError, csv.Error) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    env = build_env(data_dir)
    service = ModelService(env)
    refused: list[tuple[Row, str]] = []
    jobs: list[tuple[Row, int]] = []
    for row in rows:
        try:
            accepted = service.accept(row.name, row.source, row.description, row.role)
        except RequestError as exc:
            refused.append((row, f"{exc.field}: {exc.message}"))
        else:
            jobs.append((row, accepted.job_id))
    lock = threading.Lock()
    per_job: dict[int, JobProgress] = {}
    with _bar(console) as bar:
        task: TaskID = bar.add_task(f"{len(jobs)} models", total=None, files="")
        done = Counter[str]()

        def show(p: JobProgress) -> None:
            with lock:
                per_job[p.job_id] = p
                total = sum(j.bytes_total for j in per_job.values())
                copied = sum(j.bytes_done for j in per_job.values())
                files = sum(j.files_done for j in per_job.values())
                bar.update(
                    task,
                    completed=copied,
                    total=total or None,
                    files=f"{files} files · {sum(done.values())}/{len(jobs)} models done",
                )

        env.on_progress = show
        with WorkerPool(workers) as pool:
            futures = [(row, pool.submit(lambda j: run_import(j, env), job_id)) for row, job_id in jobs]
            for _row, fut in futures:
                status = fut.result()
                with lock:
                    done[status] += 1
                bar.update(task, files=f"{sum(done.values())}/{len(jobs)} models done")
    models = {m.name: m for m in service.list()}
    _summary(console, refused, [(row, models.get(row.name)) for row, _ in jobs])
    ok = not refused and all(
        m is not None and m.status == "READY" for m in models.values() if m.name in {r.name for r, _ in jobs}
    )
    return 0 if ok else 1


def _summary(console: Console, refused: list[tuple[Row, str]], done: list[tuple[Row, Model | None]]) -> None:
    counts = Counter[tuple[str, str]]()
    for _row, model in done:
        status = model.status if model else "MISSING"
        counts[(status, (model.error_code if model else None) or "")] += 1
    for _row, _reason in refused:
        counts[("REFUSED", "REQUEST")] += 1
    table = Table(title="Import results")
    table.add_column("Status")
    table.add_column("Code")
    table.add_column("Models", justify="right")
    for (status, code), n in sorted(counts.items()):
        style = "green" if status == "READY" else "red"
        table.add_row(f"[{style}]{status}[/]", code or "-", str(n))
    console.print(table)
    failures = Table(title="Not imported")
    failures.add_column("Line", justify="right")
    failures.add_column("Name")
    failures.add_column("Code")
    failures.add_column("Why")
    for row, reason in refused:
        failures.add_row(str(row.line), escape(row.name), "REQUEST", escape(reason))
    for row, model in done:
        if model is not None and model.status != "READY":
            why = (model.error_details or [{}])[0].get("explanation", "")
            failures.add_row(str(row.line), escape(row.name), model.error_code or "", escape(str(why)))
    if failures.row_count:
        console.print(failures)


def register(app: typer.Typer) -> None:
    app.command("import")(import_model)
