"""`drmodels account create|list|set-password` and `drmodels account keys create|delete`: who may call the
API and sign in to the console.

Secrets are printed once, when made, and never again; the registry keeps them encrypted.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drmodels.cli.options import Account, AsJson, DataDir, settings
from drmodels.rules.requests import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from drmodels.service.accounts import AccountService, NewKey

account_app = typer.Typer(help="API accounts and their access keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Access keys of an account (for SigV4-signed API calls).", no_args_is_help=True)
SHOWN_ONCE = "The secret access key is shown this once; keep it now (it cannot be shown again)."


def _accounts(data_dir: Path | None) -> AccountService:
    from drmodels.bootstrap import accounts, build

    config = settings(data_dir)
    return accounts(config, build(config))


def _password(password: str | None) -> str | None:
    """`-` reads the password from the first line of stdin (keeps it out of the shell history)."""
    if password == "-":
        return sys.stdin.readline().rstrip("\r\n")
    return password


def _print_key(key: NewKey, as_json: bool, extra: dict[str, object]) -> None:
    shown = {"account_id": key.account_id, **extra, **asdict(key)}  # the account, its name, the key pair
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    console = Console()
    for label, value in shown.items():
        console.print(f"{label:>18}: [bold]{escape(str(value))}[/]")
    Console(stderr=True).print(f"[yellow]{SHOWN_ONCE}[/]")


def create_account(
    name: Annotated[str, typer.Option("--name", help="1-64 letters, digits, '.', '_', '-'.")],
    password: Annotated[
        str | None, typer.Option("--password", help="For the web console ('-': read it from stdin).")
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """A new account (a random 12-digit id) and its first access key."""
    info, key = _accounts(data_dir).create(name, _password(password))
    _print_key(key, as_json, {"name": info.name})


def set_password(
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="The web console's password ('-': read it from stdin; asked when left out).",
        ),
    ],
    account: Account = DEFAULT_ACCOUNT,
    data_dir: DataDir = None,
) -> None:
    """Set (or change) the password the account signs in to the web console with."""
    accounts = _accounts(data_dir)
    accounts.set_password(account, _password(password) or "")
    Console().print(f"Password set for account {account}; it signs in at /console/login.")


def list_accounts(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """Every account with its access key ids (never the secrets) and its number of models."""
    infos = _accounts(data_dir).list()
    if as_json:
        rows = [{**asdict(i), "created_at": i.created_at.isoformat() + "Z"} for i in infos]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("Account", "Name", "Access keys", "Models", "Password", "Created"):
        table.add_column(column, no_wrap=column in ("Account", "Access keys", "Created"))
    for i in infos:
        table.add_row(
            i.account_id,
            escape(i.name or ("(embedded default)" if i.account_id == DEFAULT_ACCOUNT else "")),
            "\n".join(i.access_key_ids) or "-",
            str(i.models),
            "yes" if i.has_password else "no",
            i.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)


def create_key(account: Account = DEFAULT_ACCOUNT, as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """A new access key for the account (the embedded default one unless --account)."""
    _print_key(_accounts(data_dir).create_key(account), as_json, {})


def delete_key(
    access_key_id: Annotated[str, typer.Argument(help="The access key id (AKDR...).")],
    data_dir: DataDir = None,
) -> None:
    """Delete an access key: requests signed with it are refused from now on."""
    account = _accounts(data_dir).delete_key(access_key_id)
    Console().print(f"Deleted access key {escape(access_key_id)} of account {account}")


def register(app: typer.Typer) -> None:
    account_app.command("create")(create_account)
    account_app.command("list")(list_accounts)
    account_app.command("set-password")(set_password)
    keys_app.command("create")(create_key)
    keys_app.command("delete")(delete_key)
    account_app.add_typer(keys_app, name="keys")
    app.add_typer(account_app, name="account")
