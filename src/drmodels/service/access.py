"""The access doctor: every permission an import of s3://bucket/prefix needs, checked with real calls.

The calls an import makes, in its order: sts:AssumeRole (the role exists and trusts drmodels),
s3:GetBucketLocation, s3:ListBucket of the prefix, s3:GetObject of a control file; then s3:GetBucketPolicy
where the role may read it. The live answers decide; where IAM lets us read the role (and the bucket
policy is readable) the policies are evaluated too (rules/policy_eval.py), to name the statement that
denies or the one to add. `ok` is true only when an import would get past every check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from drmodels.adapters.ports import AccountS3, RoleDocuments, SourceError
from drmodels.errors import InvalidRequest
from drmodels.rules import layout, requests
from drmodels.rules.migration import split_source
from drmodels.rules.policy_eval import Caller, Policy, Request, Verdict, evaluate
from drmodels.rules.problems import Code
from drmodels.service.deps import Deps

SESSION = "drmodels"
CONTROL_FILES = (layout.METADATA, layout.COACH, layout.CHECKPOINTS_JSON, layout.REWARD)


@dataclass
class Check:
    action: str
    resource: str
    ok: bool
    detail: str = ""
    fix: str = ""
    statement: dict[str, Any] | None = None
    """The statement to add (to the role's policy, or its trust policy) when one is missing."""
    code: str | None = None
    """The spec's code an import would end with, when the check fails."""
    cause: str = ""
    """'trust', 'missing-role', 'identity-policy', 'bucket-policy' or '' (unknown): what a repair fixes."""
    required: bool = True
    """False for what the spec's policy grants but drmodels' import does not call (GetBucketLocation)."""


@dataclass
class AccessReport:
    location: str
    role_arn: str | None
    caller: str | None
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def code(self) -> str | None:
        return next((c.code for c in self.failed), None)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "code": self.code}


def session_arn(role_arn: str) -> str:
    account, name = role_arn.split(":")[4], role_arn.rpartition("/")[2]
    return f"arn:aws:sts::{account}:assumed-role/{name}/{SESSION}"


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _explain(check: Check, verdict: Verdict, docs: RoleDocuments | None, bucket_policy: bool) -> None:
    """Attach what the policies say to a failed live check."""
    if verdict.by is not None and verdict.decision == "EXPLICIT_DENY":
        in_bucket = verdict.by.policy == "bucket policy"
        check.detail += f" {verdict.by.label} denies it explicitly."
        check.cause = "bucket-policy" if in_bucket else "identity-policy"
        check.fix = (
            "Remove that statement from the bucket policy, or restore the spec's bucket policy "
            "(drmodels policy bucket BUCKET; --apply does it)."
            if in_bucket
            else "Remove that Deny statement from the role's policies."
        )
    elif not verdict.allowed and docs is not None:
        check.detail += " No statement of the role's policies allows it."
        check.cause = "identity-policy"
        check.statement = _allow(check.action, check.resource)
        check.fix = f"Add to the role's policy: {check.statement} (or reset the role's permissions: --apply)."
    elif verdict.allowed:
        check.detail += (
            f" The policies read allow it ({verdict.by.label if verdict.by else ''}), yet S3 refused: look"
            " for a service control policy, a permissions boundary, object ownership or ACLs."
        )
    if not bucket_policy:
        check.detail += " The bucket policy could not be read, so it was not evaluated."


def _role_check(report: AccessReport, role_arn: str, docs: RoleDocuments | None, missing: bool) -> Check:
    """Why AssumeRole was refused, from what IAM says of the role (when it could be read)."""
    check = Check("sts:AssumeRole", role_arn, False, code=Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST.value)
    if missing:
        check.detail, check.cause = f"Role {role_arn} does not exist.", "missing-role"
        check.fix = (
            "Create it (drmodels policy trust, drmodels policy role BUCKET), or --apply to recreate it."
        )
        return check
    if docs is not None and report.caller:
        trust = evaluate(
            Request("sts:AssumeRole", role_arn, Caller(report.caller)),
            [],
            [Policy("trust policy", docs.trust)],
        )
        if not trust.allowed:
            check.detail = f"The trust policy of {role_arn} does not let {report.caller} assume it."
            check.cause = "trust"
            check.statement = {
                "Effect": "Allow",
                "Principal": {"AWS": report.caller},
                "Action": "sts:AssumeRole",
            }
            check.fix = f"Add to the role's trust policy: {check.statement} (or --apply to reset it)."
            return check
    check.detail = "AssumeRole was refused."
    return check


def diagnose(deps: Deps, location: str, role_arn: str | None) -> AccessReport:
    """Check, with real calls, every permission an import from `location` needs."""
    requests.check_role_arn(role_arn)
    if not location.startswith("s3://") or not location[5:].strip("/"):
        raise InvalidRequest("location", f"the doctor checks s3://bucket/prefix locations; got {location!r}")
    bucket, prefix = split_source(location)
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    aws = deps.need_aws()
    report = AccessReport(location, role_arn, None)
    try:
        report.caller = aws.caller_arn()
    except SourceError as exc:
        report.notes.append(f"Who drmodels runs as is unknown: {exc.message}")
    docs: RoleDocuments | None = None
    missing = False
    if role_arn:
        try:
            docs = aws.iam().role(role_arn.rpartition("/")[2])
            missing = docs is None
        except SourceError as exc:
            report.notes.append(
                f"The role's policies could not be read from IAM, so they are not evaluated: {exc.message}"
            )
    try:
        s3 = aws.s3(role_arn)
    except SourceError as exc:
        check = _role_check(report, role_arn or "", docs, missing)
        check.detail = f"{check.detail} ({exc.message})".strip()
        report.checks.append(check)
        return report
    if role_arn:
        report.checks.append(Check("sts:AssumeRole", role_arn, True, "assumed"))
    _s3_checks(report, s3, bucket, prefix, role_arn, docs)
    return report


def _s3_checks(
    report: AccessReport,
    s3: AccountS3,
    bucket: str,
    prefix: str,
    role_arn: str | None,
    docs: RoleDocuments | None,
) -> None:
    arn = f"arn:aws:s3:::{bucket}"
    policy_doc: dict[str, Any] | None = None
    policy_read = True
    try:
        policy_doc = s3.bucket_policy(bucket)
    except SourceError as exc:
        policy_read = False
        report.notes.append(f"s3:GetBucketPolicy: {exc.message}")
    identity = [Policy(name, doc) for name, doc in (docs.policies if docs else {}).items()]
    resource = [Policy("bucket policy", policy_doc)] if policy_doc else []
    caller = (
        Caller(session_arn(role_arn), role_arn)
        if role_arn
        else (Caller(report.caller) if report.caller else None)
    )
    keys: list[str] = []

    def live(action: str, resource_arn: str, call: Any, required: bool = True) -> bool:
        check = Check(action, resource_arn, True, required=required)
        try:
            call()
            check.detail = "allowed"
        except SourceError as exc:
            check.ok, check.code, check.detail, check.fix = False, exc.code.value, exc.message, exc.fix
            if exc.code is Code.ACCESS_DENIED_TO_BUCKET and (docs is not None or policy_doc is not None):
                verdict = evaluate(Request(action, resource_arn, caller), identity, resource)
                _explain(check, verdict, docs, policy_read)
        report.checks.append(check)
        return check.ok

    located = live("s3:GetBucketLocation", arn, lambda: s3.location(bucket), required=False)
    if not located and report.checks[-1].code == Code.SRC_BUCKET_DOES_NOT_EXIST:
        return
    listed = live("s3:ListBucket", arn, lambda: keys.extend(o.key for o in s3.listing(bucket, prefix)))
    if listed and not keys:
        report.checks.append(
            Check(
                "s3:ListBucket", f"{arn}/{prefix}", False, f"Nothing is stored under s3://{bucket}/{prefix}.",
                "Check the prefix: it must be the model's folder (holding model/ and ip/).",
                code=Code.FILE_DOES_NOT_EXIST.value,
            )
        )  # fmt: skip
        return
    wanted = [prefix + k for k in CONTROL_FILES]
    key = next((k for k in wanted if k in keys), keys[0] if keys else prefix + layout.METADATA)
    live("s3:GetObject", f"{arn}/{key}", lambda: s3.read_first_byte(bucket, key))
    if policy_read and policy_doc is None:
        report.notes.append(f"Bucket {bucket} has no bucket policy.")
