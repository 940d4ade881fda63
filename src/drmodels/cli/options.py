"""Options several commands share, and the settings they select."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from drmodels.config import Settings, load_settings
from drmodels.rules.requests import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from drmodels.service.models import ModelService

__all__ = ["DEFAULT_ACCOUNT", "Account", "AsJson", "DataDir", "model_service", "settings"]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Embedded registry and store (default ./drmodels-data or DRMODELS_DATA_DIR).",
    ),
]


ModelName = Annotated[str, typer.Argument(metavar="NAME", help="The model's name.")]


def settings(data_dir: Path | None = None) -> Settings:
    """The settings from the environment, with --data-dir first when given."""
    return load_settings(data_dir=data_dir)


Account = Annotated[
    str,
    typer.Option(
        "--account",
        help=f"The account (12 digits) whose models, migration or bill this is (default {DEFAULT_ACCOUNT}).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of tables.")]


def model_service(config: Settings, account: str = DEFAULT_ACCOUNT) -> ModelService:
    """The account's models; an account other than the default one must exist."""
    from drmodels.bootstrap import accounts, build
    from drmodels.service.models import ModelService

    deps = build(config)
    if account != DEFAULT_ACCOUNT:
        accounts(config, deps).require(account)
    return ModelService(deps, account, config.region)
