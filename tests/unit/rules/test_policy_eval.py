# ruff: noqa: E501  (the table of cases keeps one case per line or two)
"""The policy evaluator against a table of cases whose answers follow AWS's documented evaluation logic
(IAM User Guide: "Policy evaluation logic", "Condition operators", "Conditions with multiple context keys
or values", "AWS JSON policy elements: Principal")."""

from __future__ import annotations

from typing import Any

import pytest

from drmodels.rules.permissions import import_policy, migration_policy, trust_policy
from drmodels.rules.policy_eval import Caller, Decision, Policy, Request, evaluate

ROLE = "arn:aws:iam::111122223333:role/DeepRacerImport"
SESSION = Caller("arn:aws:sts::111122223333:assumed-role/DeepRacerImport/drmodels", ROLE)
OTHER = Caller("arn:aws:iam::444455556666:user/mallory")
BUCKET = "arn:aws:s3:::my-deepracer-models"
OBJECT = BUCKET + "/models/m1/model/model_metadata.json"
A, D, N = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def st(effect: str = "Allow", **fields: Any) -> dict[str, Any]:
    return {"Effect": effect, **fields}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


IDENTITY_CASES = [
    # (name, identity statements, action, resource, context, decision)
    ("no statement: implicit deny", [], "s3:GetObject", OBJECT, {}, N),
    ("exact allow", [st(Action="s3:GetObject", Resource=OBJECT)], "s3:GetObject", OBJECT, {}, A),
    ("action is case-insensitive", [st(Action="S3:getobject", Resource="*")], "s3:GetObject", OBJECT, {}, A),
    ("action wildcard", [st(Action="s3:Get*", Resource="*")], "s3:GetObject", OBJECT, {}, A),
    ("action ? wildcard", [st(Action="s3:GetObjec?", Resource="*")], "s3:GetObject", OBJECT, {}, A),
    ("other action", [st(Action="s3:PutObject", Resource="*")], "s3:GetObject", OBJECT, {}, N),
    ("service wildcard", [st(Action="s3:*", Resource="*")], "s3:ListBucket", BUCKET, {}, A),
    ("resource is case-sensitive", [st(Action="s3:*", Resource=BUCKET.upper())], "s3:ListBucket", BUCKET, {}, N),
    ("bucket arn does not cover objects", [st(Action="s3:*", Resource=BUCKET)], "s3:GetObject", OBJECT, {}, N),
    ("bucket/* covers objects", [st(Action="s3:*", Resource=BUCKET + "/*")], "s3:GetObject", OBJECT, {}, A),
    ("*deepracer* bucket", [st(Action="s3:ListBucket", Resource="arn:aws:s3:::*deepracer*")],
     "s3:ListBucket", BUCKET, {}, A),
    ("*deepracer* misses others", [st(Action="s3:ListBucket", Resource="arn:aws:s3:::*deepracer*")],
     "s3:ListBucket", "arn:aws:s3:::holiday-photos", {}, N),
    ("wildcard stays in its ARN segment", [st(Action="*", Resource="arn:aws:*:::bucket")],
     "s3:ListBucket", "arn:aws:s3:us-east-1::bucket", {}, N),
    ("explicit deny wins over allow", [st(Action="s3:*", Resource="*"), st("Deny", Action="s3:GetObject",
     Resource=BUCKET + "/models/*")], "s3:GetObject", OBJECT, {}, D),
    ("deny elsewhere does not apply", [st(Action="s3:*", Resource="*"), st("Deny", Action="s3:GetObject",
     Resource="arn:aws:s3:::other/*")], "s3:GetObject", OBJECT, {}, A),
    ("NotAction allow", [st(NotAction="s3:Delete*", Resource="*")], "s3:GetObject", OBJECT, {}, A),
    ("NotAction excludes", [st(NotAction="s3:Get*", Resource="*")], "s3:GetObject", OBJECT, {}, N),
    ("NotAction deny", [st(Action="*", Resource="*"), st("Deny", NotAction="s3:List*", Resource="*")],
     "s3:GetObject", OBJECT, {}, D),
    ("NotResource allow", [st(Action="s3:*", NotResource="arn:aws:s3:::secret/*")], "s3:GetObject", OBJECT, {}, A),
    ("NotResource excludes", [st(Action="s3:*", NotResource=BUCKET + "/*")], "s3:GetObject", OBJECT, {}, N),
    ("StringEquals holds", [st(Action="s3:ListBucket", Resource=BUCKET,
     Condition={"StringEquals": {"s3:prefix": "models/m1/"}})], "s3:ListBucket", BUCKET,
     {"s3:prefix": "models/m1/"}, A),
    ("StringEquals fails", [st(Action="s3:ListBucket", Resource=BUCKET,
     Condition={"StringEquals": {"s3:prefix": "other/"}})], "s3:ListBucket", BUCKET, {"s3:prefix": "models/"}, N),
    ("absent key fails a positive operator", [st(Action="s3:*", Resource="*",
     Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})], "s3:GetObject", OBJECT, {}, N),
    ("absent key passes a negated operator", [st(Action="s3:*", Resource="*"), st("Deny", Action="s3:*",
     Resource="*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}})], "s3:GetObject", OBJECT, {}, D),
    ("IfExists passes when absent", [st(Action="s3:*", Resource="*",
     Condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})], "s3:GetObject", OBJECT, {}, A),
    ("IfExists checks when present", [st(Action="s3:*", Resource="*",
     Condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})], "s3:GetObject", OBJECT,
     {"aws:SourceVpc": "vpc-2"}, N),
    ("values are ORed", [st(Action="s3:*", Resource="*", Condition={"StringLike": {"s3:prefix": ["a/*", "m*"]}})],
     "s3:ListBucket", BUCKET, {"s3:prefix": "models/"}, A),
    ("negated values are NORed", [st(Action="s3:*", Resource="*", Condition={"StringNotLike":
     {"s3:prefix": ["a/*", "m*"]}})], "s3:ListBucket", BUCKET, {"s3:prefix": "models/"}, N),
    ("keys are ANDed", [st(Action="s3:*", Resource="*", Condition={"StringEquals": {"k1": "a", "k2": "b"}})],
     "s3:GetObject", OBJECT, {"k1": "a", "k2": "x"}, N),
    ("condition keys are case-insensitive", [st(Action="s3:*", Resource="*",
     Condition={"StringEquals": {"AWS:SourceVpc": "vpc-1"}})], "s3:GetObject", OBJECT, {"aws:sourcevpc": "vpc-1"}, A),
    ("Bool", [st("Deny", Action="s3:*", Resource="*", Condition={"Bool": {"aws:SecureTransport": False}}),
     st(Action="s3:*", Resource="*")], "s3:GetObject", OBJECT, {"aws:SecureTransport": "false"}, D),
    ("Bool over TLS", [st("Deny", Action="s3:*", Resource="*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
     st(Action="s3:*", Resource="*")], "s3:GetObject", OBJECT, {"aws:SecureTransport": "true"}, A),
    ("IpAddress in range", [st(Action="s3:*", Resource="*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     "s3:GetObject", OBJECT, {"aws:SourceIp": "10.1.2.3"}, A),
    ("NotIpAddress", [st(Action="s3:*", Resource="*"), st("Deny", Action="s3:*", Resource="*",
     Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})], "s3:GetObject", OBJECT,
     {"aws:SourceIp": "192.0.2.1"}, D),
    ("NumericLessThan", [st(Action="s3:*", Resource="*", Condition={"NumericLessThan": {"s3:max-keys": "10"}})],
     "s3:ListBucket", BUCKET, {"s3:max-keys": "5"}, A),
    ("DateLessThan past", [st(Action="s3:*", Resource="*",
     Condition={"DateLessThan": {"aws:CurrentTime": "2020-08-10T00:00:00Z"}})], "s3:GetObject", OBJECT,
     {"aws:CurrentTime": "2020-09-01T00:00:00Z"}, N),
    ("ArnLike", [st(Action="s3:*", Resource="*", Condition={"ArnLike": {"aws:PrincipalArn":
     "arn:aws:iam::111122223333:role/Deep*"}})], "s3:GetObject", OBJECT, {"aws:PrincipalArn": ROLE}, A),
    ("Null true needs the key absent", [st(Action="s3:*", Resource="*", Condition={"Null": {"aws:TokenIssueTime":
     "true"}})], "s3:GetObject", OBJECT, {"aws:TokenIssueTime": "x"}, N),
    ("ForAnyValue", [st(Action="s3:*", Resource="*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys":
     ["team"]}})], "s3:GetObject", OBJECT, {"aws:TagKeys": ["env", "team"]}, A),
    ("ForAllValues rejects an extra value", [st(Action="s3:*", Resource="*", Condition={
     "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})], "s3:GetObject", OBJECT,
     {"aws:TagKeys": ["env", "team"]}, N),
    ("ForAllValues with the key absent holds", [st(Action="s3:*", Resource="*", Condition={
     "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})], "s3:GetObject", OBJECT, {}, A),
    ("unknown operator: the statement does not apply", [st(Action="s3:*", Resource="*",
     Condition={"StringSoundsLike": {"k": "v"}})], "s3:GetObject", OBJECT, {"k": "v"}, N),
]  # fmt: skip


@pytest.mark.parametrize(
    ("statements", "action", "resource", "context", "decision"),
    [case[1:] for case in IDENTITY_CASES],
    ids=[case[0] for case in IDENTITY_CASES],
)
def test_identity_policies(
    statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any], decision: Decision
) -> None:
    verdict = evaluate(Request(action, resource, SESSION, context), [Policy("role", doc(*statements))])
    assert verdict.decision is decision


def _bucket(*statements: dict[str, Any]) -> list[Policy]:
    return [Policy("bucket policy", doc(*statements))]


def test_a_bucket_policy_deny_naming_the_session_or_the_role_denies() -> None:
    allow = [Policy("role", import_policy("my-deepracer-models"))]
    for who in (SESSION.arn, ROLE, "111122223333", "arn:aws:iam::111122223333:root", "*"):
        deny = st("Deny", Principal={"AWS": who}, Action="s3:GetObject", Resource=BUCKET + "/*", Sid="NoRole")
        verdict = evaluate(Request("s3:GetObject", OBJECT, SESSION), allow, _bucket(deny))
        assert verdict.decision is D, who
        assert verdict.by is not None and verdict.by.label == "bucket policy statement 'NoRole'"


def test_a_bucket_policy_deny_for_someone_else_does_not_apply() -> None:
    allow = [Policy("role", import_policy("my-deepracer-models"))]
    deny = st("Deny", Principal={"AWS": OTHER.arn}, Action="s3:*", Resource=BUCKET + "/*")
    assert evaluate(Request("s3:GetObject", OBJECT, SESSION), allow, _bucket(deny)).allowed


def test_not_principal_denies_everyone_else() -> None:
    deny = st("Deny", NotPrincipal={"AWS": ROLE}, Action="s3:*", Resource=BUCKET + "/*")
    allow = [Policy("role", doc(st(Action="s3:*", Resource="*")))]
    assert evaluate(Request("s3:GetObject", OBJECT, SESSION), allow, _bucket(deny)).allowed
    assert evaluate(Request("s3:GetObject", OBJECT, OTHER), allow, _bucket(deny)).decision is D


def test_same_account_either_policy_allows_cross_account_needs_both() -> None:
    grant = st(Principal={"AWS": OTHER.arn}, Action="s3:GetObject", Resource=BUCKET + "/*")
    assert evaluate(Request("s3:GetObject", OBJECT, OTHER), [], _bucket(grant)).allowed
    assert not evaluate(
        Request("s3:GetObject", OBJECT, OTHER), [], _bucket(grant), same_account=False
    ).allowed
    mine = [Policy("user", doc(st(Action="s3:GetObject", Resource="*")))]
    assert evaluate(Request("s3:GetObject", OBJECT, OTHER), mine, _bucket(grant), same_account=False).allowed


def test_the_spec_policies_allow_what_an_import_and_a_migration_need() -> None:
    imp = [Policy("import", import_policy("my-deepracer-models"))]
    mig = [Policy("migration", migration_policy())]
    for action, resource in (
        ("s3:ListBucket", BUCKET),
        ("s3:GetObject", OBJECT),
        ("s3:PutBucketPolicy", BUCKET),
    ):
        assert evaluate(Request(action, resource, SESSION), imp).allowed
        assert evaluate(Request(action, resource, SESSION), mig).allowed
    assert evaluate(Request("s3:ListAllMyBuckets", "*", SESSION), mig).allowed
    assert not evaluate(Request("s3:GetObject", "arn:aws:s3:::holiday-photos/a.jpg", SESSION), mig).allowed
    assert not evaluate(Request("s3:DeleteObject", OBJECT, SESSION), mig).allowed
    assert evaluate(
        Request("s3:DeleteObject", OBJECT, SESSION), [Policy("m", migration_policy(True))]
    ).allowed


def test_trust_policy_names_who_may_assume_the_role() -> None:
    service = Caller("deepracer.amazonaws.com", service="deepracer.amazonaws.com")
    spec = [Policy("trust", trust_policy())]
    assert evaluate(Request("sts:AssumeRole", ROLE, service), [], spec).allowed
    assert not evaluate(Request("sts:AssumeRole", ROLE, OTHER), [], spec).allowed
    ours = [Policy("trust", trust_policy(OTHER.arn))]
    assert evaluate(Request("sts:AssumeRole", ROLE, OTHER), [], ours).allowed


def test_an_unknown_operator_is_reported() -> None:
    statement = st(Action="s3:*", Resource="*", Condition={"StringSoundsLike": {"k": "v"}})
    verdict = evaluate(Request("s3:GetObject", OBJECT, SESSION, {"k": "v"}), [Policy("role", doc(statement))])
    assert verdict.unsupported == ("StringSoundsLike",)
