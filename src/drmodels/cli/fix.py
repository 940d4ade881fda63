"""`drmodels fix FOLDER`: make every repair a program can make, then check again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from drmodels.bootstrap import source_opener
from drmodels.cli.options import settings
from drmodels.cli.render import print_report
from drmodels.service.check import check_location
from drmodels.service.fix import apply_fixes, plan_fixes


def fix(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="A local model folder (its prefix root).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the changes without writing them.")
    ] = False,
    checkpoint: Annotated[
        str | None,
        typer.Option(help="Checkpoint a written .coach_checkpoint names: best, last or an iteration number."),
    ] = None,
    deep: Annotated[bool, typer.Option("--deep/--no-deep", help="Deep checks in the final verdict.")] = True,
) -> None:
    """Repair a model folder: write the pointer, move misplaced files into place, build model.tar.gz.

    Only adds files; never deletes or overwrites one of yours. Exit 0 when the folder is importable.
    """
    console = Console(soft_wrap=True)
    limits = settings().limits()
    if not folder.is_dir():
        console.print(
            f"[red]✘ {escape(str(folder))} is not a folder.[/] `drmodels fix` repairs local folders; "
            "for an archive or S3 prefix, download or extract it first."
        )
        raise typer.Exit(2)
    changes = plan_fixes(folder, limits, checkpoint)
    if not changes:
        console.print("Nothing to repair automatically.")
    for change in changes:
        console.print(f"{'would ' if dry_run else ''}[green]{escape(change.describe())}[/]", highlight=False)
    if dry_run:
        raise typer.Exit(0)
    apply_fixes(folder, changes)
    console.print()
    report, _ = check_location(str(folder), limits, source_opener(), deep=deep)
    print_report(console, report)
    raise typer.Exit(0 if report.importable else 1)


def register(app: typer.Typer) -> None:
    app.command()(fix)
