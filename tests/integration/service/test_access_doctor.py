"""The access doctor and the permission repairs: live calls on SeaweedFS (S3, STS), IAM on moto_server.

moto holds the same roles as SeaweedFS's iam.json (conftest `moto_iam`), so the doctor reads the policies
that SeaweedFS enforces; a repaired role reaches SeaweedFS by a restart with it (SeaweedFS reads roles only
at start), standing in for IAM changes reaching STS on AWS.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from drmodels.registry.statuses import ModelStatus
from drmodels.rules.permissions import BUCKET_POLICY_SID
from drmodels.service.access import diagnose
from drmodels.service.imports.job import run_import
from drmodels.service.repairs import retry_with_reset
from support import servers
from support.deps import make_deps, service
from support.migration_account import MIGRATION_SESSION, deny_policy, good_model, under

pytestmark = pytest.mark.servers


def _model_bucket(s3: Any) -> str:
    bucket = f"doc-deepracer-{uuid.uuid4().hex[:8]}"
    servers.put_objects(s3, bucket, "", under("models/m1/", good_model(extras=False)))
    return bucket


def _failed(report: Any) -> Any:
    assert report.failed and not report.ok
    return report.failed[0]


def test_an_import_that_would_succeed_passes_every_check(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    report = diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1", iam_env.roles.read)
    assert report.ok and report.code is None
    assert [c.action for c in report.checks] == [
        "sts:AssumeRole", "s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"
    ]  # fmt: skip
    assert report.checks[-1].resource == f"arn:aws:s3:::{bucket}/models/m1/model/model_metadata.json"


def test_no_list_bucket_is_named_with_the_statement_to_add(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    check = _failed(diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1", iam_env.roles.no_list))
    assert (check.action, check.code, check.cause) == (
        "s3:ListBucket",
        "ACCESS_DENIED_TO_BUCKET",
        "identity-policy",
    )
    assert check.statement == {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    assert "No statement of the role's policies allows it" in check.detail


def test_no_get_object_is_named_with_the_statement_to_add(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    report = diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1/", iam_env.roles.list_only)
    assert [c.action for c in report.failed] == ["s3:GetObject"]
    get = report.failed[0]
    assert not get.ok and get.statement == {
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/models/m1/model/model_metadata.json",
    }  # fmt: skip


def test_a_bucket_policy_denying_the_role_is_named(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    s3_admin.put_bucket_policy(
        Bucket=bucket, Policy=deny_policy(MIGRATION_SESSION, ["s3:GetObject"], [f"arn:aws:s3:::{bucket}/*"])
    )
    check = _failed(diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1", iam_env.roles.migration))
    assert (check.action, check.code, check.cause) == (
        "s3:GetObject",
        "ACCESS_DENIED_TO_BUCKET",
        "bucket-policy",
    )
    assert "bucket policy statement 'NoDeepRacer' denies it explicitly" in check.detail


def test_a_missing_role_is_named(iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path) -> None:
    bucket = _model_bucket(s3_admin)
    report = diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1", iam_env.roles.missing)
    check = _failed(report)
    assert (check.action, check.code, check.cause) == (
        "sts:AssumeRole",
        "ACCOUNT_RESOURCE_DOES_NOT_EXIST",
        "missing-role",
    )
    assert "does not exist" in check.detail and len(report.checks) == 1


def test_a_trust_policy_that_does_not_trust_the_service_is_named(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    check = _failed(diagnose(make_deps(tmp_path), f"s3://{bucket}/models/m1", iam_env.roles.untrusted))
    assert (check.action, check.cause) == ("sts:AssumeRole", "trust")
    assert check.statement == {
        "Effect": "Allow", "Principal": {"AWS": servers.IMPORTER_ARN}, "Action": "sts:AssumeRole"
    }  # fmt: skip


def test_restoring_the_bucket_policy_turns_access_denied_into_ready(
    iam_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = _model_bucket(s3_admin)
    keep = {"Sid": "KeepMe", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::000000000000:user/mallory"},
            "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}/*"]}  # fmt: skip
    policy = json.loads(deny_policy(MIGRATION_SESSION, ["s3:GetObject", "s3:ListBucket"], [
        f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))  # fmt: skip
    policy["Statement"].append(keep)
    s3_admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    svc = service(tmp_path)
    accepted = svc.accept("denied", f"s3://{bucket}/models/m1/", role_arn=iam_env.roles.migration)
    assert run_import(accepted.job_id, svc.deps) == ModelStatus.IMPORT_ERROR
    assert svc.get("denied").error_code == "ACCESS_DENIED_TO_BUCKET"
    job_id, done = retry_with_reset(svc, "denied")
    assert done and "restored the bucket policy" in done[0]
    assert run_import(job_id, svc.deps) == ModelStatus.READY
    restored = json.loads(s3_admin.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert [st.get("Sid") for st in restored] == ["KeepMe", BUCKET_POLICY_SID]
    assert restored[1]["Principal"] == {"AWS": servers.IMPORTER_ARN}


def test_resetting_a_missing_role_turns_account_resource_into_ready(
    moto_iam: servers.Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"DrmGone{uuid.uuid4().hex[:6]}"
    role = servers.role_arn(name)
    files = under("models/m1/", good_model(extras=False))
    with servers.seaweed() as first:
        for key, value in {**first.env(first.importer), "AWS_ENDPOINT_URL_IAM": moto_iam.endpoint,
                           "DRMODELS_SERVICE_PRINCIPAL": servers.IMPORTER_ARN}.items():  # fmt: skip
            monkeypatch.setenv(key, value)
        bucket = f"doc-deepracer-{uuid.uuid4().hex[:8]}"
        servers.put_objects(servers.s3_client(first), bucket, "", files)
        svc = service(tmp_path)
        accepted = svc.accept("gone", f"s3://{bucket}/models/m1/", role_arn=role)
        assert run_import(accepted.job_id, svc.deps) == ModelStatus.IMPORT_ERROR
        assert svc.get("gone").error_code == "ACCOUNT_RESOURCE_DOES_NOT_EXIST"
        job_id, done = retry_with_reset(svc, "gone")
        assert done == [f"recreated role {name} (trusting {servers.IMPORTER_ARN}) with the import policy"]
    trust, statements = servers.role_from_iam(moto_iam, name)
    assert trust["Statement"][0]["Principal"] == {"AWS": servers.IMPORTER_ARN}
    # SeaweedFS keeps the roles of its first start in its filer: the same bucket on a new one with the role
    with servers.seaweed(extra_roles={name: (trust, statements)}) as second:
        servers.put_objects(servers.s3_client(second), bucket, "", files)
        monkeypatch.setenv("AWS_ENDPOINT_URL", second.endpoint)
        assert run_import(job_id, svc.deps) == ModelStatus.READY


def test_reset_permissions_fixes_the_trust_and_the_role_policy_in_iam(
    iam_env: servers.Seaweed, moto_iam: servers.Moto, s3_admin: Any, tmp_path: Path
) -> None:
    """The untrusted role and the role without s3:ListBucket get the spec's trust and import policy."""
    from drmodels.service.repairs import ROLE_POLICY_NAME, repair

    bucket = _model_bucket(s3_admin)
    deps = make_deps(tmp_path)
    iam = servers.iam_client(moto_iam)
    for role, cause in ((iam_env.roles.untrusted, "trust"), (iam_env.roles.no_list, "identity-policy")):
        name = role.rpartition("/")[2]
        original = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        try:
            report = diagnose(deps, f"s3://{bucket}/models/m1", role)
            assert report.failed[0].cause == cause
            done = f"reset the trust policy of role {name} (trusting {servers.IMPORTER_ARN})"
            assert repair(deps, report) == [f"{done} with the import policy"]
            trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
            assert trust["Statement"][0]["Principal"] == {"AWS": servers.IMPORTER_ARN}
            policy = iam.get_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME)["PolicyDocument"]
            assert "s3:ListBucket" in policy["Statement"][1]["Action"]
            assert policy["Statement"][1]["Resource"] == [
                f"arn:aws:s3:::{bucket}",
                f"arn:aws:s3:::{bucket}/*",
            ]
        finally:  # moto's roles are shared by the session: put them back as iam.json has them
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(original))
            iam.delete_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME)
