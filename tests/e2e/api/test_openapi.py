"""schemathesis over the REST face's OpenAPI document (served by the server): generated requests, signed,
never get a 500 and every answer matches the document (status, content type, body schema); requests
the document rules out are refused; the document says which requests need a signature (schemathesis
also sends them unsigned). Its positive-data check is left out: a request the schema allows may still
break the service's own rules and get a 400 (a source outside the upload bucket, a page token this
server did not issue).

schemathesis' lazy pytest loader does not run on pytest 9 (it reads a removed node attribute), so each
operation's strategy is drawn here with hypothesis directly; the checks are schemathesis' own.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from support import api

pytestmark = pytest.mark.servers

EXAMPLES = 12
"""Examples per operation: enough to reach every validation branch, few enough to take seconds."""


def test_rest_face_holds_to_its_document(api_server: api.Server) -> None:
    schema = schemathesis.openapi.from_url(api_server.url + "/openapi.json")
    signer = api.RestSigner(api.account_in(api_server, f"fuzz-{uuid.uuid4().hex[:6]}"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def holds(case: Any) -> None:
            case.call_and_validate(auth=signer, excluded_checks=[positive_data_acceptance])

        holds()


def test_the_document_is_the_rest_face(api_server: api.Server) -> None:
    document = api.rest(None).get(api_server.url + "/openapi.json", timeout=30).json()
    assert sorted(document["paths"]) == [
        "/importmodel",
        "/migrations",
        "/migrations/{migrationId}",
        "/models",
        "/models/{modelId}",
        "/models/{modelId}/getasset",
        "/sourcecleanups",
        "/sourcecleanups/{cleanupId}",
    ]
    assert "sigv4" in document["components"]["securitySchemes"]
