"""Builders of DeepRacer model folders for tests: our own files, shaped like what real trainers write.

Each builder reproduces one family of `shared/notes/real-models.md` (console, DeepRacer-for-Cloud,
DeepRacer-on-the-Spot, console export, 2020 console model...). Checkpoint and graph bytes are
placeholders of realistic names and small sizes; deep validation tests build real ones with TF.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

REWARD = b"""import math


def reward_function(params):
    '''Stay near the centre line.'''
    distance = params["distance_from_center"]
    width = params["track_width"]
    return float(1.0 - min(1.0, distance / (0.5 * width))) + 1e-3
"""

HYPERPARAMETERS = {
    "batch_size": 64, "beta_entropy": 0.01, "discount_factor": 0.999, "e_greedy_value": 0.05,
    "epsilon_steps": 10000, "exploration_type": "categorical", "loss_type": "huber", "lr": 0.0003,
    "num_episodes_between_training": 20, "num_epochs": 10, "stack_size": 1,
    "term_cond_avg_score": 350.0, "term_cond_max_episodes": 1000,
}  # fmt: skip

DISCRETE_ACTIONS = [
    {"steering_angle": s, "speed": v, "index": i}
    for i, (s, v) in enumerate([(-30, 0.5), (-30, 1), (0, 1), (0, 2.5), (30, 1), (30, 0.5)])
]

DISCRETE_METADATA = {
    "action_space": DISCRETE_ACTIONS,
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5",
}

CONTINUOUS_METADATA = {
    "action_space": {"steering_angle": {"high": 27, "low": -25}, "speed": {"high": 3.3, "low": 1}},
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "continuous",
    "version": "5",
    "preprocess_type": "GREY_SCALE",
    "regional_parameters": ["0", "0", "0", "0"],
}

DRFC_TRAINING_PARAMS = b"""---
'ALTERNATE_DRIVING_DIRECTION': 'False'
'AWS_REGION': 'us-east-1'
'BEST_MODEL_METRIC': 'progress'
'CHANGE_START_POSITION': 'True'
'JOB_TYPE': 'TRAINING'
'MODEL_METADATA_FILE_S3_KEY': 'rl-deepracer-sagemaker/custom_files/model_metadata.json'
'NUM_WORKERS': '6'
'REVERSE_DIR': !!bool 'false'
'ROBOMAKER_SIMULATION_JOB_ACCOUNT_ID': 'Dummy'
'TRAINING_JOB_ARN': 'arn:Dummy'
'WORLD_NAME': 'reInvent2019_track_ccw'
"""

CONSOLE_TRAINING_PARAMS = b"""---
AWS_REGION: "us-east-1"
JOB_TYPE: "TRAINING"
WORLD_NAME: "reInvent2019_track"
TRACK_DIRECTION_CLOCKWISE: "false"
CHANGE_START_POSITION: true
ALTERNATE_DRIVING_DIRECTION: false
MODEL_METADATA_FILE_S3_KEY: "data-1/models/2/model_metadata.json"
"""

TRAINING_METRICS = {
    "metrics": [
        {"reward_score": 12, "metric_time": 1686000000000, "start_time": 1685999990000,
         "elapsed_time_in_milliseconds": 10000, "episode": 1, "trial": 1, "phase": "training",
         "completion_percentage": 23, "episode_status": "Off track"},
    ],
    "version": 2.0,
    "best_model_metric": "progress",
}  # fmt: skip

EVALUATION_METRICS = {
    "metrics": [
        {"completion_percentage": 100, "metric_time": 1686000100000, "start_time": 1686000000000,
         "elapsed_time_in_milliseconds": 100000, "episode_status": "Lap complete", "crash_count": 0,
         "immobilized_count": 0, "off_track_count": 0, "reversed_count": 0, "reset_count": 0, "trial": 1},
    ]
}  # fmt: skip

NOT_JSON_GRAPH_DUMP = b"done_condition: \n<built-in function any>\nsess: <tensorflow.Session object>\n"


def dumps(value: object) -> bytes:
    """Compact JSON without a final newline, as the trainers' tools write it."""
    return json.dumps(value).encode()


@dataclass
class ModelFolder:
    root: Path

    def write(self, key: str, data: bytes | str | object) -> ModelFolder:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        elif not isinstance(data, bytes):
            data = json.dumps(data, indent=4).encode()
        path.write_bytes(data)
        return self

    def remove(self, *keys: str) -> ModelFolder:
        for key in keys:
            (self.root / key).unlink()
        return self

    def has(self, key: str) -> bool:
        return (self.root / key).exists()

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def sparse(self, key: str, size: int) -> ModelFolder:
        """A file of `size` bytes that takes no disk space, for size-limit tests."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            f.truncate(size)
        return self

    def checkpoint(self, iteration: int, steps: int, *, data: bool = True, graph: bool = True) -> str:
        name = f"{iteration}_Step-{steps}.ckpt"
        self.write(f"model/{name}.index", b"\x00index:" + name.encode())
        self.write(f"model/{name}.meta", b"\x0ameta:" + name.encode() * 20)
        if data:
            self.write(f"model/{name}.data-00000-of-00001", bytes(range(256)) * 8)
        if graph:
            self.write(f"model/model_{iteration}.pb", b"\x0a\x04node" + name.encode())
        return name

    def keys(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def pack(self, target: Path, top: str = "") -> Path:
        """The folder as a .tar.gz, optionally under one top folder."""
        with tarfile.open(target, "w:gz") as tar:
            for key in self.keys():
                tar.add(self.root / key, arcname=top + key)
        return target


def car_archive_bytes(metadata: dict[str, object] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (
            ("agent/model.pb", b"\x0a\x04node"),
            ("model_metadata.json", dumps(metadata or DISCRETE_METADATA)),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def console_model(root: Path, metadata: dict[str, object] | None = None) -> ModelFolder:
    """The spec's layout: root reward and params, ip/hyperparameters.json, model/ with the pointer,
    two checkpoints and the car archive."""
    folder = ModelFolder(root)
    folder.write("reward_function.py", REWARD)
    folder.write("training_params.yaml", CONSOLE_TRAINING_PARAMS)
    folder.write("ip/hyperparameters.json", HYPERPARAMETERS)
    folder.write("model/model_metadata.json", metadata or DISCRETE_METADATA)
    folder.checkpoint(3, 124)
    last = folder.checkpoint(4, 162)
    folder.write("model/.coach_checkpoint", last)
    folder.write("model/model.tar.gz", car_archive_bytes(metadata))
    return folder


def on_the_spot_model(root: Path) -> ModelFolder:
    """DeepRacer-on-the-Spot / DRfC training prefix with the JSON pointer, workers' metrics, markers,
    checkpoints newer than `last` and older unnamed ones, and the car archive at the root."""
    folder = ModelFolder(root)
    folder.write("reward_function.py", REWARD)
    folder.write("training_params.yaml", DRFC_TRAINING_PARAMS)
    folder.write("ip/hyperparameters.json", HYPERPARAMETERS)
    folder.write("ip/done", b"done")
    folder.write("ip/ip.json", b'{"IP": "10.0.1.22"}')
    folder.write("model/model_metadata.json", CONTINUOUS_METADATA)
    folder.write("model/.ready", b"")
    best = folder.checkpoint(26, 7315)
    folder.checkpoint(30, 10123)
    last = folder.checkpoint(31, 11433)
    folder.checkpoint(32, 11801)
    folder.write("model/deepracer_checkpoints.json", dumps({
        "best_checkpoint": {"name": best, "avg_eval_metric": 100, "time_stamp": 10962.444},
        "last_checkpoint": {"name": last, "avg_eval_metric": 47.53845111009718, "time_stamp": 12065.325},
    }))  # fmt: skip
    folder.write("model/.coach_checkpoint", last)
    folder.write("metrics/TrainingMetrics.json", dumps(TRAINING_METRICS))
    for worker in range(1, 6):
        folder.write(f"metrics/TrainingMetrics_{worker}.json", dumps(TRAINING_METRICS))
    folder.write("output.tar.gz", car_archive_bytes())  # not the car archive: SageMaker's output
    folder.write("model.tar.gz", car_archive_bytes(CONTINUOUS_METADATA))
    return folder


def drfc_upload(root: Path) -> ModelFolder:
    """A DeepRacer-for-Cloud prefix as users upload it: no model.tar.gz, the pointer without its dot,
    reward function and metadata still in custom_files/."""
    folder = ModelFolder(root)
    folder.write("custom_files/reward_function.py", REWARD)
    folder.write("custom_files/model_metadata.json", DISCRETE_METADATA)
    folder.write("custom_files/hyperparameters.json", HYPERPARAMETERS)
    folder.write("ip/hyperparameters.json", HYPERPARAMETERS)
    folder.write("model/model_metadata.json", DISCRETE_METADATA)
    folder.checkpoint(16, 32917)
    last = folder.checkpoint(17, 37295)
    folder.write("model/coach_checkpoint", last + "\n")
    folder.write("training_params.yaml", DRFC_TRAINING_PARAMS)
    folder.write("metrics/TrainingMetrics.json", dumps(TRAINING_METRICS))
    folder.write("metrics/EvaluationMetrics-20220831201712.json", dumps(EVALUATION_METRICS))
    return folder


def console_export(root: Path) -> ModelFolder:
    """The console's "Download model" export: metadata at the root and in model/, a training_params
    file named with a UUID, console metrics and logs, a dotless pointer beside the JSON."""
    folder = ModelFolder(root)
    folder.write("reward_function.py", REWARD)
    folder.write("model_metadata.json", dumps(CONTINUOUS_METADATA))
    folder.write("model/model_metadata.json", dumps(CONTINUOUS_METADATA))
    folder.write("ip/hyperparameters.json", HYPERPARAMETERS)
    folder.write("training_params_b080e2d4-7d55-4c86-b1d5-f3e0b1c4a2a1.yaml", CONSOLE_TRAINING_PARAMS)
    folder.write("metrics/training/training-20230601120000-abc123.json", dumps(TRAINING_METRICS))
    folder.write("metrics/evaluation/evaluation-20230601130000-def456.json", dumps(EVALUATION_METRICS))
    folder.write("logs/evaluation/evaluation-20230601130000-def456-robomaker.txt", b"sim log\n")
    best = folder.checkpoint(140, 123889)
    folder.checkpoint(144, 130000, graph=False)
    last = folder.checkpoint(145, 136982)
    folder.checkpoint(146, 139000)
    folder.write("model/coach_checkpoint", best)
    folder.write("model/deepracer_checkpoints.json", dumps({
        "best_checkpoint": {"name": best, "avg_eval_metric": 100, "time_stamp": 10962.444},
        "last_checkpoint": {"name": last, "avg_eval_metric": 47.5, "time_stamp": 12065.325},
    }))  # fmt: skip
    folder.write("ddd-ver6-model.tar.gz", car_archive_bytes(CONTINUOUS_METADATA))
    return folder


def console_2020_model(root: Path) -> ModelFolder:
    """A 2020 console model copied from S3: .coach_checkpoint only, an extracted car archive in
    model-artifacts/ whose worker_0 graph dump is named .json but is not JSON."""
    folder = ModelFolder(root)
    folder.write("reward_function.py", REWARD)
    folder.write("ip/hyperparameters.json", HYPERPARAMETERS)
    metadata = {
        "action_space": DISCRETE_ACTIONS,
        "sensor": ["FRONT_FACING_CAMERA"],
        "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
        "version": "3",
    }
    folder.write("model/model_metadata.json", dumps(metadata))
    folder.checkpoint(10, 35000)
    name = folder.checkpoint(11, 38428)
    folder.checkpoint(12, 40000, data=False)
    folder.write("model/.coach_checkpoint", name)
    folder.write("model-artifacts/model_metadata.json", dumps(metadata))
    folder.write("model-artifacts/worker_0.multi_agent_graph_0.json", NOT_JSON_GRAPH_DUMP)
    folder.write("model-artifacts/agent/model.pb", b"\x0a\x04node")
    return folder
