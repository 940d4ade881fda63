"""A model written by real TensorFlow passes the deep checks on the stored copy and becomes READY;
the same model with a corrupted checkpoint shard is refused and leaves nothing in the store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drmodels.adapters.store.local import LocalStore
from drmodels.adapters.store.s3 import S3Store
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from drmodels.service.store_keys import model_prefix
from support import servers
from support.deps import make_deps, service
from support.import_fixtures import HYPERPARAMETERS, REWARD

pytestmark = pytest.mark.tf
MAKER = Path(__file__).parents[2] / "support" / "make_tf_models.py"


@pytest.fixture(scope="module")
def tf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ppo_discrete from tests/support/make_tf_models.py (TensorFlow runs in a subprocess), plus the
    control files the import needs."""
    reuse = os.environ.get("DRMODELS_TF_MODELS")
    if reuse and (Path(reuse) / "ppo_discrete").is_dir():
        built = Path(reuse)
    else:
        probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True)
        if probe.returncode != 0:
            pytest.fail("tensorflow-cpu (a test dependency) is not installed: pip install -e '.[test]'")
        built = tmp_path_factory.mktemp("tf")
        run = subprocess.run([sys.executable, str(MAKER), str(built), "--only", "ppo_discrete"],
                             capture_output=True, text=True, timeout=900)  # fmt: skip
        assert run.returncode == 0, run.stderr[-4000:]
    model = tmp_path_factory.mktemp("tfmodel") / "ppo"
    shutil.copytree(built / "ppo_discrete", model)
    (model / "reward_function.py").write_text(REWARD)
    (model / "ip").mkdir(exist_ok=True)
    (model / "ip" / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))
    return model


def _local(tmp_path: Path) -> ModelService:
    return service(tmp_path, store=LocalStore(tmp_path / "store"), deep=True)


def test_real_model_is_ready_with_deep_checks(tf_model: Path, tmp_path: Path) -> None:
    svc = _local(tmp_path)
    assert svc.deps.options.deep
    job = svc.accept("real", str(tf_model)).job_id
    assert run_import(job, svc.deps) == "READY", [
        d["explanation"] for d in svc.get("real").error_details or []
    ]
    model = svc.get("real")
    assert model.packaging_complete and model.checkpoints


def test_corrupted_shard_is_refused(tf_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tf_model, broken)
    shard = next((broken / "model").glob("*.data-00000-of-00001"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one flipped byte: only the tensor CRCs can tell
    shard.write_bytes(bytes(data))
    svc = _local(tmp_path)
    assert run_import(svc.accept("flipped", str(broken)).job_id, svc.deps) == "IMPORT_ERROR"
    model = svc.get("flipped")
    assert model.error_code == "MODEL_VALIDATION_SERVICE_ERROR"
    assert not (tmp_path / "store" / model_prefix(model.id)).exists()


@pytest.mark.servers
def test_real_model_s3_to_s3_with_deep_checks(
    tf_model: Path, aws_env: servers.Seaweed, s3_admin: Any, bucket: str,
    upload: Callable[[Path, str, str], int], tmp_path: Path,
) -> None:  # fmt: skip
    upload(tf_model, bucket, "real")
    store_bucket = f"drm-deepstore-{uuid.uuid4().hex[:8]}"
    s3_admin.create_bucket(Bucket=store_bucket)
    deps = make_deps(tmp_path, store=S3Store.from_url(f"s3://{store_bucket}/s"), deep=True)
    svc = ModelService(deps)
    assert run_import(svc.accept("real-s3", f"s3://{bucket}/real").job_id, deps) == "READY", svc.get(
        "real-s3"
    ).error_details
    # validated once, at the source (pinned to the listed ETags), never read back from the S3 store
    store_requests = deps.store.requests  # type: ignore[attr-defined]
    assert store_requests["GetObject"] == 0 and store_requests["CopyObject"] > 0
    assert deps.sources.requests["GetObject"] > len(svc.get("real-s3").checkpoints or [])  # type: ignore[attr-defined]
