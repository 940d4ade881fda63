"""`drmodels doctor access s3://bucket/prefix --role-arn ARN [--apply]`: which permission an import lacks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.console import console as make_console
from drmodels.cli.options import AsJson, DataDir, settings

if TYPE_CHECKING:
    from drmodels.service.access import AccessReport

doctor_app = typer.Typer(help="Diagnose why an import cannot reach a model.", no_args_is_help=True)


def _show(console: Console, report: AccessReport) -> None:
    table = Table(
        title=f"Access to {escape(report.location)}" + (f" as {report.role_arn}" if report.role_arn else "")
    )
    for col in ("", "Action", "Resource", "What S3 / IAM said", "Fix"):
        table.add_column(col)
    for c in report.checks:
        mark = "[green]✔[/]" if c.ok else "[red]✘[/]" if c.required else "[yellow]![/]"
        table.add_row(mark, c.action, escape(c.resource), escape(c.detail), escape(c.fix))
    console.print(table)
    for note in report.notes:
        console.print(f"  [dim]{escape(note)}[/]", highlight=False)
    verdict = (
        "[green]An import would get through.[/]"
        if report.ok
        else f"[red]An import would fail: {report.code}[/]"
    )
    console.print(verdict)


def access(
    location: Annotated[str, typer.Argument(help="s3://bucket/prefix of the model.")],
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="The role the import assumes.")] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Repair what can be: restore the bucket policy, reset the role.")
    ] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Check each permission an import needs with real calls; exit 0 only when an import would succeed."""
    from drmodels.bootstrap import build
    from drmodels.service.access import diagnose
    from drmodels.service.repairs import repair

    deps = build(settings(data_dir))
    report = diagnose(deps, location, role_arn)
    done: list[str] = []
    if apply and not report.ok:
        done = repair(deps, report)
        report = diagnose(deps, location, role_arn)
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "repairs": done}, indent=2))
    else:
        console = make_console()
        for line in done:
            console.print(f"[yellow]Repaired:[/] {escape(line)}")
        _show(console, report)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    doctor_app.command("access")(access)
    app.add_typer(doctor_app, name="doctor")
