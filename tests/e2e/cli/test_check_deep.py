"""`drmodels check` with deep validation: on by default for folders and archives, `--deep` for S3."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drmodels.cli.app import app
from drmodels.sample.model import SampleOptions, write_sample
from support import servers

runner = CliRunner()
SMALL = SampleOptions(network="DEEP_CONVOLUTIONAL_NETWORK_DEEP")  # ~30 MiB, real names and shapes


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deep-sample") / "model"
    write_sample(folder, SMALL)
    return folder


def check(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", *args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_folder_is_deep_checked_by_default(model: Path) -> None:
    code, out = check(str(model))
    assert code == 0 and out["problems"] == []
    names = [c["name"] for c in out["checkpoints"]]
    assert names == list(out["plan"]["checkpoints"])
    tensors = {t["name"]: t for t in out["checkpoints"][0]["tensors"]}
    kernel = tensors["main_level/agent/main/online/network_1/ppo_head_0/policy_fc/kernel"]
    assert kernel["dtype"] == "float32" and kernel["shape"][-1] == SMALL.actions
    code, out = check(str(model), "--no-deep")
    assert code == 0 and out["checkpoints"] is None


def test_archive_of_the_folder_is_deep_checked(model: Path, tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(model, arcname="my-model")
    code, out = check(str(archive))
    assert code == 0 and len(out["checkpoints"]) == 2


def test_s3_deep_on_request_catches_an_edited_tensor(
    model: Path, aws_env: servers.Seaweed, bucket: str, upload: Callable[[Path, str, str], int], s3_admin: Any
) -> None:
    upload(model, bucket, "m")
    code, out = check(f"s3://{bucket}/m")
    assert code == 0 and out["checkpoints"] is None  # S3: listing and control files only, by default
    code, out = check(f"s3://{bucket}/m", "--deep")
    assert code == 0 and len(out["checkpoints"]) == 2, out["problems"]

    name = out["plan"]["checkpoints"][-1]
    key = f"m/model/{name}.data-00000-of-00001"
    data = bytearray(s3_admin.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF
    s3_admin.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    code, out = check(f"s3://{bucket}/m", "--deep")
    assert code == 1
    problem = out["problems"][0]
    assert problem["code"] == "MODEL_VALIDATION_SERVICE_ERROR"
    assert problem["path"] == f"model/{name}.data-00000-of-00001"
    assert "main_level/agent/" in problem["explanation"]  # names the tensor whose bytes changed
