"""The small files of a sample model: reward function, hyperparameters, metadata, pointers, metrics.

Shaped like what the DeepRacer console and DeepRacer-for-Cloud write (see tests/modelfolders.py
and the team's notes on real models); every value is fixed or drawn from a seeded generator.
"""

from __future__ import annotations

import json
from random import Random
from typing import Any

REWARD_FUNCTION = '''"""Sample reward: stay near the centre line, go faster on the straights."""


def reward_function(params):
    """Return a reward in [1e-3, 1.5] for one simulation step."""
    if params["is_offtrack"] or not params["all_wheels_on_track"]:
        return 1e-3
    distance = params["distance_from_center"]
    half_width = 0.5 * params["track_width"]
    centred = 1.0 - min(1.0, distance / half_width)
    speed_bonus = 0.5 * min(1.0, params["speed"] / 4.0) if abs(params["steering_angle"]) < 10 else 0.0
    return float(max(1e-3, centred + speed_bonus))
'''

TRAINING_PARAMS = """---
AWS_REGION: "us-east-1"
JOB_TYPE: "TRAINING"
WORLD_NAME: "reInvent2019_track"
TRACK_DIRECTION_CLOCKWISE: "false"
CHANGE_START_POSITION: true
ALTERNATE_DRIVING_DIRECTION: false
NUMBER_OF_EPISODES: "0"
RACE_TYPE: "TIME_TRIAL"
MODEL_METADATA_FILE_S3_KEY: "drmodels-sample/model/model_metadata.json"
REWARD_FILE_S3_KEY: "drmodels-sample/reward_function.py"
METRICS_S3_OBJECT_KEY: "drmodels-sample/metrics/TrainingMetrics.json"
SAGEMAKER_SHARED_S3_PREFIX: "drmodels-sample"
"""

STEERING_LIMIT = 30.0
SPEED_RANGE = (1.0, 3.0)


def dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=4) + "\n").encode()


def discrete_actions(count: int) -> list[dict[str, Any]]:
    """`count` actions from full left to full right, fastest when straight."""
    actions = []
    for i in range(count):
        steering = 0.0 if count == 1 else round(-STEERING_LIMIT + 2 * STEERING_LIMIT * i / (count - 1), 1)
        low, high = SPEED_RANGE
        speed = round(high - (high - low) * abs(steering) / STEERING_LIMIT, 2)
        actions.append({"steering_angle": steering, "speed": speed, "index": i})
    return actions


def model_metadata(
    *, network: str, sensors: tuple[str, ...], algorithm: str, continuous: bool, actions: int
) -> dict[str, Any]:
    space: Any
    if continuous:
        space = {
            "steering_angle": {"high": STEERING_LIMIT, "low": -STEERING_LIMIT},
            "speed": {"high": 4.0, "low": 0.5},
        }
    else:
        space = discrete_actions(actions)
    doc: dict[str, Any] = {
        "action_space": space,
        "sensor": list(sensors),
        "neural_network": network,
        "training_algorithm": algorithm,
        "action_space_type": "continuous" if continuous else "discrete",
        "version": "5",
    }
    if "DISCRETIZED_SECTOR_LIDAR" in sensors:
        doc["lidar_config"] = {"num_sectors": 8, "num_values_per_sector": 8, "clipping_dist": 2.0}
    return doc


def hyperparameters(algorithm: str) -> dict[str, Any]:
    common: dict[str, Any] = {
        "batch_size": 64,
        "discount_factor": 0.999,
        "lr": 0.0003,
        "num_episodes_between_training": 20,
        "num_epochs": 10,
        "stack_size": 1,
        "term_cond_avg_score": 350.0,
        "term_cond_max_episodes": 1000,
    }
    if algorithm == "sac":
        return {
            **common,
            "sac_alpha": 0.2,
            "exploration_type": "additive_noise",
            "loss_type": "mean squared error",
        }
    return {
        **common,
        "beta_entropy": 0.01,
        "e_greedy_value": 0.05,
        "epsilon_steps": 10000,
        "exploration_type": "categorical",
        "loss_type": "huber",
    }


def checkpoints_json(best: str, last: str, best_metric: float, last_metric: float) -> dict[str, Any]:
    return {
        "best_checkpoint": {"name": best, "avg_eval_metric": best_metric, "time_stamp": 1735689600.0},
        "last_checkpoint": {"name": last, "avg_eval_metric": last_metric, "time_stamp": 1735690500.0},
    }


def training_metrics(seed: int, iterations: int, episodes_per_iteration: int = 4) -> dict[str, Any]:
    """TrainingMetrics.json in the simulation app's format: training episodes, then an evaluation."""
    rng = Random(seed)
    metrics = []
    clock = 1735689000000
    episode = 0
    for iteration in range(iterations + 1):
        skill = min(1.0, 0.15 + 0.17 * iteration)
        for phase, count in (("training", episodes_per_iteration), ("evaluation", 1)):
            for trial in range(1, count + 1):
                progress = round(min(100.0, 100 * skill * (0.6 + 0.5 * rng.random())), 2)
                elapsed = int(9000 + 300 * progress + 1000 * rng.random())
                if phase == "training":
                    episode += 1
                entry = {
                    "reward_score": round(progress * (1.2 + rng.random()), 3),
                    "metric_time": clock + elapsed,
                    "start_time": clock,
                    "elapsed_time_in_milliseconds": elapsed,
                    "episode": episode,
                    "trial": trial,
                    "phase": phase,
                    "completion_percentage": progress,
                    "episode_status": "Lap complete" if progress >= 100 else "Off track",
                }
                metrics.append(entry)
                clock += elapsed + 500
    return {"metrics": metrics, "version": 2.0, "best_model_metric": "progress"}
