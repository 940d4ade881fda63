"""The `drmodels` command: one Typer app, each command group in its own module under cli/."""

from __future__ import annotations

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

app = typer.Typer(
    name="drmodels",
    help="Inspect, repair, import and keep AWS DeepRacer models.",
    no_args_is_help=True,
    add_completion=False,
    cls=AnsweringGroup,
)


@app.callback()
def main() -> None:
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
