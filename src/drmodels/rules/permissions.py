"""The spec's permission documents: the import and migration policies, the trust policy, the bucket policy.

Each is the spec's JSON, with the bucket and the service principal filled in. The service principal is
`deepracer.amazonaws.com` on AWS; a self-hosted drmodels assumes roles as its own AWS principal (an ARN),
which then takes the principal's place (`{"AWS": ARN}` instead of `{"Service": NAME}`).
"""

from __future__ import annotations

import re
from typing import Any

from drmodels.errors import InvalidRequest

BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
VERSION = "2012-10-17"
SERVICE_PRINCIPAL = "deepracer.amazonaws.com"
MIGRATION_BUCKETS = "*deepracer*"
BUCKET_POLICY_SID = "Stmt1586917903457"
"""The Sid of the spec's bucket policy statement: how a restore finds its own statement again."""

IMPORT_POLICY_ACTIONS = (
    "s3:PutBucketPolicy",
    "s3:GetBucketPolicy",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:GetBucketLocation",
)
BUCKET_POLICY_ACTIONS = ("s3:GetObjectAcl", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl")
CLEANUP_ACTIONS = ("s3:DeleteObject",)
"""Not in the spec's policies: removing the sources after the cutoff needs it on *deepracer*/*."""
TRUST_POLICY = (
    '{"Effect": "Allow", "Principal": {"Service": "deepracer.amazonaws.com"}, "Action": "sts:AssumeRole"}'
)


def principal(name: str) -> dict[str, str]:
    """A policy Principal: an ARN is an AWS principal, anything else a service name."""
    return {"AWS": name} if name.startswith("arn:") else {"Service": name}


def check_bucket(bucket: str) -> str:
    if not BUCKET_NAME.match(bucket):
        raise InvalidRequest(
            "bucket", f"{bucket!r} is not a bucket name (3-63 letters, digits, dots and hyphens)"
        )
    return bucket


def bucket_resources(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def _role_policy(buckets: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
        {"Effect": "Allow", "Action": list(IMPORT_POLICY_ACTIONS), "Resource": bucket_resources(buckets)},
    ]
    if extra:
        statements.append(
            {"Effect": "Allow", "Action": list(extra), "Resource": [f"arn:aws:s3:::{buckets}/*"]}
        )
    return _document(*statements)


def import_policy(bucket: str) -> dict[str, Any]:
    """The spec's "Model import permissions" for one bucket."""
    return _role_policy(check_bucket(bucket))


def migration_policy(cleanup: bool = False) -> dict[str, Any]:
    """The spec's "Model migration permissions" (`*deepracer*` buckets); `cleanup` adds s3:DeleteObject."""
    return _role_policy(MIGRATION_BUCKETS, CLEANUP_ACTIONS if cleanup else ())


def trust_policy(service_principal: str = SERVICE_PRINCIPAL) -> dict[str, Any]:
    """The trust policy the role needs, so the service may assume it."""
    return _document(
        {"Effect": "Allow", "Principal": principal(service_principal), "Action": "sts:AssumeRole"}
    )


def bucket_policy_statement(bucket: str, service_principal: str = SERVICE_PRINCIPAL) -> dict[str, Any]:
    return {
        "Sid": BUCKET_POLICY_SID,
        "Effect": "Allow",
        "Principal": principal(service_principal),
        "Action": list(BUCKET_POLICY_ACTIONS),
        "Resource": bucket_resources(bucket),
    }


def bucket_policy(bucket: str, service_principal: str = SERVICE_PRINCIPAL) -> dict[str, Any]:
    """The spec's "S3 bucket policy" that restores the service's access to the bucket."""
    return _document(bucket_policy_statement(check_bucket(bucket), service_principal))
