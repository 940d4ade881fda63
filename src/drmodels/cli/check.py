"""`drmodels check SOURCE`: is this model importable, and if not, every reason why."""

from __future__ import annotations

from typing import Annotated

import typer

from drmodels.bootstrap import source_opener
from drmodels.cli.console import console, strict_json
from drmodels.cli.options import settings
from drmodels.cli.render import print_report
from drmodels.service.check import check_location


def check(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="Model prefix root: a folder, a .tar.gz, .zip of one, or s3://bucket/prefix.",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    role_arn: Annotated[
        str | None, typer.Option(metavar="ARN", help="IAM role to assume (STS) before reading s3:// sources.")
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
    limits = settings().limits()
    report, tensors = check_location(source, limits, source_opener(), role_arn=role_arn, deep=deep)
    if as_json:
        typer.echo(strict_json(report.as_dict(tensors)))
    else:
        print_report(console(), report)
    raise typer.Exit(0 if report.importable else 1)


def register(app: typer.Typer) -> None:
    app.command()(check)
