"""`drmodels fix FOLDER`: make every repair a program can make, then check again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from drmodels.bootstrap import source_opener
from drmodels.cli.console import console as make_console
from drmodels.cli.options import settings
from drmodels.cli.render import print_report
from drmodels.service.check import check_location
from drmodels.service.fix import FixError, apply_fixes, plan_fixes, preview


def fix(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="A local model folder (its prefix root).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the changes and the verdict they give; write nothing.")
    ] = False,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            metavar="CHOICE",
            help="What a written .coach_checkpoint names: best, last, an iteration (5) or a checkpoint "
            "name (5_Step-3921.ckpt).",
        ),
    ] = None,
    deep: Annotated[bool, typer.Option("--deep/--no-deep", help="Deep checks in the final verdict.")] = True,
) -> None:
    """Repair a model folder: write the pointer, copy misplaced files into place, build model.tar.gz.

    Adds files (and strips a byte order mark); never deletes or overwrites one of yours, and keeps
    only repairs after which the folder checks better. Exit 0 when the folder is (or, with
    --dry-run, would be) importable, 1 when not.
    """
    console = make_console()
    limits = settings().limits()
    if not folder.is_dir():
        raise FixError(
            f"{folder} is not a folder: `drmodels fix` repairs local folders; for an archive or an S3 "
            "prefix, download or extract it first"
        )
    plan = plan_fixes(folder, limits, checkpoint)
    for note in plan.notes:
        console.print(f"[yellow]! {escape(note)}[/]", highlight=False)
    if not plan.changes:
        console.print("Nothing to repair automatically.")
    for change in plan.changes:
        console.print(f"{'would ' if dry_run else ''}[green]{escape(change.describe())}[/]", highlight=False)
    console.print()
    if dry_run:
        report = preview(folder, plan, limits, deep)
        console.print("[bold]With these changes:[/]" if plan.changes else "[bold]As it is:[/]")
    else:
        apply_fixes(folder, plan.changes)
        report, _ = check_location(str(folder), limits, source_opener(), deep=deep)
    print_report(console, report)
    raise typer.Exit(0 if report.importable else 1)


def register(app: typer.Typer) -> None:
    app.command()(fix)
