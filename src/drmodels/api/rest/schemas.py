"""The REST face's bodies, with DeepRacer on AWS's field names (its Smithy model), for validation and
the OpenAPI document. Fields it marks required that an imported model does not have (car
customisation, training configuration, metrics URL) are left out; our extensions are marked so."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from drmodels.rules.requests import NAME, ROLE_ARN


class ImportModelInput(BaseModel):
    s3Bucket: str = Field(min_length=3, max_length=63, description="The bucket holding the model.")
    s3Path: str = Field(min_length=1, max_length=1024, description="The model's prefix root in the bucket.")
    modelName: str = Field(min_length=1, max_length=64, pattern=NAME.pattern)
    modelDescription: str | None = Field(default=None, min_length=1, max_length=255, pattern=r"^[^\r\n]+$")
    roleArn: str | None = Field(
        default=None,
        pattern=ROLE_ARN.pattern,
        description="drmodels extension: a role to assume to read the bucket (else the server's own "
        "credentials read it, from its upload bucket only).",
    )


class ImportModelOutput(BaseModel):
    modelId: str


class ContinuousActionSpace(BaseModel):
    lowSpeed: float
    highSpeed: float
    lowSteeringAngle: float
    highSteeringAngle: float


class DiscreteAction(BaseModel):
    speed: float
    steeringAngle: float


class ActionSpace(BaseModel):
    continous: ContinuousActionSpace | None = None
    discrete: list[DiscreteAction] | None = None


class Sensors(BaseModel):
    camera: str | None = None
    lidar: str | None = None


class ModelMetadata(BaseModel):
    agentAlgorithm: Literal["PPO", "SAC"] | None = None
    actionSpace: ActionSpace | None = None
    sensors: Sensors | None = None


class Problem(BaseModel):
    code: str
    severity: Literal["error", "warning"]
    path: str | None = Field(
        default=None, description="The file at fault under the prefix root; absent for the model as a whole."
    )
    title: str
    explanation: str
    fix: str | None = Field(default=None, description="What to do; absent for a warning needing nothing.")
    auto_fix: bool


class Model(BaseModel):
    modelId: str
    name: str
    description: str | None = None
    createdAt: datetime
    fileSizeInBytes: int
    status: Literal["IMPORTING", "READY", "DELETING", "ERROR"]
    trainingStatus: Literal["COMPLETED"]
    packagingStatus: Literal["READY"] | None = None
    importErrorMessage: str | None = None
    metadata: ModelMetadata | None = None
    modelArn: str = Field(description="drmodels extension: the model's ARN (the JSON 1.1 face's ModelArn).")
    importErrorCode: str | None = Field(default=None, description="drmodels extension: the spec's code.")
    checkpoints: list[str] = Field(description="drmodels extension: the checkpoints kept.")
    problems: list[Problem] = Field(description="drmodels extension: every problem, with its fix.")


class ListModelsOutput(BaseModel):
    models: list[Model]
    token: str | None = None


class GetModelOutput(BaseModel):
    model: Model


class GetAssetUrlOutput(BaseModel):
    url: str | None = None
    status: Literal["READY"] | None = None


class ErrorBody(BaseModel):
    message: str


AssetType = Literal["VIRTUAL_MODEL", "TRAINING_LOGS", "EVALUATION_LOGS", "PHYSICAL_CAR_MODEL", "VIDEOS"]
