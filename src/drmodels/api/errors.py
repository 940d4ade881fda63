"""Every error the API answers, in one place: the error tree -> an AWS error type and HTTP status.

The JSON 1.1 face sends `{"__type": TYPE, "message": ...}` (what boto3 reads as the ClientError code and
message); the REST face sends `{"message": ...}` with the same status. Nothing else ever reaches a
client: an error outside the tree is a ServiceException (500) whose message names a reference that
the server's log carries with the traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from drmodels.api.sigv4 import SignatureError
from drmodels.errors import (
    AlreadyExists,
    BrokerUnavailable,
    Conflict,
    DrmodelsError,
    InvalidRequest,
    NotFound,
    ProblemError,
    Unauthorized,
)
from drmodels.rules.problems import Code

log = logging.getLogger("drmodels.api")


class UnknownOperation(InvalidRequest):
    """No operation of the service model by that X-Amz-Target."""


class UnsupportedOperation(InvalidRequest):
    """An operation of the service model that this server does not serve."""


class Malformed(InvalidRequest):
    """A body that is not JSON (or not a JSON object)."""


class BodyTooLarge(InvalidRequest):
    """A body over DRMODELS_API_MAX_BODY_BYTES."""


class Throttled(DrmodelsError):
    """More requests at once than DRMODELS_API_MAX_CONCURRENT_REQUESTS."""


@dataclass(frozen=True)
class Answer:
    status: int
    aws_type: str
    message: str

    def json11(self) -> dict[str, str]:
        return {"__type": self.aws_type, "message": self.message}

    def rest(self) -> dict[str, str]:
        return {"message": self.message}


_AUTHORIZATION_CODES = {Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST, Code.ACCESS_DENIED_TO_BUCKET}
_REQUEST_CODES = {Code.SRC_BUCKET_DOES_NOT_EXIST, Code.FILE_DOES_NOT_EXIST}

# (class, HTTP status, AWS type), the first that matches wins: subclasses before their parents.
_TABLE: list[tuple[type[BaseException], int, str]] = [
    (Unauthorized, 403, "InvalidSignatureException"),  # a SignatureError says which type itself
    (UnknownOperation, 400, "UnknownOperationException"),
    (UnsupportedOperation, 400, "UnsupportedOperationException"),
    (Malformed, 400, "SerializationException"),
    (BodyTooLarge, 413, "InvalidRequestException"),
    (AlreadyExists, 409, "ResourceAlreadyExistsException"),
    (InvalidRequest, 400, "InvalidRequestException"),
    (NotFound, 404, "ResourceDoesNotExistException"),
    (Conflict, 409, "ResourceInUseException"),
    (Throttled, 429, "TooManyRequestsException"),
]


QUEUE_DOWN = (
    "the job queue cannot be reached right now: the request is recorded, and its job runs once the queue "
    "answers again (do not send it again)"
)


def answer(exc: BaseException) -> Answer:
    if isinstance(exc, ProblemError):
        return _problem(exc)
    if isinstance(exc, BrokerUnavailable):  # its own words name the broker: for the log only
        log.warning("%s", exc)
        return Answer(503, "ServiceUnavailableException", QUEUE_DOWN)
    for cls, status, aws_type in _TABLE:
        if isinstance(exc, cls):
            if isinstance(exc, SignatureError):
                aws_type = exc.aws_type
            return Answer(status, aws_type, _message(exc))
    reference = uuid.uuid4().hex[:12]
    log.error("internal error %s: %s", reference, type(exc).__name__, exc_info=exc)
    return Answer(
        500,
        "ServiceException",
        f"the server failed on this request (reference {reference} in its log); retry, and report it "
        "if it persists",
    )


def _message(exc: BaseException) -> str:
    if isinstance(exc, InvalidRequest):
        return f"{exc.field}: {exc.message}"
    return str(exc)


def _problem(exc: ProblemError) -> Answer:
    """A Problem that ends a request at once (a "Copy to S3" the user's side refused): the spec's code
    and our explanation and fix."""
    problem = exc.problem
    text = f"{problem.code.value}: {problem.explanation} {problem.fix}".strip()
    if problem.code in _AUTHORIZATION_CODES:
        return Answer(403, "CustomerAuthorizationFailedException", text)
    if problem.code in _REQUEST_CODES:
        return Answer(400, "InvalidRequestException", text)
    return Answer(500, "ServiceException", text)


def invalid(exc: RequestValidationError) -> Answer:
    """FastAPI's validation errors as one 400 message naming each field (not its 422 list)."""
    parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()]
    return Answer(400, "InvalidRequestException", "; ".join(parts) or "invalid request")


class AnsweredRoute(APIRoute):
    """A REST route whose every failure is answered `{"message": ...}` with its status, here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                said = invalid(exc)
            except Exception as exc:
                said = answer(exc)
            return JSONResponse(said.rest(), status_code=said.status)

        return answered
