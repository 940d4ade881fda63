"""`drmodels bill --account ID --month YYYY-MM [--json|--csv]`: the flat-fee bill of one account."""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from drmodels.cli.console import console as make_console
from drmodels.cli.options import DEFAULT_ACCOUNT, Account, AsJson, DataDir, settings
from drmodels.errors import InvalidRequest

if TYPE_CHECKING:
    from drmodels.rules.pricing import Bill

BAR = 40


def bill(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM (UTC).")],
    account: Account = DEFAULT_ACCOUNT,
    as_json: AsJson = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV lines and a total on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """One entry, two categories: service use (hours) and model storage (GB-months), with a daily chart."""
    from drmodels.bootstrap import build
    from drmodels.service.billing import bill as make_bill

    if as_json and as_csv:
        raise InvalidRequest("--json/--csv", "choose --json or --csv, not both")
    result = make_bill(build(settings(data_dir)), account, month)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    elif as_csv:
        _csv(result)
    else:
        _show(make_console(), result)


def _csv(result: Bill) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["category", "quantity", "unit", "rate", "amount"])
    for line in result.lines:
        out.writerow([line.category, line.quantity, line.unit, line.rate, line.amount])
    out.writerow(["total", "", "", "", result.total])


def _show(console: Console, result: Bill) -> None:
    state = "" if result.complete else " (month still running: so far)"
    table = Table(title=f"DeepRacer models — account {result.account_id}, {result.month}{state}")
    for col in ("Category", "Quantity", "Unit", "Rate (USD)", "Amount (USD)"):
        table.add_column(col, justify="left" if col in ("Category", "Unit") else "right")
    for line in result.lines:
        free = f" (+{line.free_quantity} free)" if line.free_quantity else ""
        table.add_row(
            line.category, f"{line.quantity}{free}", line.unit, f"{line.rate}", f"{line.amount:.2f}"
        )
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{result.total:.2f}[/]")
    console.print(table)
    peak = max((d.gb for d in result.daily), default=0) or 1
    console.print("Model storage per day (GB, average):")
    for d in result.daily:
        width = int(BAR * d.gb / peak)
        console.print(f"  {d.day:%m-%d} {'█' * width:<{BAR}} {d.gb:.3f}" + (" free" if d.free_gb else ""))


def register(app: typer.Typer) -> None:
    app.command("bill")(bill)
