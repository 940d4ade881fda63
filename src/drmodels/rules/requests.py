"""Request rules: model name, description, role ARN and source (the API's shapes); accounts and passwords."""

from __future__ import annotations

import re

from drmodels.errors import InvalidRequest

NAME = re.compile(r"^[a-zA-Z0-9-]{1,64}$")
ROLE_ARN = re.compile(r"^arn:aws(-iso)?:iam::[0-9]{12}:role/(service-role/)?[a-zA-Z0-9_+=,.\-@]{1,64}$")
ACCOUNT = re.compile(r"^[0-9]{12}$")
DEFAULT_ACCOUNT = "000000000000"
"""The embedded default account: the CLI's, and every model's when no account is named."""
REGION = re.compile(r"^[a-z0-9-]+$")


def check_name(name: str) -> str:
    if not 1 <= len(name) <= 64:
        raise InvalidRequest("name", f"a model name has 1 to 64 characters; {name!r} has {len(name)}")
    if not NAME.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9-]", c)})
        raise InvalidRequest(
            "name",
            f"a model name may only contain letters, digits and '-'; {name!r} contains {' '.join(bad)!r}",
        )
    return name


def check_description(description: str | None) -> str | None:
    if description is None:
        return None
    if not 1 <= len(description) <= 255:
        raise InvalidRequest(
            "description", f"a description has 1 to 255 characters; this one has {len(description)}"
        )
    if "\n" in description or "\r" in description:
        raise InvalidRequest("description", "a description is a single line")
    return description


def check_role_arn(role_arn: str | None) -> str | None:
    if role_arn is None:
        return None
    if not ROLE_ARN.match(role_arn):
        raise InvalidRequest(
            "role_arn", f"{role_arn!r} is not an IAM role ARN like arn:aws:iam::123456789012:role/NAME"
        )
    return role_arn


def check_account(account_id: str) -> str:
    if not ACCOUNT.match(account_id):
        raise InvalidRequest("account", f"an account id has exactly 12 digits; got {account_id!r}")
    return account_id


def check_source_location(location: str) -> str:
    if not location.strip():
        raise InvalidRequest(
            "source", "the source is empty: give an s3://bucket/prefix, a folder or a .tar.gz"
        )
    if location.startswith("s3://") and len(location.removeprefix("s3://").strip("/")) == 0:
        raise InvalidRequest("source", f"{location!r} names no bucket")
    return location


ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


def check_account_name(name: str) -> str:
    if not ACCOUNT_NAME.match(name):
        raise InvalidRequest(
            "name",
            f"an account name has 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit; got {name!r}",
        )
    return name


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidRequest(
            "password",
            f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters; this one has {len(password)}",
        )
    return password
