"""Write a complete, genuine DeepRacer model folder: the entry point of `drmodels sample`.

Layout (the prefix root a trainer leaves in S3):
  reward_function.py, training_params.yaml, ip/hyperparameters.json, metrics/TrainingMetrics.json,
  model/model_metadata.json, model/deepracer_checkpoints.json, model/.coach_checkpoint,
  model/<iter>_Step-<steps>.ckpt.{index,meta,data-00000-of-00001} (best and last checkpoint),
  model/model_<iter>.pb (their frozen graphs) and model/model.tar.gz (the car's archive, built
  from the best checkpoint's graph). Same options -> same bytes.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from drmodels.errors import DrmodelsError
from drmodels.formats.bundle_writer import TensorSpec, write_checkpoint
from drmodels.formats.car_archive import build_car_archive
from drmodels.rules.metadata import NETWORKS, ModelMetadata, parse_model_metadata
from drmodels.sample import control_files
from drmodels.sample.frozen_graph import frozen_graph
from drmodels.sample.meta_graph import meta_graph
from drmodels.sample.weights import WeightSource

DEFAULT_ACTIONS = 5
CHECKPOINTS = ((3, 2318, 71.4), (5, 3921, 64.9))
"""(iteration, steps, average evaluation progress) of the checkpoints kept: best first, then last."""


class SampleError(DrmodelsError, ValueError):
    """The options do not describe a model DeepRacer can train, or the folder is not empty."""


@dataclass(frozen=True)
class SampleOptions:
    network: str = NETWORKS[0]
    sensors: tuple[str, ...] = ("FRONT_FACING_CAMERA",)
    algorithm: str = "clipped_ppo"
    continuous: bool = False
    actions: int = DEFAULT_ACTIONS
    car_archive: bool = True
    seed: int = 2018

    def metadata_document(self) -> dict[str, object]:
        return control_files.model_metadata(
            network=self.network,
            sensors=self.sensors,
            algorithm=self.algorithm,
            continuous=self.continuous or self.algorithm == "sac",
            actions=self.actions,
        )


@dataclass
class SampleResult:
    folder: Path
    metadata: ModelMetadata
    files: list[tuple[str, int]] = field(default_factory=list)
    """(path relative to the folder, size in bytes), in writing order."""
    checkpoints: list[str] = field(default_factory=list)
    tensors: int = 0


def metadata_for(options: SampleOptions) -> tuple[bytes, ModelMetadata]:
    """model_metadata.json bytes, parsed by the same rules `drmodels check` applies."""
    if options.actions < 1:
        raise SampleError(f"--actions must be at least 1 (got {options.actions})")
    data = control_files.dumps(options.metadata_document())
    metadata, problems = parse_model_metadata("model/model_metadata.json", data)
    errors = [p.explanation for p in problems if p.is_error]
    if metadata is None or errors:
        raise SampleError("; ".join(errors) or "model_metadata.json does not parse")
    return data, metadata


def is_empty(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def write_sample(folder: Path, options: SampleOptions, *, force: bool = False) -> SampleResult:
    """Write the model into `folder` (refused when it holds anything, unless `force`)."""
    if folder.exists() and not folder.is_dir():
        raise SampleError(f"{folder} exists and is not a folder")
    if not force and not is_empty(folder):
        raise SampleError(
            f"{folder} is not empty; choose an empty or new folder, or pass --force to overwrite"
        )
    metadata_bytes, metadata = metadata_for(options)
    result = SampleResult(folder, metadata)

    def put(key: str, data: bytes) -> Path:
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        result.files.append((key, len(data)))
        return path

    put("reward_function.py", control_files.REWARD_FUNCTION.encode())
    put("training_params.yaml", control_files.TRAINING_PARAMS.encode())
    put(
        "ip/hyperparameters.json",
        control_files.dumps(control_files.hyperparameters(metadata.training_algorithm)),
    )
    put(
        "metrics/TrainingMetrics.json",
        control_files.dumps(control_files.training_metrics(options.seed, CHECKPOINTS[-1][0])),
    )
    put("model/model_metadata.json", metadata_bytes)

    meta_bytes, variables = meta_graph(metadata)
    source = WeightSource(options.seed)
    graphs: list[Path] = []
    for iteration, steps, _metric in CHECKPOINTS:
        name = f"{iteration}_Step-{steps}.ckpt"
        prefix = folder / "model" / name

        values = functools.partial(source.tensor, salt=name)
        specs = [TensorSpec(v.name, v.shape, functools.partial(values, v.name, v.shape)) for v in variables]
        written = write_checkpoint(prefix, specs)
        for suffix in (".data-00000-of-00001", ".index"):
            key = f"model/{name}{suffix}"
            result.files.append((key, (folder / key).stat().st_size))
        put(f"model/{name}.meta", meta_bytes)
        graphs.append(put(f"model/model_{iteration}.pb", frozen_graph(metadata, values)))
        result.checkpoints.append(name)
        result.tensors = len(written)

    best, last = result.checkpoints[0], result.checkpoints[-1]
    pointers = control_files.checkpoints_json(best, last, CHECKPOINTS[0][2], CHECKPOINTS[-1][2])
    put("model/deepracer_checkpoints.json", json.dumps(pointers).encode())
    put("model/.coach_checkpoint", last.encode())
    archive = folder / "model" / "model.tar.gz"
    if options.car_archive:
        out = io.BytesIO()
        with graphs[0].open("rb") as graph:
            build_car_archive(graph, graphs[0].stat().st_size, metadata_bytes, out)
        put("model/model.tar.gz", out.getvalue())
    elif archive.exists():
        archive.unlink()  # --force over an earlier sample: the car archive would be stale
    return result
