"""Signature V4 and request hygiene against a real server: every bad request gets its precise AWS error
(never a 500): missing, wrong, expired, replayed and tampered signatures, unknown and deleted keys,
wrong scope, oversized, malformed and mistyped bodies, unknown operations."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.auth
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from support import api

pytestmark = pytest.mark.servers

TARGET = "AwsSilverstoneCloudService.ListModels"
LIST = json.dumps({"ModelType": "REINFORCEMENT_LEARNING"}).encode()


def _signed(
    server: api.Server,
    key: api.Key,
    body: bytes = LIST,
    *,
    target: str = TARGET,
    service: str = "deepracer",
    region: str = "us-east-1",
    headers: dict[str, str] | None = None,
    secret: str | None = None,
    at: datetime | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> dict[str, str]:
    """The headers botocore's signer gives this request (signed at `at` when given)."""
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(headers or {})},
    )
    if at is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: at)
    credentials = Credentials(key.access_key_id, secret or key.secret_access_key)
    SigV4Auth(credentials, service, region).add_auth(request)
    if monkeypatch is not None:
        monkeypatch.undo()
    return dict(request.headers.items())


def _send(server: api.Server, headers: dict[str, str], body: bytes = LIST) -> tuple[int, dict[str, Any]]:
    resp = requests.post(server.url + "/", data=body, headers=headers, timeout=30)
    return resp.status_code, resp.json()


def _refused(server: api.Server, headers: dict[str, str], body: bytes = LIST) -> tuple[int, str, str]:
    status, answer = _send(server, headers, body)
    assert set(answer) == {"__type", "message"}, answer
    return status, answer["__type"], answer["message"]


def test_a_valid_signature_is_accepted_and_signing_more_headers_is_fine(
    api_server: api.Server, fresh: api.Key
) -> None:
    assert _send(api_server, _signed(api_server, fresh)) == (200, {"Models": []})
    # a signer that also signs user-agent (botocore's own leaves it out when it signs)
    headers = _signed(api_server, fresh, headers={"User-Agent": "racer-tool/1.0"})
    authorization = headers["Authorization"]
    assert "user-agent" not in authorization
    request = AWSRequest(
        method="POST",
        url=api_server.url + "/",
        data=LIST,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET,
            "User-Agent": "racer-tool/1.0",
        },
    )

    class SignsEverything(SigV4Auth):  # type: ignore[misc]
        def headers_to_sign(self, req: AWSRequest) -> Any:
            signed = super().headers_to_sign(req)
            signed["user-agent"] = req.headers["User-Agent"]
            return signed

    SignsEverything(
        Credentials(fresh.access_key_id, fresh.secret_access_key), "deepracer", "us-east-1"
    ).add_auth(request)
    assert "user-agent" in request.headers["Authorization"]
    assert _send(api_server, dict(request.headers.items()))[0] == 200


def test_signature_failures_get_their_aws_error(
    api_server: api.Server, fresh: api.Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    cases: dict[str, tuple[dict[str, str], bytes, int, str, str]] = {
        "missing": (
            {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET},
            LIST,
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        "wrong secret": (
            _signed(api_server, fresh, secret="x" * 40),
            LIST,
            403,
            "InvalidSignatureException",
            "does not match",
        ),
        "unknown key": (
            _signed(api_server, api.Key("0", "AKDRNOSUCHKEY0000000", "s")),
            LIST,
            403,
            "UnrecognizedClientException",
            "security token included in the request is invalid",
        ),
        "16 min old": (
            _signed(api_server, fresh, at=now - timedelta(minutes=16), monkeypatch=monkeypatch),
            LIST,
            403,
            "InvalidSignatureException",
            "Signature expired",
        ),
        "16 min ahead": (
            _signed(api_server, fresh, at=now + timedelta(minutes=16), monkeypatch=monkeypatch),
            LIST,
            403,
            "InvalidSignatureException",
            "Signature expired",
        ),
        "tampered body": (
            _signed(api_server, fresh),
            LIST.replace(b"}", b', "MaxResults": 1}'),
            403,
            "InvalidSignatureException",
            "does not match",
        ),
        "wrong service": (
            _signed(api_server, fresh, service="execute-api"),
            LIST,
            403,
            "IncompleteSignatureException",
            "'deepracer'",
        ),
        "wrong region": (
            _signed(api_server, fresh, region="eu-west-1"),
            LIST,
            403,
            "IncompleteSignatureException",
            "us-east-1",
        ),
    }
    # a signed X-Amz-Content-SHA256 of the original body does not make a tampered body pass
    pinned = _signed(
        api_server, fresh, headers={"X-Amz-Content-SHA256": botocore.auth.sha256(LIST).hexdigest()}
    )
    cases["tampered body, signed hash"] = (
        pinned,
        LIST + b" ",
        403,
        "InvalidSignatureException",
        "X-Amz-Content-SHA256",
    )
    cases["unsigned payload"] = (
        _signed(api_server, fresh, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}),
        LIST,
        403,
        "InvalidSignatureException",
        "unsigned",
    )
    token = _signed(api_server, fresh, headers={"X-Amz-Security-Token": "FwoGZXIvYXdzE"})
    cases["session token"] = (token, LIST, 403, "UnrecognizedClientException", "no session tokens")
    broken = {**_signed(api_server, fresh)}
    broken["Authorization"] = broken["Authorization"].split(", Signature=")[0]
    cases["no Signature"] = (broken, LIST, 403, "IncompleteSignatureException", "Signature")
    for name, (headers, body, status, aws_type, said) in cases.items():
        got = _refused(api_server, headers, body)
        assert got[:2] == (status, aws_type) and said in got[2], (name, got)


def test_a_captured_request_replayed_after_the_skew_window_is_refused(
    api_server: api.Server, fresh: api.Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed 14 minutes ago: still inside the window. The same request replayed past 15 minutes: refused."""
    now = datetime.now(UTC)
    inside = _signed(api_server, fresh, at=now - timedelta(minutes=14), monkeypatch=monkeypatch)
    assert _send(api_server, inside)[0] == 200
    captured = _signed(api_server, fresh, at=now - timedelta(minutes=15, seconds=30), monkeypatch=monkeypatch)
    assert _refused(api_server, captured)[:2] == (403, "InvalidSignatureException")


def test_deleted_keys_stop_working_at_once(api_server: api.Server, fresh: api.Key) -> None:
    made = api_server.cli("account", "keys", "create", "--account", fresh.account_id, "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    second = api.Key(fresh.account_id, key["access_key_id"], key["secret_access_key"])
    dr = api.deepracer(api_server, second)
    assert dr.list_models(ModelType="REINFORCEMENT_LEARNING")["Models"] == []
    assert api_server.cli("account", "keys", "delete", second.access_key_id).returncode == 0
    with pytest.raises(ClientError) as caught:
        dr.list_models(ModelType="REINFORCEMENT_LEARNING")
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert api.deepracer(api_server, fresh).list_models(ModelType="REINFORCEMENT_LEARNING")["Models"] == []


def test_bodies_operations_and_content_types_refused_precisely(
    api_server: api.Server, fresh: api.Key
) -> None:
    limit = 1024 * 1024
    big = json.dumps({"ModelType": "REINFORCEMENT_LEARNING", "NextToken": "A" * limit}).encode()
    cases: dict[str, tuple[dict[str, str], bytes, int, str]] = {
        "over the size limit": (_signed(api_server, fresh, big), big, 413, "InvalidRequestException"),
        "not JSON": (_signed(api_server, fresh, b"{nope"), b"{nope", 400, "SerializationException"),
        "not an object": (_signed(api_server, fresh, b"[1, 2]"), b"[1, 2]", 400, "SerializationException"),
        "not UTF-8": (_signed(api_server, fresh, b"\xff\xfe"), b"\xff\xfe", 400, "SerializationException"),
        "content type": (
            _signed(api_server, fresh, headers={"Content-Type": "text/plain"}),
            LIST,
            400,
            "InvalidRequestException",
        ),
        "unknown operation": (
            _signed(api_server, fresh, target="AwsSilverstoneCloudService.Nope"),
            LIST,
            400,
            "UnknownOperationException",
        ),
        "other service": (
            _signed(api_server, fresh, target="DynamoDB_20120810.ListTables"),
            LIST,
            400,
            "UnknownOperationException",
        ),
        "wrong member type": (
            _signed(api_server, fresh, b'{"ModelType": 1}'),
            b'{"ModelType": 1}',
            400,
            "InvalidRequestException",
        ),
    }
    for name, (headers, body, status, aws_type) in cases.items():
        assert _refused(api_server, headers, body)[:2] == (status, aws_type), name
    # a streamed (chunked) body past the limit is cut off too, whatever it declares
    headers = _signed(api_server, fresh, big)
    headers.pop("Content-Length", None)
    resp = requests.post(
        api_server.url + "/",
        data=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
        headers=headers,
        timeout=30,
    )
    assert (resp.status_code, resp.json()["__type"]) == (413, "InvalidRequestException")


def test_the_rest_face_wants_execute_api_signatures(api_server: api.Server, fresh: api.Key) -> None:
    unsigned = requests.get(api_server.url + "/models", timeout=30)
    assert unsigned.status_code == 403 and "Missing Authentication Token" in unsigned.json()["message"]
    as_json11 = api.RestSigner(fresh, service="deepracer")
    wrong = requests.get(api_server.url + "/models", auth=as_json11, timeout=30)
    assert wrong.status_code == 403 and "execute-api" in wrong.json()["message"]
    assert requests.get(api_server.url + "/models", auth=api.RestSigner(fresh), timeout=30).json() == {
        "models": []
    }


def test_the_log_has_one_line_per_request_and_no_secret(api_server: api.Server, fresh: api.Key) -> None:
    api.deepracer(api_server, fresh).list_models(ModelType="REINFORCEMENT_LEARNING")
    deadline = time.monotonic() + 30  # the line is written once the answer has gone out
    while True:
        log = api_server.log()
        lines = [line for line in log.splitlines() if f"account={fresh.account_id}" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert any("POST ListModels" in line and "status=200 ms=" in line for line in lines), lines
    assert fresh.secret_access_key not in log and "Signature=" not in log and "/assets/" not in log
