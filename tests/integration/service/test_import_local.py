"""Import from local folders and archives into the local store, through the whole pipeline."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from drmodels.adapters.ports import StoreError
from drmodels.adapters.store.local import LocalStore
from drmodels.errors import Conflict, InvalidRequest, NotFound
from drmodels.rules.limits import Limits
from drmodels.service.deps import Deps
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from drmodels.service.store_keys import car_archive_key, model_prefix
from support.deps import make_deps, service, with_options
from support.import_fixtures import checkpoint_name, write_model


def _service(tmp_path: Path, limits: Limits | None = None) -> ModelService:
    return service(tmp_path, store=LocalStore(tmp_path / "store"), limits=limits)


def _import(svc: ModelService, name: str, source: Path | str) -> str:
    accepted = svc.accept(name, str(source), description="test model")
    return run_import(accepted.job_id, svc.deps)


def test_success_copies_only_planned_checkpoints_and_builds_car(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=20)
    svc = _service(tmp_path)
    assert _import(svc, "my-model", src) == "READY"
    model = svc.get("my-model")
    assert model.status == "READY" and model.error_code is None
    assert model.checkpoints == [checkpoint_name(18), checkpoint_name(19)]
    stored = sorted(
        p.relative_to(tmp_path / "store" / model_prefix(model.id)).as_posix()
        for p in (tmp_path / "store").rglob("*")
        if p.is_file()
    )
    ckpt_files = [k for k in stored if ".ckpt." in k]
    assert len(ckpt_files) == 6  # 2 checkpoints x (index, meta, data)
    assert "model.tar.gz" in stored
    assert model.packaging_complete and model.size_bytes and model.size_bytes > 0
    assert model.car_configuration is not None
    assert model.car_configuration["Sensors"] == ["FRONT_FACING_CAMERA"]
    assert model.agent_algorithm == "PPO"
    assert [e.kind for e in model.events] == ["accepted", "import-started", "ready"]
    # the car archive is the one a user would upload: agent/model.pb + model_metadata.json
    car = (tmp_path / "store" / car_archive_key(model.id)).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(car)) as tar:
        members = {
            m.name: tar.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            for m in tar.getmembers()
        }
    assert members["agent/model.pb"] == (src / "model" / "model_18.pb").read_bytes()
    assert json.loads(members["model_metadata.json"]) == json.loads(
        (src / "model/model_metadata.json").read_text()
    )


def test_import_from_tar_gz(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    archive = tmp_path / "src.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname=".")
    svc = _service(tmp_path)
    assert _import(svc, "from-archive", archive) == "READY"


def test_missing_mandatory_file_is_import_error_with_every_problem(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    (src / "reward_function.py").unlink()
    (src / "ip" / "hyperparameters.json").unlink()
    svc = _service(tmp_path)
    assert _import(svc, "broken", src) == "IMPORT_ERROR"
    model = svc.get("broken")
    assert model.error_code == "FILE_DOES_NOT_EXIST"
    assert model.error_details is not None
    paths = {d["path"] for d in model.error_details}
    assert {"reward_function.py", "ip/hyperparameters.json"} <= paths
    assert not (tmp_path / "store" / model_prefix(model.id)).exists()


def test_car_archive_over_limit(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    (src / "model" / "model_0.pb").write_bytes(bytes(range(256)) * 400)  # ~100 KiB, incompressible-ish
    svc = _service(tmp_path, Limits(model_tar_bytes=60_000))
    assert _import(svc, "too-big", src) == "IMPORT_ERROR"
    model = svc.get("too-big")
    assert model.error_code in ("MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED",)
    assert not (tmp_path / "store" / model_prefix(model.id)).exists()


def test_built_archive_over_limit_after_compression(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    import os

    (src / "model" / "model_0.pb").write_bytes(os.urandom(50_000))
    # the graph is under the limit, the archive of it (tar headers + metadata) is over
    svc = _service(tmp_path, Limits(model_tar_bytes=50_500))
    assert _import(svc, "built-too-big", src) == "IMPORT_ERROR"
    model = svc.get("built-too-big")
    assert model.error_code == "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED"
    assert model.error_details and "car archive built" in model.error_details[0]["explanation"]


def test_retry_after_fix(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    reward = (src / "reward_function.py").read_text()
    (src / "reward_function.py").unlink()
    svc = _service(tmp_path)
    assert _import(svc, "fixme", src) == "IMPORT_ERROR"
    with pytest.raises(NotFound):
        svc.retry("no-such")
    job_id = svc.retry("fixme")
    assert svc.retry("fixme") == job_id  # still queued: the same job again, never a second one
    (src / "reward_function.py").write_text(reward)
    assert run_import(job_id, svc.deps) == "READY"
    model = svc.get("fixme")
    assert model.status == "READY" and model.error_code is None
    assert [e.kind for e in model.events][-3:] == ["retry", "import-started", "ready"]
    assert [j.attempts for j in model.jobs] == [1, 2]  # attempts count on across a model's jobs
    assert model.events[-2].message.startswith("import attempt 2 ")
    with pytest.raises(Conflict):
        svc.retry("fixme")  # READY: nothing to retry


def test_delete_removes_store_and_row_not_source(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    before = sorted(p.as_posix() for p in src.rglob("*"))
    svc = _service(tmp_path)
    assert _import(svc, "gone", src) == "READY"
    model_id = svc.get("gone").id
    svc.delete("gone")
    with pytest.raises(NotFound):
        svc.get("gone")
    assert not (tmp_path / "store" / model_prefix(model_id)).exists()
    assert sorted(p.as_posix() for p in src.rglob("*")) == before


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [
        ("", None, "name"),
        ("a" * 65, None, "name"),
        ("has space", None, "name"),
        ("ok_", None, "name"),
        ("ok", "", "description"),
        ("ok", "x" * 256, "description"),
    ],
)
def test_request_rules(tmp_path: Path, name: str, description: str | None, field: str) -> None:
    svc = _service(tmp_path)
    with pytest.raises(InvalidRequest) as caught:
        svc.accept(name, str(tmp_path), description=description)
    assert caught.value.field == field


def test_duplicate_name_refused(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.accept("same", str(tmp_path))
    with pytest.raises(InvalidRequest, match="already exists"):
        svc.accept("same", str(tmp_path))


def test_missing_source_is_clear(tmp_path: Path) -> None:
    """A source gone after it was accepted: the import explains it."""
    src = write_model(tmp_path / "src", checkpoints=2)
    svc = _service(tmp_path)
    accepted = svc.accept("nowhere", str(src))
    shutil.rmtree(src)
    assert run_import(accepted.job_id, svc.deps) == "IMPORT_ERROR"
    model = svc.get("nowhere")
    assert model.error_code == "FILE_DOES_NOT_EXIST"


def test_deterministic_archive_is_gzip(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    svc = _service(tmp_path)
    _import(svc, "a1", src)
    _import(svc, "a2", src)
    a = (tmp_path / "store" / car_archive_key(svc.get("a1").id)).read_bytes()
    b = (tmp_path / "store" / car_archive_key(svc.get("a2").id)).read_bytes()
    assert a == b and gzip.decompress(a)


def test_deep_checks_run_on_the_stored_copy(tmp_path: Path) -> None:
    """With deep checks on, placeholder checkpoint bytes are refused and nothing stays in the store."""
    src = write_model(tmp_path / "src", checkpoints=2)
    svc = with_options(_service(tmp_path), deep=True)
    assert _import(svc, "shallow-bytes", src) == "IMPORT_ERROR"
    model = svc.get("shallow-bytes")
    assert model.error_code == "MODEL_VALIDATION_SERVICE_ERROR"
    assert any(".ckpt." in d["path"] for d in model.error_details or [])
    assert any(d["path"] == "model.tar.gz" for d in model.error_details or [])  # the archive built from them
    assert not (tmp_path / "store" / model_prefix(model.id)).exists()


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", "a//b", "a\\b", "./a", ""])
def test_store_refuses_keys_leaving_its_root(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "store")
    with pytest.raises(StoreError):
        store.write(key, io.BytesIO(b"x"), 1)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_role_arn_rule(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    with pytest.raises(InvalidRequest) as caught:
        svc.accept("ok", "s3://bucket/prefix", role_arn="arn:aws:iam::12:role/x")
    assert caught.value.field == "role_arn"
    accepted = svc.accept(
        "ok", "s3://bucket/prefix", role_arn="arn:aws:iam::123456789012:role/service-role/Dr"
    )
    assert accepted.arn.endswith(accepted.model_id)


def test_jobs_run_in_worker_processes_by_id(tmp_path: Path) -> None:
    from functools import partial

    from drmodels.runner.processes import ProcessPool

    svc = service(tmp_path)
    jobs = [svc.accept(f"p{i}", str(write_model(tmp_path / f"m{i}", checkpoints=2))).job_id for i in range(3)]
    with ProcessPool(2, partial(make_deps, tmp_path)) as pool:
        results = [f.result() for f in [pool.submit(_run_in_worker, j) for j in jobs]]
    assert results == ["READY"] * 3
    assert {m.name: m.status for m in svc.list()} == {"p0": "READY", "p1": "READY", "p2": "READY"}


def _run_in_worker(deps: Deps, job_id: int) -> str:
    return str(run_import(job_id, deps))
