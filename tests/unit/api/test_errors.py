"""The API's one error mapping: a broker that cannot be reached is a 503 that names nothing internal."""

from __future__ import annotations

from drmodels.api.errors import answer
from drmodels.errors import BrokerUnavailable


def test_an_unreachable_broker_is_503_without_its_address() -> None:
    said = answer(BrokerUnavailable("the job broker (redis://queue.internal:6379/0) could not be reached"))
    assert (said.status, said.aws_type) == (503, "ServiceUnavailableException")
    assert "queue.internal" not in said.message and "recorded" in said.message
    assert said.rest() == {"message": said.message}
