"""botocore errors mapped to the spec's codes, with a message naming bucket, key and refused action.

The one mapping for every S3 and STS call drmodels makes on a user's behalf (sources, copies).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
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

from drmodels.adapters.ports import SourceError
from drmodels.rules.permissions import IMPORT_POLICY_ACTIONS, TRUST_POLICY
from drmodels.rules.problems import Code

SESSION_NAME = "drmodels"
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
        if key is None:
            resource = f"arn:aws:s3:::{bucket}"
        what = f"reading {where}" if action == "s3:GetObject" else f"{action} on {where}"
    return SourceError(
        Code.ACCESS_DENIED_TO_BUCKET,
        f"Access denied {what}: {action} is not allowed for {who} on bucket {bucket!r} "
        f"({operation} was refused).",
        f"Allow {action} on {resource} for {who}, in its IAM policy and in the bucket policy. The "
        f"minimal import policy allows s3:ListAllMyBuckets on * and {', '.join(IMPORT_POLICY_ACTIONS)} "
        f"on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*.",
        path,
    )
