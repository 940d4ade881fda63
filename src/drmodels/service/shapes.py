"""The wire shapes of a model, from our records, for every face that shows one.

- `api_model`: the DeepRacer service model's `Model` (spec/deepracer-service-2.json), exactly its
  members: the JSON 1.1 API answers it. `Error.Details` carries our explanation and fix.
- `model_shape`: that `Model` plus our extras (every Problem with its fix, the checkpoints kept, the
  size in bytes, the history): the CLI's `--json` and the console.
- `rest_model`: DeepRacer on AWS's REST `Model` (its Smithy model's field names) with the same extras.
The CLI, the API's `Error.Details` and the console say the same words: `details()`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from drmodels.registry.statuses import ModelStatus
from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.problems import Problem

if TYPE_CHECKING:
    from drmodels.registry.queries import ModelRecord
    from drmodels.registry.tables import Model

AGENT_NETWORK = "SIX_LAYER_DOUBLE_HEAD_OUTPUT"
"""The one value of the service model's AgentNetwork."""


def car_configuration(metadata: ModelMetadata | None) -> dict[str, Any] | None:
    """The service model's CarConfiguration (NeuralNetwork, Sensors, ActionSpace) of a model's metadata."""
    if metadata is None:
        return None
    sensors = [s.upper() if s == "observation" else s for s in metadata.sensors]
    space: dict[str, Any] = {"ActionSpaceType": metadata.action_space_type}
    if metadata.is_continuous and metadata.steering_range and metadata.speed_range:
        space["ContinuousActionSpace"] = {
            "Speed": {"Low": metadata.speed_range[0], "High": metadata.speed_range[1]},
            "SteeringAngle": {"Low": metadata.steering_range[0], "High": metadata.steering_range[1]},
        }
    else:
        space["DiscreteActionSpace"] = [
            {"SteeringAngle": a, "Speed": b} for a, b in metadata.discrete_actions
        ]
    return {"NeuralNetwork": metadata.neural_network, "Sensors": sensors, "ActionSpace": space}


def problems_of(model: ModelRecord) -> list[Problem]:
    """Every problem recorded on the model: the errors that refused it, or the warnings it was kept with."""
    return [Problem.from_dict(d) for d in model.error_details or []]


def details(problems: list[Problem]) -> str:
    """What went wrong and what to do, in one text: each error's explanation followed by its fix."""
    return " | ".join(" ".join(x for x in (p.explanation, p.fix) if x) for p in problems if p.is_error)


def _millis(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp() * 1000)


def _members(model: ModelRecord) -> dict[str, Any]:
    """Every member of the service model's `Model` we fill, absent ones as None."""
    error = None
    if model.error_code:
        text = details(problems_of(model))
        error = {"ErrorCode": model.error_code, **({"Details": text} if text else {})}
    return {
        "ModelType": "REINFORCEMENT_LEARNING",
        "ModelName": model.name,
        "ModelArn": model.arn,
        "ModelDescription": model.description,
        "WasImported": model.was_imported,
        "WasMigrated": model.was_migrated,
        "CreationTime": _millis(model.creation_time),
        "ModelFramework": "TENSOR_FLOW",
        "AgentAlgorithm": model.agent_algorithm,
        "AgentNetwork": model.agent_network or AGENT_NETWORK,
        "Status": model.status,
        "CarConfiguration": model.car_configuration,
        "ModelPackagingComplete": model.packaging_complete,
        "ImportModelS3SrcLocation": model.import_src_location,
        "ModelSizeInGb": (model.size_bytes or 0) / 1024**3,
        "Error": error,
    }


def api_model(model: ModelRecord) -> dict[str, Any]:
    """The service model's `Model`: only its members, absent ones left out (as AWS JSON services do)."""
    return {k: v for k, v in _members(model).items() if v is not None}


def _extras(model: ModelRecord) -> dict[str, Any]:
    return {
        "ModelSizeInBytes": model.size_bytes or 0,
        "Checkpoints": model.checkpoints or [],
        "Problems": [p.as_dict() for p in problems_of(model)],
    }


def model_shape(model: Model, *, history: bool = True) -> dict[str, Any]:
    """The API's `Model` (every member, null when absent: the same keys for every model), plus every
    problem, the checkpoints kept, the size in bytes and the history."""
    shape = {**_members(model), **_extras(model)}
    if history:
        shape["History"] = [
            {"At": e.at.isoformat() + "Z", "Kind": e.kind, "Message": e.message} for e in model.events
        ]
    return shape


REST_STATUS = {
    ModelStatus.IMPORTING: "IMPORTING",
    ModelStatus.MIGRATING: "IMPORTING",
    ModelStatus.READY: "READY",
    ModelStatus.DELETING: "DELETING",
    ModelStatus.IMPORT_ERROR: "ERROR",
    ModelStatus.MIGRATE_ERROR: "ERROR",
}
"""Our statuses as DeepRacer on AWS's ModelStatus (its errors are all ERROR; importErrorCode says which)."""
CAMERAS = ("FRONT_FACING_CAMERA", "STEREO_CAMERAS", "LEFT_CAMERA", "OBSERVATION_CAMERA", "OBSERVATION")


def _rest_metadata(model: ModelRecord) -> dict[str, Any] | None:
    config = model.car_configuration
    if not config:
        return None
    space = config.get("ActionSpace") or {}
    action_space: dict[str, Any]
    if "ContinuousActionSpace" in space:
        c = space["ContinuousActionSpace"]
        action_space = {
            "continous": {  # sic: DeepRacer on AWS's spelling
                "lowSpeed": c["Speed"]["Low"],
                "highSpeed": c["Speed"]["High"],
                "lowSteeringAngle": c["SteeringAngle"]["Low"],
                "highSteeringAngle": c["SteeringAngle"]["High"],
            }
        }
    else:
        action_space = {
            "discrete": [
                {"speed": a["Speed"], "steeringAngle": a["SteeringAngle"]}
                for a in space.get("DiscreteActionSpace", [])
            ]
        }
    sensors: dict[str, str] = {}
    for sensor in config.get("Sensors", []):
        sensors["camera" if sensor in CAMERAS else "lidar"] = sensor
    metadata = {"agentAlgorithm": model.agent_algorithm, "actionSpace": action_space, "sensors": sensors}
    return {k: v for k, v in metadata.items() if v is not None}


def rest_model(model: ModelRecord) -> dict[str, Any]:
    """DeepRacer on AWS's `Model` (what an imported model has of it), plus our extras."""
    text = details(problems_of(model)) if model.error_code else ""
    shape: dict[str, Any] = {
        "modelId": model.id,
        "name": model.name,
        "description": model.description,
        "createdAt": model.creation_time.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "fileSizeInBytes": model.size_bytes or 0,
        "status": REST_STATUS.get(ModelStatus(model.status), "ERROR"),
        "trainingStatus": "COMPLETED",
        "packagingStatus": "READY" if model.packaging_complete else None,
        "importErrorMessage": text or None,
        "metadata": _rest_metadata(model),
        "modelArn": model.arn,
        "importErrorCode": model.error_code,
        "checkpoints": model.checkpoints or [],
        "problems": [p.as_dict() for p in problems_of(model)],
    }
    return {k: v for k, v in shape.items() if v is not None}
