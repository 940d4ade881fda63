"""End-to-end imports from SeaweedFS: into an S3 store (server-side copy) or a local store (streamed)."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drmodels.adapters.ports import ModelStore
from drmodels.adapters.store.local import LocalStore
from drmodels.adapters.store.s3 import S3Store
from drmodels.rules.limits import Limits
from drmodels.service.download import download_car, download_model
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from drmodels.service.store_keys import model_prefix
from support import servers
from support.deps import service
from support.import_fixtures import checkpoint_name, write_model

pytestmark = pytest.mark.servers

Upload = Callable[[Path, str, str], int]


def _s3_service(tmp_path: Path, store_bucket: str, limits: Limits | None = None) -> ModelService:
    return service(tmp_path, store=S3Store.from_url(f"s3://{store_bucket}/store"), limits=limits)


def _local_service(tmp_path: Path) -> ModelService:
    return service(tmp_path, store=LocalStore(tmp_path / "store"))


def _store_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", ()))


def _manifest(svc: ModelService, name: str) -> list[tuple[str, int, str | None]]:
    m = svc.get(name)
    return [(e["key"], e["size"], e["checksum"]) for e in m.manifest or []]


@pytest.fixture
def store_bucket(s3_admin: Any) -> str:
    name = f"drm-store-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=name)
    return name


def test_s3_to_s3_success_copies_two_of_twenty_checkpoints(
    aws_env: servers.Seaweed, s3_admin: Any, bucket: str, store_bucket: str, upload: Upload, tmp_path: Path
) -> None:
    src = write_model(tmp_path / "src", checkpoints=20)
    upload(src, bucket, "models/m1")
    svc = _s3_service(tmp_path, store_bucket)
    accepted = svc.accept("s3-model", f"s3://{bucket}/models/m1", "from S3")
    assert run_import(accepted.job_id, svc.deps) == "READY"
    model = svc.get("s3-model")
    assert model.checkpoints == [checkpoint_name(18), checkpoint_name(19)]
    keys = _store_keys(s3_admin, store_bucket)
    assert sum(".ckpt." in k for k in keys) == 6
    assert f"store/{model_prefix(model.id)}/model.tar.gz" in keys
    assert model.packaging_complete
    # the source is untouched, and deleting removes every stored byte
    before = _store_keys(s3_admin, bucket)
    svc.delete("s3-model")
    assert _store_keys(s3_admin, store_bucket) == []
    assert _store_keys(s3_admin, bucket) == before


def test_round_trip_download_reimports_identical(
    aws_env: servers.Seaweed, bucket: str, store_bucket: str, upload: Upload, tmp_path: Path
) -> None:
    src = write_model(tmp_path / "src", checkpoints=4)
    upload(src, bucket, "rt")
    svc = _s3_service(tmp_path, store_bucket)
    assert run_import(svc.accept("first", f"s3://{bucket}/rt").job_id, svc.deps) == "READY"
    archive = tmp_path / "first.tar.gz"
    with archive.open("wb") as out:
        download_model(svc.deps.store, svc.get("first"), out)
    assert run_import(svc.accept("second", str(archive)).job_id, svc.deps) == "READY"
    assert _manifest(svc, "first") == _manifest(svc, "second")
    first, second = io.BytesIO(), io.BytesIO()
    download_car(svc.deps.store, svc.get("first"), first)
    download_car(svc.deps.store, svc.get("second"), second)
    assert first.getvalue() == second.getvalue()
    a, b = svc.get("first"), svc.get("second")
    assert (a.size_bytes, a.checkpoints, a.car_configuration) == (
        b.size_bytes,
        b.checkpoints,
        b.car_configuration,
    )


def test_car_archive_equal_in_members_to_uploaded_one(
    aws_env: servers.Seaweed, bucket: str, store_bucket: str, upload: Upload, tmp_path: Path
) -> None:
    """The archive built from model_N.pb has the members of the one a user uploads beside it."""
    built_src = write_model(tmp_path / "built", checkpoints=3)
    graph = (built_src / "model" / "model_1.pb").read_bytes()
    metadata = (built_src / "model" / "model_metadata.json").read_bytes()
    user = io.BytesIO()
    with tarfile.open(fileobj=user, mode="w:gz") as tar:
        for name, data in (("agent/model.pb", graph), ("model_metadata.json", metadata)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    uploaded_src = write_model(tmp_path / "uploaded", checkpoints=3, car_archive=user.getvalue())
    upload(built_src, bucket, "built")
    upload(uploaded_src, bucket, "uploaded")
    svc = _s3_service(tmp_path, store_bucket)
    for name in ("built", "uploaded"):
        assert run_import(svc.accept(name, f"s3://{bucket}/{name}").job_id, svc.deps) == "READY"

    def members(name: str) -> dict[str, bytes]:
        out = io.BytesIO()
        download_car(svc.deps.store, svc.get(name), out)
        out.seek(0)
        with tarfile.open(fileobj=out) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]

    assert members("built") == members("uploaded")


def test_s3_to_local_store_streams(
    aws_env: servers.Seaweed, bucket: str, upload: Upload, tmp_path: Path
) -> None:
    src = write_model(tmp_path / "src", checkpoints=3, data_size=40 * 1024 * 1024 // 16)
    upload(src, bucket, "m")
    svc = _local_service(tmp_path)
    assert run_import(svc.accept("streamed", f"s3://{bucket}/m").job_id, svc.deps) == "READY"
    model = svc.get("streamed")
    stored = tmp_path / "store" / model_prefix(model.id) / "virtual" / "model"
    name = checkpoint_name(2)
    assert (stored / f"{name}.data-00000-of-00001").read_bytes() == (
        src / "model" / f"{name}.data-00000-of-00001"
    ).read_bytes()


def test_multipart_write_into_s3_store(aws_env: servers.Seaweed, store_bucket: str, tmp_path: Path) -> None:
    store: ModelStore = S3Store.from_url(f"s3://{store_bucket}/x")
    data = bytes(range(256)) * (70 * 1024 * 4)  # 70 MiB: several parts
    got = store.write("a/big.bin", io.BytesIO(data), len(data))
    assert got.checksum is not None and got.checksum.startswith("etag:")
    listed = {o.key: o for o in store.scan("a")}
    assert listed["a/big.bin"].size == len(data) and listed["a/big.bin"].checksum == got.checksum
    with store.open("a/big.bin") as f:
        assert f.read() == data
    assert store.delete_prefix("a") == 1


@pytest.mark.parametrize(
    ("breakage", "code"),
    [
        ("no-reward", "FILE_DOES_NOT_EXIST"),
        ("no-coach-pointer", "COACH_CHECKPOINT_DOES_NOT_EXIST"),
        ("no-checkpoint-files", "CHECKPOINT_FILES_DOES_NOT_EXIST"),
        ("big-checkpoint", "CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED"),
        ("big-json", "JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED"),
        ("bad-json", "MODEL_VALIDATION_SERVICE_ERROR"),
        ("big-car-archive", "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED"),
        ("built-car-archive-too-big", "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED"),
    ],
)
def test_inspection_failures_are_import_errors(
    aws_env: servers.Seaweed, s3_admin: Any, bucket: str, store_bucket: str, upload: Upload, tmp_path: Path,
    breakage: str, code: str,
) -> None:  # fmt: skip
    src = write_model(tmp_path / "src", checkpoints=3)
    model_dir = src / "model"
    if breakage == "no-reward":
        (src / "reward_function.py").unlink()
    elif breakage == "no-coach-pointer":
        (model_dir / "deepracer_checkpoints.json").unlink()
        (model_dir / ".coach_checkpoint").unlink()
    elif breakage == "no-checkpoint-files":
        for p in model_dir.glob("*.ckpt.*"):
            p.unlink()
    elif breakage == "big-checkpoint":
        (model_dir / f"{checkpoint_name(2)}.data-00000-of-00001").write_bytes(b"x" * 300_000)
    elif breakage == "big-json":
        (src / "ip" / "hyperparameters.json").write_text('{"lr": 0.001, "pad": "' + "x" * 300_000 + '"}')
    elif breakage == "bad-json":
        (model_dir / "model_metadata.json").write_text("{not json")
    elif breakage == "big-car-archive":
        (model_dir / "model.tar.gz").write_bytes(os.urandom(300_000))
    elif breakage == "built-car-archive-too-big":
        # the graph is under the limit; the archive built from it (tar headers + metadata) is over it
        (model_dir / "model_1.pb").write_bytes(os.urandom(199_500))
    upload(src, bucket, "b")
    limits = Limits(checkpoint_file_bytes=200_000, control_file_bytes=200_000, model_tar_bytes=200_000)
    svc = _s3_service(tmp_path, store_bucket, limits)
    assert run_import(svc.accept("broken", f"s3://{bucket}/b").job_id, svc.deps) == "IMPORT_ERROR"
    model = svc.get("broken")
    assert model.error_code == code, model.error_details
    assert _store_keys(s3_admin, store_bucket) == []


def test_source_failures(importer_env: servers.Seaweed, s3_admin: Any, bucket: str, store_bucket: str,
                         upload: Upload, tmp_path: Path) -> None:  # fmt: skip
    src = write_model(tmp_path / "src", checkpoints=2)
    upload(src, bucket, "p")
    # the store is written with the admin keys; the source is read through roles
    svc = _local_service(tmp_path)
    roles = importer_env.roles
    cases = {
        "no-bucket": (f"s3://drm-missing-{uuid.uuid4().hex[:8]}/p", roles.read, "SRC_BUCKET_DOES_NOT_EXIST"),
        "denied": (f"s3://{bucket}/p", roles.list_only, "ACCESS_DENIED_TO_BUCKET"),
        "no-role": (f"s3://{bucket}/p", roles.missing, "ACCOUNT_RESOURCE_DOES_NOT_EXIST"),
        "untrusted": (f"s3://{bucket}/p", roles.untrusted, "ACCOUNT_RESOURCE_DOES_NOT_EXIST"),
    }
    for name, (url, role, code) in cases.items():
        assert run_import(svc.accept(name, url, role_arn=role).job_id, svc.deps) == "IMPORT_ERROR"
        assert svc.get(name).error_code == code, (name, svc.get(name).error_details)
    assert run_import(svc.accept("ok", f"s3://{bucket}/p", role_arn=roles.read).job_id, svc.deps) == "READY"
