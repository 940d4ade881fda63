"""The spec's "Update" for permission errors: restore the bucket policy, reset the role, retry the model.

ACCESS_DENIED_TO_BUCKET ("Restore bucket permissions"): the bucket policy is rewritten through the role
(the import policy allows s3:PutBucketPolicy): the statements that deny the role an import's reads go,
the spec's statement for the service principal is added, every other statement stays.
ACCOUNT_RESOURCE_DOES_NOT_EXIST ("Reset permissions"), or a role policy that no longer allows the reads:
the role is recreated (or its trust reset) with the spec's trust policy and the import policy (the
migration policy for a migrated model), with the operator's IAM credentials.
"""

from __future__ import annotations

from typing import Any

from drmodels.errors import Conflict
from drmodels.rules import layout
from drmodels.rules.migration import split_source
from drmodels.rules.permissions import (
    BUCKET_POLICY_SID,
    IMPORT_POLICY_ACTIONS,
    VERSION,
    bucket_policy_statement,
    import_policy,
    migration_policy,
    trust_policy,
)
from drmodels.rules.policy_eval import Caller, Request, UnsupportedCondition, statement_applies
from drmodels.rules.problems import Code
from drmodels.service.access import AccessReport, diagnose
from drmodels.service.deps import Deps
from drmodels.service.models import ModelService

ROLE_POLICY_NAME = "drmodels-model-access"
REPAIRABLE = (Code.ACCESS_DENIED_TO_BUCKET, Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST)


def _denies_us(statement: dict[str, Any], bucket: str, caller: Caller | None) -> bool:
    if str(statement.get("Effect", "")).lower() != "deny":
        return False
    for action in IMPORT_POLICY_ACTIONS:
        for resource in (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{layout.METADATA}"):
            try:
                if statement_applies(statement, Request(action, resource, caller), resource_policy=True):
                    return True
            except UnsupportedCondition:
                return True  # a condition we cannot evaluate: do not keep a Deny we cannot judge
    return False


def restore_bucket_policy(deps: Deps, role_arn: str | None, bucket: str, caller: Caller | None) -> str:
    s3 = deps.need_aws().s3(role_arn)
    current = s3.bucket_policy(bucket) or {}
    raw = current.get("Statement", [])
    statements = [raw] if isinstance(raw, dict) else list(raw) if isinstance(raw, list) else []
    dropped = [st for st in statements if _denies_us(st, bucket, caller)]
    kept = [st for st in statements if st not in dropped and st.get("Sid") != BUCKET_POLICY_SID]
    policy = {
        "Version": VERSION,
        "Statement": [*kept, bucket_policy_statement(bucket, deps.service_principal)],
    }
    s3.put_bucket_policy(bucket, policy)
    return (
        f"restored the bucket policy of {bucket}: removed {len(dropped)} statement(s) denying the import's "
        f"reads, kept {len(kept)}, added the spec's statement for {deps.service_principal}"
    )


def reset_role(deps: Deps, role_arn: str, bucket: str, migrated: bool) -> str:
    name = role_arn.rpartition("/")[2]
    policy = migration_policy() if migrated else import_policy(bucket)
    created = (
        deps.need_aws().iam().put_role(name, trust_policy(deps.service_principal), ROLE_POLICY_NAME, policy)
    )
    what = "recreated role" if created else "reset the trust policy of role"
    which = "migration" if migrated else "import"
    return f"{what} {name} (trusting {deps.service_principal}) with the {which} policy"


def repair(deps: Deps, report: AccessReport, *, migrated: bool = False) -> list[str]:
    """Apply what the doctor's failed checks call for; returns what was done."""
    bucket, _ = split_source(report.location)
    failed = report.failed
    causes = {c.cause for c in failed}
    done = []
    if (report.role_arn and causes & {"missing-role", "trust", "identity-policy"}) or any(
        c.code == Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST for c in failed
    ):
        if not report.role_arn:
            raise Conflict("no role to reset: the location is read with drmodels' own credentials")
        done.append(reset_role(deps, report.role_arn, bucket, migrated))
    denied = any(c.code == Code.ACCESS_DENIED_TO_BUCKET for c in failed)
    if "bucket-policy" in causes or (denied and not causes - {""}):
        role = report.role_arn
        caller = (
            Caller(f"arn:aws:sts::{role.split(':')[4]}:assumed-role/{role.rpartition('/')[2]}/drmodels", role)
            if role
            else None
        )
        done.append(restore_bucket_policy(deps, role, bucket, caller))
    return done


def retry_with_reset(service: ModelService, name: str) -> tuple[int, list[str]]:
    """`models retry NAME --reset-permissions`: repair what the model's error calls for, then retry it."""
    model = service.get(name)
    if model.error_code not in REPAIRABLE:
        raise Conflict(
            f"resetting permissions repairs {' and '.join(REPAIRABLE)} only; model {name!r} "
            f"{'failed with ' + model.error_code if model.error_code else 'has no error'}"
        )
    source = model.import_src_location or ""
    if not source.startswith("s3://"):
        raise Conflict(f"model {name!r} was imported from {source}: only S3 permissions can be reset")
    report = diagnose(service.deps, source, model.role_arn)
    done = repair(service.deps, report, migrated=model.was_migrated) if not report.ok else []
    return service.retry(name), done
