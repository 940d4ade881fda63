"""The DeepRacer API's wire shapes (`Model`, its `Error`, `CarConfiguration`) from our records.

Field names follow the service model (spec/deepracer-service-2.json); `Error.Details` carries our
explanation, and `Problems` every problem with its fix. The CLI prints these; the API serves them.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.problems import Problem

if TYPE_CHECKING:
    from drmodels.registry.tables import Model


def car_configuration(metadata: ModelMetadata | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    sensors = [s.upper() if s == "observation" else s for s in metadata.sensors]
    config: dict[str, Any] = {"NeuralNetwork": metadata.neural_network, "Sensors": sensors}
    if metadata.is_continuous and metadata.steering_range and metadata.speed_range:
        config["ActionSpace"] = {
            "Type": "continuous",
            "SteeringAngle": list(metadata.steering_range),
            "Speed": list(metadata.speed_range),
        }
    else:
        config["ActionSpace"] = {
            "Type": "discrete",
            "Actions": [{"SteeringAngle": a, "Speed": b} for a, b in metadata.discrete_actions],
        }
    return config


def problems_of(model: Model) -> list[Problem]:
    """Every problem recorded on the model: the errors that refused it, or the warnings it was kept with."""
    return [Problem.from_dict(d) for d in model.error_details or []]


def model_error(model: Model) -> dict[str, Any] | None:
    if not model.error_code:
        return None
    problems = problems_of(model)
    return {
        "ErrorCode": model.error_code,
        "Details": "; ".join(p.explanation for p in problems if p.is_error),
        "Problems": [p.as_dict() for p in problems],
    }


def model_shape(model: Model, *, history: bool = True) -> dict[str, Any]:
    """The API's `Model`, plus our stored checkpoints and (unless `history=False`) the model's history."""
    shape: dict[str, Any] = {
        "ModelName": model.name,
        "ModelArn": model.arn,
        "ModelDescription": model.description,
        "ModelType": "REINFORCEMENT_LEARNING",
        "ModelFramework": "TENSOR_FLOW",
        "Status": model.status,
        "Error": model_error(model),
        "WasImported": model.was_imported,
        "WasMigrated": model.was_migrated,
        "ImportModelS3SrcLocation": model.import_src_location,
        "ModelSizeInBytes": model.size_bytes or 0,
        "ModelSizeInGb": (model.size_bytes or 0) / 1024**3,
        "ModelPackagingComplete": model.packaging_complete,
        "CarConfiguration": model.car_configuration,
        "AgentAlgorithm": model.agent_algorithm,
        "AgentNetwork": model.agent_network,
        "CreationTime": int(model.creation_time.replace(tzinfo=UTC).timestamp() * 1000),
        "Checkpoints": model.checkpoints or [],
    }
    if history:
        shape["History"] = [
            {"At": e.at.isoformat() + "Z", "Kind": e.kind, "Message": e.message} for e in model.events
        ]
    return shape
