"""Options several commands share, and the settings they select."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drmodels.config import Settings, load_settings

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
    typer.Option("--account", help="The account (12 digits) whose models, migration or bill this is."),
]
DEFAULT_ACCOUNT = "000000000000"
"""The embedded single-user account (service/models.py's default)."""
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of tables.")]
