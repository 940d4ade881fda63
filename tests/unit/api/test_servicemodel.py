"""Request validation read from the packaged DeepRacer service model: each member named by its path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drmodels.api.deepracer.servicemodel import SERVICE_MODEL, input_shape, service_model, validate
from drmodels.errors import InvalidRequest

SPEC = Path(__file__).parents[4] / "shared" / "spec" / "deepracer-service-2.json"


def test_the_packaged_model_is_the_one_boto3_tooling_ships() -> None:
    model = service_model()
    assert model["metadata"]["targetPrefix"] == "AwsSilverstoneCloudService"
    assert model["metadata"]["signingName"] == "deepracer" and len(model["operations"]) == 55
    if SPEC.exists():  # beside the repository on the project's machines
        assert json.loads(SERVICE_MODEL.read_text()) == json.loads(SPEC.read_text())


@pytest.mark.parametrize(
    ("operation", "body", "said"),
    [
        ("ImportModel", {"Type": "REINFORCEMENT_LEARNING", "Name": "n"}, "ModelArtifactsS3Path: is required"),
        (
            "ImportModel",
            {"Type": "RL", "Name": "n", "ModelArtifactsS3Path": "s3://b", "RoleArn": "x"},
            "Type: must be one of REINFORCEMENT_LEARNING",
        ),
        (
            "ListModels",
            {"ModelType": "REINFORCEMENT_LEARNING", "MaxResults": "25"},
            "MaxResults: must be an integer",
        ),
        (
            "ListModels",
            {"ModelType": "REINFORCEMENT_LEARNING", "NextToken": "no spaces"},
            "NextToken: must match",
        ),
        (
            "TagResource",
            {"ResourceArn": "arn:x", "Tags": [{"Key": "k", "Value": ""}]},
            "Tags[0].Value: must have at least 1 characters",
        ),
        ("TagResource", {"ResourceArn": "arn:x", "Tags": {"k": "v"}}, "Tags: must be a JSON array"),
        ("GetModel", {"ModelArn": True}, "ModelArn: must be a string, not a boolean"),
    ],
)
def test_the_first_broken_member_is_named(operation: str, body: dict[str, object], said: str) -> None:
    shape = input_shape(operation)
    assert shape is not None
    with pytest.raises(InvalidRequest) as caught:
        validate(shape, body)
    assert str(caught.value).startswith(said)


def test_members_the_model_does_not_declare_are_ignored() -> None:
    validate(
        "GetModelRequest",
        {"ModelArn": "arn:aws:deepracer:us-east-1:123456789012:model/reinforcement_learning/a", "Extra": 1},
    )
