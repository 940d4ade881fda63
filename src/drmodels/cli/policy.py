"""`drmodels policy trust|role|bucket`: the spec's permission documents, as JSON on stdout (nothing else)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from drmodels.cli.options import settings
from drmodels.errors import InvalidRequest
from drmodels.rules import permissions

policy_app = typer.Typer(
    help="Print the IAM and bucket policies the spec asks for (valid JSON on stdout).", no_args_is_help=True
)

Principal = Annotated[
    str | None,
    typer.Option(
        "--principal",
        help="Service principal or ARN that assumes roles (default DRMODELS_SERVICE_PRINCIPAL).",
    ),
]


def _print(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, indent=2))


def _principal(given: str | None) -> str:
    return given or settings().service_principal


def trust(principal: Principal = None) -> None:
    """The trust policy a role needs so the service may assume it."""
    _print(permissions.trust_policy(_principal(principal)))


def role(
    bucket: Annotated[str | None, typer.Argument(help="The model's bucket (the import policy).")] = None,
    migration: Annotated[
        bool, typer.Option("--migration", help="The migration policy: every *deepracer* bucket.")
    ] = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="With --migration: also s3:DeleteObject, to remove sources.")
    ] = False,
) -> None:
    """The role's permission policy: the spec's import policy for BUCKET, or its migration policy."""
    if migration == (bucket is not None):
        raise InvalidRequest("bucket", "give BUCKET (the import policy) or --migration, one of them")
    if cleanup and not migration:
        raise InvalidRequest("cleanup", "--cleanup goes with --migration")
    _print(permissions.migration_policy(cleanup) if migration else permissions.import_policy(bucket or ""))


def bucket(
    name: Annotated[str, typer.Argument(help="The bucket whose policy to restore.")],
    principal: Principal = None,
) -> None:
    """The bucket policy that restores the service's access to BUCKET ("Restore bucket permissions")."""
    _print(permissions.bucket_policy(name, _principal(principal)))


def register(app: typer.Typer) -> None:
    policy_app.command("trust")(trust)
    policy_app.command("role")(role)
    policy_app.command("bucket")(bucket)
    app.add_typer(policy_app, name="policy")
