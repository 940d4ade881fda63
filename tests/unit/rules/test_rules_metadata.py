"""model_metadata.json and hyperparameters.json: every variant real trainers write, and each refusal."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from drmodels.rules.hyperparameters import check_hyperparameters
from drmodels.rules.metadata import ModelMetadata, parse_model_metadata
from drmodels.rules.problems import Code, Problem
from support import modelfolders as mf


def parse(doc: dict[str, Any] | bytes) -> tuple[ModelMetadata | None, list[Problem]]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc, indent=2).encode()
    return parse_model_metadata("model/model_metadata.json", data)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


ACCEPTED = {
    "version missing": with_(mf.DISCRETE_METADATA, version=None),
    "version 2": with_(mf.DISCRETE_METADATA, version="2"),
    "version 6": with_(mf.DISCRETE_METADATA, version="6"),
    "version 4.0 + lidar_config": with_(
        mf.DISCRETE_METADATA,
        version="4.0",
        lidar_config={"num_sectors": 8, "num_values_per_sector": 8, "clipping_dist": 2.0},
    ),
    "version as a number": with_(mf.DISCRETE_METADATA, version=5),
    "only action_space (2019)": {"action_space": mf.DISCRETE_ACTIONS},
    "no type or algorithm (v3)": with_(mf.DISCRETE_METADATA, action_space_type=None, training_algorithm=None),
    "continuous": mf.CONTINUOUS_METADATA,
    "continuous without type": with_(mf.CONTINUOUS_METADATA, action_space_type=None),
    "sac": with_(mf.CONTINUOUS_METADATA, training_algorithm="sac"),
    "SAC upper case": with_(mf.CONTINUOUS_METADATA, training_algorithm=" SAC "),
    "stereo + lidar": with_(mf.DISCRETE_METADATA, sensor=["STEREO_CAMERAS", "LIDAR"]),
    "lidar first": with_(mf.DISCRETE_METADATA, sensor=["LIDAR", "STEREO_CAMERAS"]),
    "sector lidar": with_(mf.CONTINUOUS_METADATA, sensor=["SECTOR_LIDAR", "STEREO_CAMERAS"]),
    "discretized sector lidar": with_(
        mf.DISCRETE_METADATA,
        sensor=["FRONT_FACING_CAMERA", "DISCRETIZED_SECTOR_LIDAR"],
        lidar_config={"num_sectors": 16, "num_values_per_sector": 4},
    ),
    "observation": with_(mf.DISCRETE_METADATA, sensor=["observation"], version=None),
    "left camera": with_(mf.DISCRETE_METADATA, sensor=["LEFT_CAMERA"]),
    "network DCN": with_(mf.DISCRETE_METADATA, neural_network="DEEP_CONVOLUTIONAL_NETWORK"),
    "network DEEP": with_(mf.DISCRETE_METADATA, neural_network="DEEP_CONVOLUTIONAL_NETWORK_DEEP"),
    "regional parameters ints": with_(mf.CONTINUOUS_METADATA, regional_parameters=[0, 0, 0, 0]),
    "unknown extra keys": with_(mf.DISCRETE_METADATA, my_notes={"a": 1}),
    "actions without index": with_(
        mf.DISCRETE_METADATA,
        action_space=[{"steering_angle": -30.0, "speed": 0.5}, {"steering_angle": 30, "speed": 14}],
    ),
    "duplicate actions": with_(mf.DISCRETE_METADATA, action_space=[{"steering_angle": 0, "speed": 5}] * 3),
    "15-digit floats, asymmetric": with_(
        mf.CONTINUOUS_METADATA,
        action_space={
            "steering_angle": {"high": 27, "low": -18},
            "speed": {"high": 2.619548947814496, "low": 0.0},
        },
    ),
}


@pytest.mark.parametrize("doc", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_variants(doc: dict[str, Any]) -> None:
    metadata, problems = parse(doc)
    assert metadata is not None, problems
    assert not [p for p in problems if p.is_error]


def test_defaults_follow_the_simulation_app() -> None:
    metadata, _ = parse({"action_space": mf.DISCRETE_ACTIONS})
    assert metadata == ModelMetadata(
        sensors=("observation",),
        neural_network="DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
        training_algorithm="clipped_ppo",
        action_space_type="discrete",
        discrete_actions=tuple((float(a["steering_angle"]), float(a["speed"])) for a in mf.DISCRETE_ACTIONS),
    )
    metadata, _ = parse(mf.CONTINUOUS_METADATA)
    assert metadata is not None and metadata.is_continuous
    assert metadata.steering_range == (-25, 27) and metadata.speed_range == (1, 3.3)


REFUSED = {
    "action_space_type f": (with_(mf.DISCRETE_METADATA, action_space_type="f"), "action_space_type"),
    "discrete type with a range": (
        with_(mf.CONTINUOUS_METADATA, action_space_type="discrete"),
        "action_space_type",
    ),
    "continuous type with a list": (
        with_(mf.DISCRETE_METADATA, action_space_type="continuous"),
        "action_space_type",
    ),
    "empty action space": (with_(mf.DISCRETE_METADATA, action_space=[]), "action_space"),
    "no action space": (with_(mf.DISCRETE_METADATA, action_space=None), "action_space"),
    "SAC with a list": (with_(mf.DISCRETE_METADATA, training_algorithm="sac"), "training_algorithm"),
    "unknown algorithm": (with_(mf.DISCRETE_METADATA, training_algorithm="dqn"), "training_algorithm"),
    "low > high": (
        with_(
            mf.CONTINUOUS_METADATA,
            action_space={"steering_angle": {"low": 30, "high": -30}, "speed": {"low": 1, "high": 2}},
        ),
        "action_space.steering_angle",
    ),
    "two cameras": (with_(mf.DISCRETE_METADATA, sensor=["FRONT_FACING_CAMERA", "STEREO_CAMERAS"]), "sensor"),
    "no camera": (with_(mf.DISCRETE_METADATA, sensor=["LIDAR"]), "sensor"),
    "two lidars": (with_(mf.DISCRETE_METADATA, sensor=["STEREO_CAMERAS", "LIDAR", "SECTOR_LIDAR"]), "sensor"),
    "unknown sensor": (with_(mf.DISCRETE_METADATA, sensor=["FRONT_FACING_CAMERA", "RADAR"]), "sensor[1]"),
    "LLM network": (with_(mf.CONTINUOUS_METADATA, neural_network="LLM"), "neural_network"),
    "unknown network": (with_(mf.DISCRETE_METADATA, neural_network="RESNET"), "neural_network"),
    "speed as a string": (
        with_(mf.DISCRETE_METADATA, action_space=[{"steering_angle": 0, "speed": "1.0"}]),
        "action_space[0].speed",
    ),
    "speed as a bool": (
        with_(mf.DISCRETE_METADATA, action_space=[{"steering_angle": 0, "speed": True}]),
        "action_space[0].speed",
    ),
    "missing speed": (
        with_(mf.DISCRETE_METADATA, action_space=[{"steering_angle": 0}]),
        "action_space[0].speed",
    ),
    "range without high": (
        with_(
            mf.CONTINUOUS_METADATA,
            action_space={"steering_angle": {"low": -30}, "speed": {"low": 1, "high": 2}},
        ),
        "action_space.steering_angle.high",
    ),
    "num_sectors 7": (
        with_(mf.DISCRETE_METADATA, lidar_config={"num_sectors": 7}),
        "lidar_config.num_sectors",
    ),
    "version not a number": (with_(mf.DISCRETE_METADATA, version="five"), "version"),
    "sensor not a list": (with_(mf.DISCRETE_METADATA, sensor="FRONT_FACING_CAMERA"), "sensor"),
}


@pytest.mark.parametrize(("doc", "field"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_with_field_line_and_column(doc: dict[str, Any], field: str) -> None:
    metadata, problems = parse(doc)
    errors = [p for p in problems if p.is_error]
    assert metadata is None and errors
    assert all(p.code is Code.MODEL_VALIDATION_SERVICE_ERROR for p in errors)
    assert any(f"`{field}`" in p.explanation for p in errors), [p.explanation for p in errors]
    placed = next(p for p in errors if f"`{field}`" in p.explanation)
    if field != "action_space" or "action_space" in doc:
        assert "(line " in placed.explanation and "column " in placed.explanation


def test_line_and_column_point_at_the_value() -> None:
    text = b'{\n  "action_space": [\n    {"steering_angle": 0, "speed": "fast"}\n  ]\n}'
    _, problems = parse(text)
    assert "`action_space[0].speed` (line 3, column 36)" in problems[0].explanation


INVALID_JSON = {
    "// comments": (b'{\n  // the actions\n  "action_space": []\n}', "comments"),
    "trailing comma": (b'{"action_space": [{"steering_angle": 0, "speed": 1},]}', "trailing comma"),
    "missing comma": (b'{"action_space": [{"steering_angle": 0 "speed": 1}]}', "line 1"),
    "single quotes": (b"{'action_space': []}", "line 1, column 2"),
    "two documents": (b'{"action_space": []}\n{"action_space": []}', "Extra data at line 2"),
    "not UTF-8": (b'{"a": "\xe9t\xe9"}', "not UTF-8"),
    "binary": (b"\x00\x01\x02\x03", "binary"),
    "empty": (b"", "empty"),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize(("data", "said"), INVALID_JSON.values(), ids=INVALID_JSON.keys())
def test_text_that_is_not_json(data: bytes, said: str) -> None:
    metadata, problems = parse(data)
    assert metadata is None
    assert [p.code for p in problems] == [Code.MODEL_VALIDATION_SERVICE_ERROR]
    assert said in problems[0].explanation


def test_a_json_list_is_not_metadata() -> None:
    _, problems = parse(b"[1, 2]")
    assert "not an object" in problems[0].explanation


def test_index_not_matching_position_is_a_warning() -> None:
    doc = with_(
        mf.DISCRETE_METADATA,
        action_space=[
            {"steering_angle": 0, "speed": 1, "index": 1},
            {"steering_angle": 10, "speed": 1, "index": 2},
        ],
    )
    metadata, problems = parse(doc)
    assert metadata is not None and metadata.action_count == 2
    assert [p.is_error for p in problems] == [False, False]


def test_hyperparameters() -> None:
    assert check_hyperparameters("ip/hyperparameters.json", json.dumps(mf.HYPERPARAMETERS).encode()) == []
    odd = {**mf.HYPERPARAMETERS, "num_epoch": 3, "use_double_q": True, "lr": "0.0003"}
    problems = check_hyperparameters("ip/hyperparameters.json", json.dumps(odd).encode())
    assert [p.is_error for p in problems] == [False]  # the numeric string is read, with a warning
    bad = check_hyperparameters("ip/hyperparameters.json", b'{"batch_size": "sixty-four", "lr": [1]}')
    assert [p.is_error for p in bad] == [True, True]
    assert "`batch_size` (line 1, column 16)" in bad[0].explanation
    assert check_hyperparameters("ip/hyperparameters.json", b"[]")[0].is_error
