"""boto3 S3 clients (optionally through an assumed role) and botocore errors mapped to SourceError.

Shared by the S3 source and the model store. The standard AWS chain is honoured: env vars,
AWS_PROFILE / config files, instance roles; `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3` and
`AWS_ENDPOINT_URL_STS` are read by boto3 itself (one endpoint for S3 and STS, as SeaweedFS serves both).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.session import get_session
from botocore.utils import parse_timestamp

from drmodels.adapters.sources.base import SourceError
from drmodels.rules.problems import Code

SESSION_NAME = "drmodels"
DEFAULT_REGION = "us-east-1"

# The spec's minimal import policy ("Model import permissions") and trust policy, quoted in fixes.
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
TRUST_POLICY = (
    '{"Effect": "Allow", "Principal": {"Service": "deepracer.amazonaws.com"}, "Action": "sts:AssumeRole"}'
)
CREDENTIALS_HOWTO = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), "
    "or AWS_PROFILE naming a profile in ~/.aws/credentials, or run where an instance / task role "
    "provides credentials"
)

_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "TokenRefreshRequired",
        "UnrecognizedClientException",
        "AuthFailure",
        "MissingAuthenticationToken",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled", "AccountProblem", "Forbidden"})
_NO_BUCKET_CODES = frozenset({"NoSuchBucket", "InvalidBucketName"})
_NO_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
_NO_CREDENTIALS = (NoCredentialsError, PartialCredentialsError, ProfileNotFound, CredentialRetrievalError)


def count_requests(client: Any, counter: Counter[str]) -> None:
    """Count every HTTP request (retries included) that `client` sends, by operation name."""

    lock = threading.Lock()

    def _count(event_name: str = "", **_: Any) -> None:
        with lock:  # clients are shared across threads; `+=` on a Counter is not atomic
            counter[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-send", _count)


def _custom_endpoint() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))


def _config(max_pool_connections: int) -> Config:
    s3: dict[str, str] = {"addressing_style": "path"} if _custom_endpoint() else {}
    return Config(
        max_pool_connections=max_pool_connections,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        s3=s3 or None,
    )


def _region(session: boto3.Session) -> str:
    return session.region_name or DEFAULT_REGION


def assumed_role_credentials(
    session: boto3.Session, role_arn: str, counter: Counter[str] | None = None
) -> RefreshableCredentials:
    """AssumeRole now (so a refused role fails here), refreshed before the temporary keys expire."""
    sts = session.client("sts", region_name=_region(session), config=_config(2))
    if counter is not None:
        count_requests(sts, counter)

    def fetch() -> dict[str, str]:
        try:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise source_error(exc, "", action="sts:AssumeRole", role_arn=role_arn) from None
        expiry = creds["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(UTC).isoformat()
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": str(expiry),
        }

    return RefreshableCredentials.create_from_metadata(fetch(), fetch, "sts-assume-role")


class _Fixed(CredentialProvider):  # type: ignore[misc]
    """A provider that hands out credentials obtained elsewhere (the assumed role's)."""

    METHOD = CANONICAL_NAME = "drmodels-assumed-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _timestamp(value: str) -> datetime:
    """ISO 8601 timestamps (every LastModified of a listing) without dateutil: 10x faster."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed: datetime = parse_timestamp(value)  # RFC 1123 headers, epoch seconds
        return parsed


def _session(credentials: RefreshableCredentials | None = None) -> boto3.Session:
    """A fresh session from the default chain (env, config files, roles), or with `credentials` first.

    Listing 1,000 keys spent ~70% of its CPU in botocore's dateutil timestamp parsing; ours is faster.
    """
    bc = get_session()
    bc.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
    if credentials is not None:
        bc.get_component("credential_provider").insert_before("env", _Fixed(credentials))
    return boto3.Session(botocore_session=bc)


def make_s3_client(
    role_arn: str | None = None,
    max_pool_connections: int = 32,
    counter: Counter[str] | None = None,
) -> Any:
    """An S3 client from the default AWS chain, or with `role_arn`'s temporary credentials.

    Raises SourceError (never a botocore exception): a refused role, or no credentials at all, is
    ACCOUNT_RESOURCE_DOES_NOT_EXIST. `counter`, if given, counts every request (AssumeRole included).
    """
    try:
        session = _session()
        if role_arn:
            session = _session(assumed_role_credentials(session, role_arn, counter))
        elif session.get_credentials() is None:
            raise NoCredentialsError()
        client = session.client("s3", region_name=_region(session), config=_config(max_pool_connections))
    except (BotoCoreError, ClientError) as exc:
        raise source_error(exc, "", action="sts:AssumeRole" if role_arn else "", role_arn=role_arn) from None
    if counter is not None:
        count_requests(client, counter)
    return client


def _error_code(exc: ClientError) -> str:
    """The error code, also when the server put <Error> at the root of a query-protocol reply."""
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error") or {}
    return str(
        error.get("Code")
        or response.get("Code")
        or response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown")
    )


def _error_message(exc: ClientError) -> str:
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error") or {}
    return str(error.get("Message") or response.get("Message") or "")


def _principal(role_arn: str | None) -> str:
    return f"role {role_arn}" if role_arn else "your AWS credentials"


def _where(bucket: str, key: str | None) -> str:
    return f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"


def source_error(
    exc: Exception,
    bucket: str,
    key: str | None = None,
    action: str = "s3:ListBucket",
    role_arn: str | None = None,
    path: str = "",
) -> SourceError:
    """Map a botocore error to the spec's code with a message naming bucket, key and refused action.

    `action` is the IAM action the failed request needed (s3:ListBucket, s3:GetObject, sts:AssumeRole);
    `path` is the key as the user sees it (relative to the model's prefix), for the report.
    """
    where = _where(bucket, key)
    who = _principal(role_arn)
    if isinstance(exc, _NO_CREDENTIALS):
        return SourceError(
            Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
            f"No usable AWS credentials were found to reach {where if bucket else 'S3'} ({exc}).",
            f"Give drmodels credentials: {CREDENTIALS_HOWTO}.",
            path,
        )
    if isinstance(exc, NoRegionError):
        return SourceError(
            Code.SERVICE_ERROR,
            f"No AWS region is configured ({exc}).",
            "Set AWS_REGION (for example AWS_REGION=us-east-1).",
            path,
        )
    if isinstance(exc, ParamValidationError):
        if action == "sts:AssumeRole":
            return _role_error(role_arn, f"the role ARN was refused before sending ({exc})")
        return SourceError(
            Code.SRC_BUCKET_DOES_NOT_EXIST,
            f"{where} is not a valid S3 location ({exc}).",
            "Use s3://BUCKET/PREFIX with a valid bucket name (3-63 characters: lower-case letters, "
            "digits, dots and hyphens).",
            path,
        )
    if isinstance(exc, _UNREACHABLE):
        return SourceError(
            Code.SERVICE_ERROR,
            f"Could not reach the {'S3' if bucket else 'STS'} endpoint for "
            f"{where if bucket else 'AssumeRole of ' + str(role_arn)}: {exc}.",
            "Check the network and the endpoint (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 / "
            "AWS_ENDPOINT_URL_STS if you use a non-AWS store), then retry.",
            path,
        )
    if not isinstance(exc, ClientError):
        return SourceError(
            Code.SERVICE_ERROR,
            f"Unexpected error while accessing {where}: {exc}.",
            "Retry; if it persists, check the S3 service and endpoint.",
            path,
        )
    code = _error_code(exc)
    detail = _error_message(exc)
    operation = getattr(exc, "operation_name", "") or action
    if action == "sts:AssumeRole" or operation == "AssumeRole":
        if code in _CREDENTIAL_CODES:
            return _bad_credentials(code, "sts:AssumeRole", role_arn or "the role", path)
        return _role_error(role_arn, f"{code}: {detail}" if detail else code)
    if code in _CREDENTIAL_CODES:
        return _bad_credentials(code, operation, where, path)
    if code in _NO_BUCKET_CODES or (code in _NO_KEY_CODES and action == "s3:ListBucket"):
        return SourceError(
            Code.SRC_BUCKET_DOES_NOT_EXIST,
            f"Bucket {bucket!r} does not exist ({code} on {operation} of {where}).",
            "Check the bucket name in the S3 URL; if the bucket was deleted, upload the model to an "
            "existing bucket and import it from there.",
            path,
        )
    if code in _DENIED_CODES:
        return _denied(bucket, key, action, who, operation, path)
    if code in _NO_KEY_CODES and key is not None:
        return SourceError(
            Code.FILE_DOES_NOT_EXIST,
            f"{where} does not exist ({operation} answered {code}); it may have been deleted after "
            f"the listing.",
            f"Upload {key} again to bucket {bucket!r}, then retry.",
            path,
        )
    if code in {"PreconditionFailed", "412"}:
        return SourceError(
            Code.MODEL_VALIDATION_SERVICE_ERROR,
            f"{where} changed while it was being read ({operation}: {code}).",
            "Do not edit the model's files during the import; retry once the upload is finished.",
            path,
        )
    return SourceError(
        Code.SERVICE_ERROR,
        f"S3 refused {operation} on {where}: {code}{': ' + detail if detail else ''}.",
        "Retry; if it persists, check the S3 service status and the endpoint.",
        path,
    )


def _bad_credentials(code: str, operation: str, where: str, path: str) -> SourceError:
    return SourceError(
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
        f"The AWS credentials were rejected ({code}) on {operation} of {where}.",
        f"Use valid, unexpired credentials: {CREDENTIALS_HOWTO}.",
        path,
    )


def _role_error(role_arn: str | None, detail: str) -> SourceError:
    return SourceError(
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
        f"Could not assume role {role_arn} (sts:AssumeRole, RoleSessionName {SESSION_NAME!r}): {detail}. "
        f"The role does not exist, or its trust policy does not let these credentials assume it.",
        f"Check the role ARN. Its trust policy must allow sts:AssumeRole to the principal drmodels "
        f"runs as (the console's role has {TRUST_POLICY}; add a statement with "
        f'"Principal": {{"AWS": "<that principal ARN>"}}), and its policy must allow '
        f"{', '.join(IMPORT_POLICY_ACTIONS)} on the model's bucket and bucket/*.",
    )


def _denied(bucket: str, key: str | None, action: str, who: str, operation: str, path: str) -> SourceError:
    where = _where(bucket, key)
    if action == "s3:ListBucket":
        resource = f"arn:aws:s3:::{bucket}"
        what = f"listing {where}"
    else:
        resource = f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}/*"
        what = f"reading {where}"
    return SourceError(
        Code.ACCESS_DENIED_TO_BUCKET,
        f"Access denied {what}: {action} is not allowed for {who} on bucket {bucket!r} "
        f"({operation} was refused).",
        f"Allow {action} on {resource} for {who}, in its IAM policy and in the bucket policy. The "
        f"minimal import policy allows s3:ListAllMyBuckets on * and {', '.join(IMPORT_POLICY_ACTIONS)} "
        f"on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*.",
        path,
    )
