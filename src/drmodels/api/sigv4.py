"""Signature Version 4 of a received request, verified with botocore's own signer.

botocore computes the expected signature from the request as received (its canonical request, string to
sign and signing key: no canonicalisation of ours), and `hmac.compare_digest` compares it. What botocore
leaves to a server, or does differently on the signing side, is done here:
- the signed headers are exactly those the client listed (botocore's signer leaves `user-agent`,
  `expect` and a few more out of the headers it would sign itself);
- the body is hashed here; an `X-Amz-Content-SHA256` header must equal that hash (botocore would use
  the header instead of the body, so a tampered body would pass);
- the credential scope must name today's date of `X-Amz-Date`, our region and the face's service, and
  `X-Amz-Date` must be within 15 minutes of our clock (a captured request cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from drmodels.errors import Unauthorized

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_FIELDS = re.compile(r"\s*(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)\s*")


class SignatureError(Unauthorized):
    """A request whose signature cannot be accepted; `aws_type` is the AWS error type that says why."""

    aws_type = "InvalidSignatureException"


class MissingAuthentication(SignatureError):
    aws_type = "MissingAuthenticationTokenException"


class IncompleteSignature(SignatureError):
    aws_type = "IncompleteSignatureException"


class UnrecognizedClient(SignatureError):
    aws_type = "UnrecognizedClientException"


@dataclass(frozen=True)
class Received:
    """A request as it reached us: raw path (percent-encoded), raw query, headers (lower-case names)."""

    method: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(request: Received) -> Authorization:
    value = request.header("authorization")
    if not value:
        raise MissingAuthentication(
            "Missing Authentication Token: sign the request with Signature Version 4 "
            "(an access key from `drmodels account create` or `drmodels account keys create`)"
        )
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Authorization header must use {ALGORITHM}, not {algorithm[:40]!r}")
    fields: dict[str, str] = {m.group(1): m.group(2) for m in _FIELDS.finditer(rest)}
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise IncompleteSignature(f"Authorization header requires {', '.join(missing)}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise IncompleteSignature(
            "Credential must be ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request, "
            f"not {fields['Credential'][:120]!r}"
        )
    return Authorization(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
    )


def check_scope(auth: Authorization, request: Received, service: str, region: str, now: datetime) -> str:
    """The X-Amz-Date timestamp, once the scope, the date and the signed headers are acceptable."""
    if auth.service != service:
        raise IncompleteSignature(
            f"Credential should be scoped to correct service: {service!r}, not {auth.service!r}"
        )
    if auth.region != region:
        raise IncompleteSignature(
            f"Credential should be scoped to a valid region: this server's region is {region!r}, "
            f"not {auth.region!r} (set the client's region to {region})"
        )
    for needed in ("host", "x-amz-date"):
        if needed not in auth.signed_headers:
            raise IncompleteSignature(f"SignedHeaders must include {needed!r}")
    if (
        request.header("x-amz-security-token") is not None
        and "x-amz-security-token" not in auth.signed_headers
    ):
        raise IncompleteSignature("SignedHeaders must include 'x-amz-security-token' when it is sent")
    stamp = request.header("x-amz-date") or ""
    try:
        when = datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignature(
            f"X-Amz-Date must be a date like 20261124T120000Z, not {stamp[:40]!r}"
        ) from None
    if stamp[:8] != auth.date:
        raise SignatureError(f"Credential date {auth.date} is not the date of X-Amz-Date {stamp}")
    aware_now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    if abs(aware_now - when) > MAX_SKEW:
        raise SignatureError(
            f"Signature expired: {stamp} is not within 15 minutes of the server's time "
            f"{aware_now.strftime(DATE_FORMAT)}; check the client's clock"
        )
    return stamp


class _ReceivedSigner(SigV4Auth):  # type: ignore[misc]
    """botocore's signer, signing exactly the headers the client listed in SignedHeaders."""

    def __init__(self, signed: tuple[str, ...], credentials: Credentials, service: str, region: str) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or ():
                chosen[name] = value
        return chosen


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query as (name, value) pairs, decoded once as a form ('+' is a space: what botocore's own
    request preparation sends for one); botocore encodes them again its own way."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def expected_signature(request: Received, auth: Authorization, secret: str, stamp: str) -> str:
    body_hash = hashlib.sha256(request.body).hexdigest()
    claimed = request.header("x-amz-content-sha256")
    if claimed is not None and claimed.strip().lower() != body_hash:
        raise SignatureError(
            "X-Amz-Content-SHA256 is not the SHA-256 of the body received "
            "(the body changed on the way, or the client declared an unsigned or streaming payload, "
            "which this server does not take)"
        )
    missing = [name for name in auth.signed_headers if request.header(name) is None]
    if missing:
        raise SignatureError(f"signed header(s) {', '.join(missing)} are not in the request")
    headers = HTTPHeaders()
    for name, value in request.headers:
        if name in auth.signed_headers and name != "x-amz-content-sha256":
            headers[name] = value
    # botocore takes the payload hash from this header when present: the body's as we computed it (or
    # the client's spelling of that same hash), so botocore does not hash the body again
    headers["X-Amz-Content-SHA256"] = claimed.strip() if claimed is not None else body_hash
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{request.header('host')}{request.raw_path}",
        data=request.body,
        headers=headers,
        params=_query_pairs(request.query),
    )
    aws_request.context["timestamp"] = stamp
    signer = _ReceivedSigner(
        auth.signed_headers, Credentials(auth.access_key, secret), auth.service, auth.region
    )
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))


def verify(request: Received, auth: Authorization, secret: str, stamp: str) -> None:
    """Raise SignatureError unless the request carries the signature `secret` gives it."""
    expected = expected_signature(request, auth, secret, stamp)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise SignatureError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
