"""model_metadata.json: the schema of what real trainers write, and the simulation app's refusals."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Strict,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from drmodels.formats.jsontext import JsonPath, decode_text, describe_path, where
from drmodels.rules.jsonfile import load_json
from drmodels.rules.problems import Code, Problem, error, warning

CAMERAS = ("observation", "FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS")
LIDARS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
NETWORKS = (
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "DEEP_CONVOLUTIONAL_NETWORK",
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP",
)


@dataclass(frozen=True)
class LidarConfig:
    num_sectors: int = 8
    num_values_per_sector: int = 8
    clipping_dist: float = 2.0


@dataclass(frozen=True)
class ModelMetadata:
    """A model_metadata.json normalised the way the simulation app reads it."""

    sensors: tuple[str, ...]
    """Sensor names as written ('observation' stays lower-case), simapp defaults applied."""
    neural_network: str
    training_algorithm: str
    """'clipped_ppo' or 'sac'."""
    action_space_type: str
    """'discrete' or 'continuous'."""
    discrete_actions: tuple[tuple[float, float], ...] = ()
    """(steering_angle, speed) per action, in list order; empty when continuous."""
    steering_range: tuple[float, float] | None = None
    speed_range: tuple[float, float] | None = None
    lidar_config: LidarConfig = field(default_factory=LidarConfig)
    version: float | None = None

    @property
    def is_continuous(self) -> bool:
        return self.action_space_type == "continuous"

    @property
    def action_count(self) -> int:
        return len(self.discrete_actions)


# --- parsing -------------------------------------------------------------------------------------

Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A JSON number, finite: NaN and Infinity parse (json.load takes them) but drive no car."""
COMPARED_DEPTH = 32
"""Below this depth two metadata documents are compared whole (no real file nests past 4)."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Action(_Open):
    steering_angle: Number
    speed: Number
    index: StrictInt | None = None


class _Range(_Open):
    low: Number
    high: Number


class _Continuous(_Open):
    steering_angle: _Range
    speed: _Range


class _Lidar(_Open):
    num_sectors: int = 8
    num_values_per_sector: int = 8
    clipping_dist: Number = 2.0


class _Document(_Open):
    action_space: Any = None
    sensor: list[StrictStr] | None = None
    neural_network: StrictStr | None = None
    training_algorithm: StrictStr | None = None
    action_space_type: StrictStr | None = None
    version: StrictStr | StrictInt | StrictFloat | None = None
    lidar_config: _Lidar | None = None


SIMAPP = "the DeepRacer simulation app (markov/boto/s3/files/model_metadata.py)"


class _Findings:
    """Collects problems for one file, each placed at its line and column."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.problems: list[Problem] = []

    def refuse(self, field: JsonPath, found: str, fix: str) -> None:
        name = describe_path(field)
        self.problems.append(
            error(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                self.path,
                f"{self.path}: `{name}`{where(self.text, field)} {found}.",
                fix,
            )
        )

    def warn(self, field: JsonPath, found: str, fix: str) -> None:
        name = describe_path(field)
        self.problems.append(
            warning(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                self.path,
                f"{self.path}: `{name}`{where(self.text, field)} {found}.",
                fix,
            )
        )

    def pydantic(self, exc: ValidationError, prefix: JsonPath = ()) -> None:
        for err in exc.errors():
            field = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
            self.refuse(
                field,
                f"is invalid: {err['msg'].lower()} (found {_show(err['input'])})",
                f"Correct `{describe_path(field)}` in {self.path}.",
            )


def _show(value: object) -> str:
    try:
        text = json.dumps(value) if not isinstance(value, _Open) else repr(value)
    except (ValueError, RecursionError):  # a number past the digit limit, nesting past the stack
        text = f"a {type(value).__name__} that cannot be shown"
    return text if len(text) <= 60 else text[:57] + "..."


def parse_model_metadata(path: str, data: bytes) -> tuple[ModelMetadata | None, list[Problem]]:
    """Parse a model_metadata.json as the simulation app reads it; every refusal names its field."""
    value, problem = load_json(path, data)
    if problem is not None:
        return None, [problem]
    text = decode_text(data)
    found = _Findings(path, text)
    if not isinstance(value, dict):
        found.refuse((), f"is a JSON {type(value).__name__}, not an object", "Restore the file.")
        return None, found.problems
    try:
        doc = _Document.model_validate(value)
    except ValidationError as exc:
        found.pydantic(exc)
        return None, found.problems
    metadata = _describe(doc, value, found)
    return (metadata if not any(p.is_error for p in found.problems) else None), found.problems


def _version(doc: _Document, found: _Findings) -> float | None:
    if doc.version is None:
        return None
    try:
        version = float(doc.version)
    except (ValueError, OverflowError):
        version = None
    if version is None or not math.isfinite(version):
        found.refuse(
            ("version",),
            f"is {_show(doc.version)}, not a (finite) number",
            'Use the version the trainer wrote, e.g. "5".',
        )
        return None
    return version


def _describe(doc: _Document, raw: dict[str, Any], found: _Findings) -> ModelMetadata | None:
    version = _version(doc, found)
    sensors = _sensors(doc, version, found)
    network = doc.neural_network or NETWORKS[0]
    if network not in NETWORKS:
        hint = " (LLM models have no neural-network checkpoint to import)" if network == "LLM" else ""
        found.refuse(
            ("neural_network",), f"is {_show(network)}{hint}", "Use one of " + ", ".join(NETWORKS) + "."
        )
    algorithm = (doc.training_algorithm or "clipped_ppo").lower().strip()
    if algorithm not in ("clipped_ppo", "sac"):
        found.refuse(
            ("training_algorithm",),
            f'is {_show(doc.training_algorithm)}; {SIMAPP} knows "clipped_ppo" and "sac" only',
            'Set it to "clipped_ppo" or "sac".',
        )
    space = raw.get("action_space")
    declared = doc.action_space_type.lower().strip() if doc.action_space_type is not None else None
    if declared not in (None, "discrete", "continuous"):
        found.refuse(
            ("action_space_type",),
            f'is {_show(doc.action_space_type)}; {SIMAPP} knows "discrete" and "continuous" only',
            'Set it to "discrete" for a list of actions, "continuous" for a range.',
        )
    actions: tuple[tuple[float, float], ...] = ()
    steering = speed = None
    if "action_space" not in raw:
        found.refuse(
            ("action_space",),
            "is missing; every model needs its action space",
            "Restore action_space from the model's training configuration.",
        )
    elif isinstance(space, list):
        actions = _discrete(space, found)
        if declared == "continuous":
            found.refuse(
                ("action_space_type",),
                'is "continuous" but action_space is a list of actions',
                'Set action_space_type to "discrete", or write action_space as a range.',
            )
        if algorithm == "sac":
            found.refuse(
                ("training_algorithm",),
                "is SAC, which needs a continuous action space; "
                "action_space here is a list of discrete actions",
                'Use "clipped_ppo" for a discrete action space, or give SAC a range.',
            )
    elif isinstance(space, dict):
        steering, speed = _continuous(space, found)
        if declared == "discrete":
            found.refuse(
                ("action_space_type",),
                'is "discrete" but action_space is a range '
                "(steering_angle/speed low-high); the simulation app would index it as a list",
                'Set action_space_type to "continuous", or write action_space as a list.',
            )
    else:
        found.refuse(
            ("action_space",),
            f"is {_show(space)}; expected a list of actions or a "
            "{steering_angle: {low, high}, speed: {low, high}} range",
            "Restore action_space from the model's training configuration.",
        )
    lidar = _lidar(doc, found)
    if any(p.is_error for p in found.problems):
        return None
    return ModelMetadata(
        sensors=sensors,
        neural_network=network,
        training_algorithm=algorithm,
        action_space_type="discrete" if isinstance(space, list) else "continuous",
        discrete_actions=actions,
        steering_range=steering,
        speed_range=speed,
        lidar_config=lidar,
        version=version,
    )


def _sensors(doc: _Document, version: float | None, found: _Findings) -> tuple[str, ...]:
    if (version is not None and version < 2) or (version is None and doc.sensor is None):
        return ("observation",)
    if doc.sensor is None:
        found.refuse(
            ("sensor",),
            f"is missing although version is {doc.version}",
            'Add the sensors the model was trained with, e.g. ["FRONT_FACING_CAMERA"].',
        )
        return ()
    known = CAMERAS + LIDARS
    for i, name in enumerate(doc.sensor):
        if name not in known:
            found.refuse(
                ("sensor", i),
                f"is {_show(name)}, not a DeepRacer sensor",
                "Use names from: " + ", ".join(known) + ".",
            )
    cameras = [s for s in doc.sensor if s in CAMERAS]
    if len(cameras) != 1:
        found.refuse(
            ("sensor",),
            f"lists {len(cameras)} cameras ({', '.join(cameras) or 'none'}); "
            f"{SIMAPP} requires exactly one camera sensor",
            "Keep one of " + ", ".join(CAMERAS) + ".",
        )
    lidars = [s for s in doc.sensor if s in LIDARS]
    if len(lidars) > 1:
        found.refuse(
            ("sensor",),
            f"lists {len(lidars)} lidars ({', '.join(lidars)}); at most one is allowed",
            "Keep the lidar the model was trained with.",
        )
    return tuple(doc.sensor)


def _discrete(space: list[Any], found: _Findings) -> tuple[tuple[float, float], ...]:
    if not space:
        found.refuse(
            ("action_space",),
            "is an empty list; a model needs at least one action",
            "Restore the actions the model was trained with.",
        )
        return ()
    actions = []
    for i, entry in enumerate(space):
        try:
            action = _Action.model_validate(entry)
        except ValidationError as exc:
            found.pydantic(exc, ("action_space", i))
            continue
        actions.append((action.steering_angle, action.speed))
        if action.index is not None and action.index != i:
            found.warn(
                ("action_space", i, "index"),
                f"is {action.index} at position {i}; the car and "
                "the simulator use the position in the list, not this index",
                "Reorder the actions if you expected the index to order them.",
            )
    return tuple(actions)


def _continuous(space: dict[str, Any], found: _Findings) -> tuple[tuple[float, float] | None, ...]:
    try:
        cont = _Continuous.model_validate(space)
    except ValidationError as exc:
        found.pydantic(exc, ("action_space",))
        return None, None
    ranges = []
    for name in ("steering_angle", "speed"):
        rng: _Range = getattr(cont, name)
        if rng.low > rng.high:
            found.refuse(
                ("action_space", name),
                f"has low {rng.low} greater than high {rng.high}",
                f"Swap low and high of {name}.",
            )
        ranges.append((rng.low, rng.high))
    return ranges[0], ranges[1]


def _lidar(doc: _Document, found: _Findings) -> LidarConfig:
    cfg = doc.lidar_config
    if cfg is None:
        return LidarConfig()
    if cfg.num_sectors <= 0 or 64 % cfg.num_sectors != 0:
        found.refuse(
            ("lidar_config", "num_sectors"),
            f"is {cfg.num_sectors}; it must divide the 64 lidar samples (1, 2, 4, 8, 16, 32 or 64)",
            "Use 8, the default.",
        )
    if cfg.num_values_per_sector < 1:
        found.refuse(
            ("lidar_config", "num_values_per_sector"),
            f"is {cfg.num_values_per_sector}; it must be at least 1",
            "Use 8, the default.",
        )
    return LidarConfig(cfg.num_sectors, cfg.num_values_per_sector, cfg.clipping_dist)


def metadata_differences(a: Any, b: Any, path: JsonPath = ()) -> list[str]:
    """Field paths where two parsed model_metadata.json documents differ (numbers compared by value)."""
    if len(path) >= COMPARED_DEPTH:
        try:
            same = a == b
        except RecursionError:
            same = False
        return [] if same else [describe_path(path)]
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(describe_path((*path, key)))
            else:
                out.extend(metadata_differences(a[key], b[key], (*path, key)))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{describe_path(path)} ({len(a)} vs {len(b)} entries)"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in metadata_differences(x, y, (*path, i))
        ]
    return [] if (a == b and type(a) is type(b)) or _same_number(a, b) else [describe_path(path)]


def _same_number(a: Any, b: Any) -> bool:
    numeric = (int, float)
    return isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and a == b
