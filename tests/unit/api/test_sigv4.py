"""The SigV4 verifier against botocore's signing side, property-tested: whatever a botocore signer signs
(any body, path, query and extra headers) verifies; any change to what was signed does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from drmodels.api.sigv4 import (
    Received,
    SignatureError,
    check_scope,
    parse_authorization,
    verify,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "127.0.0.1:8080"

segments = st.text("abcXYZ019-_.~ %+/:@", min_size=1, max_size=12)
query_values = st.text("abc019-_.~ %+=&/?", max_size=10)


def _received(
    method: str, path: str, query: list[tuple[str, str]], body: bytes, extra: dict[str, str]
) -> Received:
    request = AWSRequest(
        method=method,
        url=f"http://{HOST}{path}",
        data=body,
        params=query,
        headers={"Content-Type": "application/json", **extra},
    )
    SigV4Auth(Credentials("AKDRTEST", SECRET), "execute-api", "us-east-1").add_auth(request)
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = [(k.lower(), v) for k, v in prepared.headers.items()] + [("host", HOST)]
    return Received(method, url.path, url.query, headers, prepared.body or b"")


def _check(received: Received, secret: str = SECRET) -> None:
    auth = parse_authorization(received)
    stamp = check_scope(auth, received, "execute-api", "us-east-1", datetime.now(UTC))
    verify(received, auth, secret, stamp)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=st.lists(segments, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    query=st.lists(st.tuples(st.text("abcZ09_-", min_size=1, max_size=6), query_values), max_size=4),
    body=st.binary(max_size=256),
    extra=st.dictionaries(
        st.sampled_from(["X-Amz-Target", "User-Agent", "X-Custom"]), st.text("ab 1:", max_size=8)
    ),
)
def test_what_botocore_signs_verifies_and_every_change_is_refused(
    method: str, path: str, query: list[tuple[str, str]], body: bytes, extra: dict[str, str]
) -> None:
    received = _received(method, path, query, body, extra)
    _check(received)
    changed = [
        Received(method, received.raw_path, received.query, received.headers, body + b"x"),
        Received("PUT", received.raw_path, received.query, received.headers, body),
        Received(method, received.raw_path + "x", received.query, received.headers, body),
        Received(method, received.raw_path, received.query + "&z=1", received.headers, body),
        Received(
            method,
            received.raw_path,
            received.query,
            [(n, v + "1" if n == "content-type" else v) for n, v in received.headers],
            body,
        ),
    ]
    for tampered in changed:
        with pytest.raises(SignatureError):
            _check(tampered)
    with pytest.raises(SignatureError):
        _check(received, secret=SECRET[:-1] + "Z")


def test_scope_date_and_skew() -> None:
    received = _received("GET", "/models", [], b"", {})
    auth = parse_authorization(received)
    now = datetime.now(UTC)
    for when in (now + timedelta(minutes=16), now - timedelta(minutes=16)):
        with pytest.raises(SignatureError, match="Signature expired"):
            check_scope(auth, received, "execute-api", "us-east-1", when)
    with pytest.raises(SignatureError, match="correct service"):
        check_scope(auth, received, "deepracer", "us-east-1", now)
    with pytest.raises(SignatureError, match="valid region"):
        check_scope(auth, received, "execute-api", "eu-west-1", now)
