"""Fixtures for the import tests: model folders, a registry (SQLite or a throwaway PostgreSQL database)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from drmodels.registry.db import Registry

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

METADATA = {
    "action_space": [
        {"steering_angle": -30.0, "speed": 1.0, "index": 0},
        {"steering_angle": 0.0, "speed": 2.0, "index": 1},
        {"steering_angle": 30.0, "speed": 1.0, "index": 2},
    ],
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5",
}
HYPERPARAMETERS = {"batch_size": 64, "lr": 0.0003, "discount_factor": 0.99, "num_epochs": 10}
REWARD = "def reward_function(params):\n    return 1.0\n"


def checkpoint_name(i: int) -> str:
    return f"{i}_Step-{i * 100 + 62}.ckpt"


def write_model(
    root: Path,
    checkpoints: int = 3,
    *,
    with_graph: bool = True,
    car_archive: bytes | None = None,
    data_size: int = 4096,
    extras: bool = True,
) -> Path:
    """A DeepRacer model folder: the latest `checkpoints` checkpoints; best = second to last."""
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    (root / "ip").mkdir(exist_ok=True)
    (root / "reward_function.py").write_text(REWARD)
    (root / "ip" / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))
    (model / "model_metadata.json").write_text(json.dumps(METADATA))
    for i in range(checkpoints):
        name = checkpoint_name(i)
        (model / f"{name}.index").write_bytes(f"index {i}".encode() * 8)
        (model / f"{name}.meta").write_bytes(f"meta {i}".encode() * 16)
        (model / f"{name}.data-00000-of-00001").write_bytes(bytes([i % 256]) * data_size)
        if with_graph:
            (model / f"model_{i}.pb").write_bytes(f"graph {i} ".encode() * 200)
    last = checkpoint_name(checkpoints - 1)
    best = checkpoint_name(max(0, checkpoints - 2))
    pointer = {
        "best_checkpoint": {"name": best, "time": 1.0, "avg_eval_metric": 2.0},
        "last_checkpoint": {"name": last, "time": 2.0, "avg_eval_metric": 1.0},
    }
    (model / "deepracer_checkpoints.json").write_text(json.dumps(pointer))
    (model / ".coach_checkpoint").write_text(last + "\n")
    if car_archive is not None:
        (model / "model.tar.gz").write_bytes(car_archive)
    if extras:
        (root / "training_params.yaml").write_text("WORLD_NAME: reInvent2019_track\nRACE_TYPE: TIME_TRIAL\n")
        (root / "metrics").mkdir(exist_ok=True)
        (root / "metrics" / "TrainingMetrics.json").write_text('{"metrics": []}')
    return root


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh registry database: a SQLite file, or a throwaway PostgreSQL database (server required)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    with pg_database() as url:
        yield url


class _PgDatabase:
    def __init__(self) -> None:
        self.name = f"drmodels_test_{uuid.uuid4().hex[:12]}"
        self.admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    def __exit__(self, *_: object) -> None:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def pg_database() -> _PgDatabase:
    return _PgDatabase()


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    reg = Registry(registry_url)
    yield reg
    reg.close()
