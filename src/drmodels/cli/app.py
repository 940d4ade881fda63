"""The `drmodels` command: one Typer app, each command group in its own module under cli/."""

from __future__ import annotations

from importlib.metadata import version as installed_version
from typing import Annotated

import typer

from drmodels.cli import (
    account,
    bill,
    check,
    doctor,
    fix,
    imports,
    jobs,
    migrate,
    models,
    policy,
    sample,
    serve,
    status,
    worker,
)
from drmodels.cli.errors import AnsweringGroup

HELP_STYLE = None
"""Plain help (click's layout): flags show as flags, and nothing depends on a terminal's width."""

app = typer.Typer(
    name="drmodels",
    help="Inspect, repair, import and keep AWS DeepRacer models.",
    no_args_is_help=True,
    add_completion=False,
    cls=AnsweringGroup,
    rich_markup_mode=HELP_STYLE,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"drmodels {installed_version('drmodels')}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Inspect, repair, import and keep AWS DeepRacer models."""


for module in (
    check,
    fix,
    imports,
    models,
    migrate,
    policy,
    doctor,
    bill,
    sample,
    jobs,
    status,
    worker,
    account,
    serve,
):
    module.register(app)
