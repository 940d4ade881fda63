"""The CLI's Rich rendering of reports, problems, models and progress, shared by the commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from drmodels.registry.statuses import ModelStatus
from drmodels.rules.limits import human_size
from drmodels.rules.problems import Problem, entry_of
from drmodels.rules.report import Report
from drmodels.service.shapes import problems_of

if TYPE_CHECKING:
    from drmodels.registry.tables import Model

STATUS_STYLE = {ModelStatus.READY: "green", ModelStatus.IMPORTING: "yellow", ModelStatus.MIGRATING: "yellow"}


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(ModelStatus(status), 'red')}]{status}[/]"


def print_report(console: Console, report: Report) -> None:
    errors = report.errors
    warnings = [p for p in report.problems if not p.is_error]
    verdict = "[bold green]✔ Importable[/]" if report.importable else "[bold red]✘ Not importable[/]"
    counts = (
        f"{len(errors)} error{'s' * (len(errors) != 1)}, {len(warnings)} warning{'s' * (len(warnings) != 1)}"
    )
    console.print(f"{verdict}  {escape(report.source)}  [dim]({counts})[/]")
    for title, group, style in (("Errors", errors, "red"), ("Warnings", warnings, "yellow")):
        if group:
            console.print(f"\n[bold {style}]{title}[/]")
            for problem in group:
                print_problem(console, problem, style)
    plan = report.plan
    if plan.objects:
        console.print("\n[bold]Import plan[/]")
        console.print(f"  checkpoints: {escape(', '.join(plan.checkpoints) or 'none')}")
        total = sum(o.size for o in plan.objects)
        console.print(f"  objects to copy: {len(plan.objects)} ({human_size(total)})")
        if plan.build_car_archive:
            console.print(f"  car archive: built from {escape(plan.car_archive_graph or '')}")


def print_problem(console: Console, problem: Problem, style: str, indent: str = " ") -> None:
    """An error with the spec's code, title and action; a warning as what it says, its code aside
    (a warning never carries an error's title, nor a fix when there is nothing to do)."""
    where = f"  [cyan]{escape(problem.path)}[/]" if problem.path else ""
    if problem.is_error:
        console.print(
            f"{indent}[{style}]✘ {problem.code.value}[/] · {escape(problem.title)}: "
            f"{escape(problem.action)}{where}"
        )
        console.print(f"{indent}  {escape(problem.explanation)}", highlight=False)
    else:
        console.print(
            f"{indent}[{style}]![/] {escape(problem.explanation)} [dim]({problem.code.value})[/]",
            highlight=False,
        )
    if problem.fix:
        console.print(f"{indent}  [bold]Fix:[/] {escape(problem.fix)}", highlight=False)


def print_model(console: Console, model: Model) -> None:
    console.print(f"[bold]{escape(model.name)}[/]  {status_text(model.status)}  {model.arn}")
    if model.description:
        console.print(f"  {escape(model.description)}")
    console.print(f"  source: {escape(model.import_src_location or '-')}")
    if model.status == ModelStatus.READY:
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
        entry = entry_of(model.error_code)
        title = f"{entry.title} — {entry.action}" if entry else ""
        console.print(f"\n  [red]{model.error_code}[/] {escape(title)}")
        for p in problems_of(model):
            print_problem(console, p, "red" if p.is_error else "yellow", indent="   ")
    if model.events:
        console.print("\n  [bold]History[/]")
        for e in model.events:
            console.print(f"   {e.at:%Y-%m-%d %H:%M:%S}  {e.kind:<14} {escape(e.message)}", highlight=False)


class _Speed(ProgressColumn):
    """Transfer speed in the binary units every other size is printed in."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{human_size(int(speed))}/s", style="progress.data.speed")


def transfer_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        _Speed(),
        TextColumn("{task.fields[files]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
