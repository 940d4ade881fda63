"""IAM policy evaluation as AWS documents it, for the access doctor: is this request allowed, and by what?

No maintained Python library answers "is action A on resource R allowed for principal P with context C"
from policy documents (docs/migration.md says which were looked at), so this is ours, tested against a
table of cases (tests/unit/rules/test_policy_eval.py). It follows AWS's documented logic:
- an explicit Deny in any policy wins; else an Allow in the identity policies or in the resource policy
  (same account; across accounts both must allow); else the request is implicitly denied;
- Action / NotAction (case-insensitive), Resource / NotResource (ARN segments, `*` and `?`),
  Principal / NotPrincipal (`*`, account ids, `:root`, role ARNs matching their sessions, services);
- conditions: String*, Numeric*, Date*, Bool, IpAddress / NotIpAddress, Arn*, Null, the `...IfExists`
  suffix and the `ForAnyValue:` / `ForAllValues:` qualifiers; an absent key fails a positive operator and
  passes a negated one. An operator we do not know makes its statement not apply, and is reported.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from drmodels.errors import DrmodelsError

ContextValue = str | list[str]


class Decision(StrEnum):
    ALLOW = "ALLOW"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@dataclass(frozen=True)
class Caller:
    """Who sends the request: its ARN (an assumed-role session, a user, a role) and account."""

    arn: str
    role_arn: str | None = None
    """The role behind an assumed-role session: a policy naming the role applies to its sessions."""
    service: str | None = None

    @property
    def account(self) -> str:
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    caller: Caller | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    name: str
    document: Mapping[str, Any]

    def statements(self) -> list[Mapping[str, Any]]:
        raw = self.document.get("Statement", [])
        return [raw] if isinstance(raw, Mapping) else [s for s in raw if isinstance(s, Mapping)]


@dataclass(frozen=True)
class Match:
    policy: str
    index: int
    statement: Mapping[str, Any]

    @property
    def label(self) -> str:
        sid = self.statement.get("Sid")
        return f"{self.policy} statement {sid!r}" if sid else f"{self.policy} statement #{self.index + 1}"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    by: Match | None = None
    """The statement that decided (the Deny, or the first Allow); None for an implicit deny."""
    unsupported: tuple[str, ...] = ()
    """Condition operators met that this evaluator does not know (their statements did not apply)."""

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


@lru_cache(maxsize=512)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_glob(pattern, ignore_case).match(value))


def action_matches(pattern: str, action: str) -> bool:
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN wildcards match within each of the six colon-separated segments (the last may hold colons)."""
    if pattern == "*":
        return True
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) and all(glob_match(w, h) for w, h in zip(want, have, strict=True))


def _principal_matches(spec: Any, caller: Caller | None) -> bool:
    if spec == "*":
        return True
    if caller is None or not isinstance(spec, Mapping):
        return False
    for kind, raw in spec.items():
        for value in _values(raw):
            if kind == "Service" and caller.service == value:
                return True
            if kind != "AWS":
                continue
            if value == "*" or value in (caller.arn, caller.role_arn):
                return True
            if value in (caller.account, f"arn:aws:iam::{caller.account}:root"):
                return True
    return False


class UnsupportedCondition(DrmodelsError):
    """A condition operator this evaluator does not know."""


_STRING: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: glob_match(p, v),
    "ArnEquals": lambda p, v: arn_matches(p, v),
    "ArnLike": lambda p, v: arn_matches(p, v),
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _date(text: str) -> float:
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _positive(op: str, policy_value: str, value: str) -> bool:
    """One policy value against one request value, for a non-negated operator."""
    if op in _STRING:
        return _STRING[op](policy_value, value)
    if op == "IpAddress":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(policy_value, strict=False)
        except ValueError:
            return False
    for family, parse in (("Numeric", float), ("Date", _date)):
        if op.startswith(family) and op[len(family) :] in _COMPARE:
            try:
                return bool(_COMPARE[op[len(family) :]](parse(value), parse(policy_value)))
            except ValueError:
                return False
    raise UnsupportedCondition(op)


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    lowered = key.lower()
    for k, v in context.items():
        if k.lower() == lowered:
            return [v] if isinstance(v, str) else list(v)
    return None


def _condition_holds(operator: str, key: str, raw: Any, context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    wanted = _values(raw)
    present = _lookup(context, key)
    if op == "Null":
        return (present is None) == (wanted[:1] == ["true"])
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)

    def one(value: str) -> bool:
        hit = any(_positive(base, w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in present or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in present or [])
    if qualifier:
        raise UnsupportedCondition(operator)
    if present is None:
        return if_exists or negated
    return any(one(v) for v in present)


def _conditions_hold(conditions: Any, context: Mapping[str, ContextValue]) -> bool:
    if not isinstance(conditions, Mapping):
        return True
    return all(
        _condition_holds(operator, key, raw, context)
        for operator, block in conditions.items()
        if isinstance(block, Mapping)
        for key, raw in block.items()
    )


def statement_applies(statement: Mapping[str, Any], request: Request, resource_policy: bool) -> bool:
    """Whether the statement covers the request (its effect aside); raises UnsupportedCondition."""
    if "NotAction" in statement:
        if any(action_matches(p, request.action) for p in _values(statement["NotAction"])):
            return False
    elif not any(action_matches(p, request.action) for p in _values(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(arn_matches(p, request.resource) for p in _values(statement["NotResource"])):
            return False
    elif ("Resource" in statement or not resource_policy) and not any(
        arn_matches(p, request.resource) for p in _values(statement.get("Resource"))
    ):
        return False
    if resource_policy:
        if "NotPrincipal" in statement:
            if _principal_matches(statement["NotPrincipal"], request.caller):
                return False
        elif not _principal_matches(statement.get("Principal"), request.caller):
            return False
    return _conditions_hold(statement.get("Condition"), request.context)


def _matches(
    policies: Sequence[Policy], request: Request, resource_policy: bool
) -> tuple[list[Match], set[str]]:
    found, unsupported = [], set()
    for policy in policies:
        for i, statement in enumerate(policy.statements()):
            try:
                if statement_applies(statement, request, resource_policy):
                    found.append(Match(policy.name, i, statement))
            except UnsupportedCondition as exc:
                unsupported.add(str(exc))
    return found, unsupported


def evaluate(
    request: Request,
    identity: Sequence[Policy],
    resource: Sequence[Policy] = (),
    *,
    same_account: bool = True,
) -> Verdict:
    """AWS's decision for one request from the caller's identity policies and the resource's policy."""
    mine, odd_mine = _matches(identity, request, resource_policy=False)
    theirs, odd_theirs = _matches(resource, request, resource_policy=True)
    odd = tuple(sorted(odd_mine | odd_theirs))
    for match in mine + theirs:
        if str(match.statement.get("Effect", "")).lower() == "deny":
            return Verdict(Decision.EXPLICIT_DENY, match, odd)
    allow_mine = [m for m in mine if str(m.statement.get("Effect", "")).lower() == "allow"]
    allow_theirs = [m for m in theirs if str(m.statement.get("Effect", "")).lower() == "allow"]
    if same_account and (allow_mine or allow_theirs):
        return Verdict(Decision.ALLOW, (allow_mine + allow_theirs)[0], odd)
    if not same_account and allow_mine and allow_theirs:
        return Verdict(Decision.ALLOW, allow_mine[0], odd)
    return Verdict(Decision.IMPLICIT_DENY, None, odd)
