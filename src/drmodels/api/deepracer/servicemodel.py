"""The DeepRacer service model (models/deepracer/2019-04-01/service-2.json, packaged with drmodels) and
request validation read from it: required members, types, lengths, ranges, patterns and enums.

The file is the one the community's boto3 tooling ships; the folder layout is what a botocore loader
search path expects, so clients and this server read the very same shapes. Members the model does not
declare are ignored, as AWS services do (a newer client may send more).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from drmodels.errors import InvalidRequest

MODELS = resources.files("drmodels.api") / "models"
SERVICE_MODEL = MODELS / "deepracer" / "2019-04-01" / "service-2.json"


@cache
def service_model() -> dict[str, Any]:
    model: dict[str, Any] = json.loads(SERVICE_MODEL.read_text(encoding="utf-8"))
    return model


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _shape(name: str) -> dict[str, Any]:
    shape: dict[str, Any] = service_model()["shapes"][name]
    return shape


def input_shape(operation: str) -> str | None:
    op = service_model()["operations"][operation]
    return op.get("input", {}).get("shape")  # type: ignore[no-any-return]


def validate(shape_name: str, value: Any, where: str = "") -> None:
    """Raise InvalidRequest naming the first member (a path such as Tags[2].Key) that breaks the model."""
    shape = _shape(shape_name)
    kind = shape["type"]
    label = where or shape_name
    checker = _CHECKS[kind]
    checker(shape, value, label)


def _fail(where: str, message: str) -> InvalidRequest:
    return InvalidRequest(where, message)


def _structure(shape: dict[str, Any], value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _fail(where, f"must be a JSON object, not {_json_type(value)}")
    members: dict[str, Any] = shape.get("members", {})
    for name in shape.get("required", []):
        if value.get(name) is None:
            raise _fail(_join(where, name), "is required")
    for name, member in members.items():
        if value.get(name) is not None:
            validate(member["shape"], value[name], _join(where, name))


def _join(where: str, name: str) -> str:
    return name if not where or where.endswith("Request") else f"{where}.{name}"


def _string(shape: dict[str, Any], value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {_json_type(value)}")
    _length(shape, len(value), where, "characters")
    if "enum" in shape and value not in shape["enum"]:
        raise _fail(where, f"must be one of {', '.join(shape['enum'])}; got {value[:80]!r}")
    if "pattern" in shape and not _pattern(shape["pattern"]).search(value):
        raise _fail(where, f"must match the pattern {shape['pattern']}; got {value[:80]!r}")


def _length(shape: dict[str, Any], size: int, where: str, unit: str) -> None:
    if "min" in shape and size < shape["min"]:
        raise _fail(where, f"must have at least {shape['min']} {unit}; it has {size}")
    if "max" in shape and size > shape["max"]:
        raise _fail(where, f"must have at most {shape['max']} {unit}; it has {size}")


def _integer(shape: dict[str, Any], value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be an integer, not {_json_type(value)}")
    _range(shape, value, where)


def _double(shape: dict[str, Any], value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be a number, not {_json_type(value)}")
    _range(shape, value, where)


def _range(shape: dict[str, Any], value: float, where: str) -> None:
    if "min" in shape and value < shape["min"]:
        raise _fail(where, f"must be at least {shape['min']}; got {value}")
    if "max" in shape and value > shape["max"]:
        raise _fail(where, f"must be at most {shape['max']}; got {value}")


def _boolean(shape: dict[str, Any], value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise _fail(where, f"must be true or false, not {_json_type(value)}")


def _list(shape: dict[str, Any], value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise _fail(where, f"must be a JSON array, not {_json_type(value)}")
    _length(shape, len(value), where, "items")
    for i, item in enumerate(value):
        validate(shape["member"]["shape"], item, f"{where}[{i}]")


def _map(shape: dict[str, Any], value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _fail(where, f"must be a JSON object, not {_json_type(value)}")
    _length(shape, len(value), where, "entries")
    for key, item in value.items():
        validate(shape["key"]["shape"], key, f"{where} key {key[:40]!r}")
        validate(shape["value"]["shape"], item, f"{where}[{key[:40]!r}]")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_CHECKS = {
    "structure": _structure,
    "string": _string,
    "integer": _integer,
    "long": _integer,
    "double": _double,
    "boolean": _boolean,
    "list": _list,
    "map": _map,
}
