"""`drmodels check SOURCE`: is this model importable, and if not, every reason why."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from drmodels.config import Settings
from drmodels.rules.limits import human_size
from drmodels.rules.problems import Problem
from drmodels.rules.report import Report
from drmodels.service.check import check_location


def check(
    source: Annotated[
        str, typer.Argument(help="Model prefix root: a folder, a .tar.gz of one, or s3://bucket/prefix.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    role_arn: Annotated[
        str | None, typer.Option(help="IAM role to assume (STS) before reading s3:// sources.")
    ] = None,
    deep: Annotated[
        bool | None,
        typer.Option(
            "--deep/--no-deep",
            help="Read checkpoint bytes, graphs and the car archive "
            "(default: on for folders and archives, off for s3://).",
        ),
    ] = None,
) -> None:
    """Check a DeepRacer model as the console's import would, and deeper. Exit 1 if not importable."""
    report, tensors = check_location(source, Settings().limits(), role_arn=role_arn, deep=deep)
    if as_json:
        out = report.as_dict()
        if tensors is not None:
            out["checkpoints"] = tensors
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_report(Console(soft_wrap=True), report)
    raise typer.Exit(0 if report.importable else 1)


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
                _print_problem(console, problem, style)
    plan = report.plan
    if plan.objects:
        console.print("\n[bold]Import plan[/]")
        console.print(f"  checkpoints: {escape(', '.join(plan.checkpoints) or 'none')}")
        total = sum(o.size for o in plan.objects)
        console.print(f"  objects to copy: {len(plan.objects)} ({human_size(total)})")
        if plan.build_car_archive:
            console.print(f"  car archive: built from {escape(plan.car_archive_graph or '')}")


def _print_problem(console: Console, problem: Problem, style: str) -> None:
    mark = "✘" if problem.is_error else "!"
    where = f"  [cyan]{escape(problem.path)}[/]" if problem.path else ""
    console.print(
        f" [{style}]{mark} {problem.code.value}[/] · {escape(problem.title)}: {escape(problem.action)}{where}"
    )
    console.print(f"   {escape(problem.explanation)}", highlight=False)
    console.print(f"   [bold]Fix:[/] {escape(problem.fix)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(check)
