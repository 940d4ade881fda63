"""AWS access for migrations, the doctor and the repairs: S3 as a role, IAM and STS as drmodels itself.

IAM calls use the operator's credentials (the default AWS chain; `AWS_ENDPOINT_URL_IAM` for a non-AWS
IAM such as moto_server). Their failures are SourceError ACCOUNT_RESOURCE_DOES_NOT_EXIST naming the
IAM action the operator's credentials lack.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from drmodels.adapters.ports import AccountS3, RoleAdmin, RoleDocuments, SourceError
from drmodels.adapters.s3.account import S3Account
from drmodels.adapters.s3.client import make_client, make_s3_client
from drmodels.rules.problems import Code


def _document(value: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded (the wire) or already decoded (boto3 does it for some)."""
    if isinstance(value, dict):
        return value
    parsed: dict[str, Any] = json.loads(unquote(str(value)))
    return parsed


def _iam_failed(action: str, name: str, exc: Exception) -> SourceError:
    return SourceError(
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
        f"IAM refused {action} for role {name!r}: {exc}.",
        f"Run drmodels with credentials allowed {action} (iam:GetRole, iam:CreateRole, "
        "iam:UpdateAssumeRolePolicy, iam:PutRolePolicy) on that role, or create the role by hand "
        "from `drmodels policy trust` and `drmodels policy role BUCKET`.",
    )


class IamRoles:
    def __init__(self, client: Any) -> None:
        self._iam = client

    def role(self, name: str) -> RoleDocuments | None:
        try:
            role = self._iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            raise _iam_failed("iam:GetRole", name, exc) from None
        except BotoCoreError as exc:
            raise _iam_failed("iam:GetRole", name, exc) from None
        try:
            policies: dict[str, dict[str, Any]] = {}
            for page in self._iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    answer = self._iam.get_role_policy(RoleName=name, PolicyName=policy)
                    policies[policy] = _document(answer["PolicyDocument"])
            for page in self._iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for attached in page["AttachedPolicies"]:
                    arn = attached["PolicyArn"]
                    version = self._iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                    answer = self._iam.get_policy_version(PolicyArn=arn, VersionId=version)
                    policies[attached["PolicyName"]] = _document(answer["PolicyVersion"]["Document"])
        except (ClientError, BotoCoreError) as exc:
            raise _iam_failed("iam:ListRolePolicies / iam:GetRolePolicy", name, exc) from None
        return RoleDocuments(str(role["Arn"]), _document(role["AssumeRolePolicyDocument"]), policies)

    def put_role(self, name: str, trust: dict[str, Any], policy_name: str, policy: dict[str, Any]) -> bool:
        created = False
        try:
            try:
                self._iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
                created = True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
                    raise
                self._iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            self._iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy)
            )
        except (ClientError, BotoCoreError) as exc:
            raise _iam_failed("iam:CreateRole / iam:PutRolePolicy", name, exc) from None
        return created


class BotoAws:
    """The AwsAccess port on boto3."""

    def s3(self, role_arn: str | None) -> AccountS3:
        requests: Counter[str] = Counter()
        return S3Account(make_s3_client(role_arn=role_arn, counter=requests), role_arn, requests)

    def iam(self) -> RoleAdmin:
        return IamRoles(make_client("iam"))

    def caller_arn(self) -> str:
        try:
            return str(make_client("sts").get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(
                Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
                f"sts:GetCallerIdentity failed: {exc}.",
                "Give drmodels valid AWS credentials (environment, profile or instance role).",
            ) from None
