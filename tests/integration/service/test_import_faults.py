"""Faults during the copy: transient S3 errors, persistent ones, our store failing, a source edited
mid-copy, and a worker killed mid-copy. S3 traffic goes through the suite's fault proxy (a real HTTP
proxy process in front of SeaweedFS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from drmodels.adapters.store.local import PARTS, LocalStore, file_md5
from drmodels.adapters.store.s3 import S3Store
from drmodels.service.deps import RetryPolicy
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from drmodels.service.store_keys import model_prefix
from support import servers
from support.deps import service
from support.import_fixtures import FaultProxy, checkpoint_name, fault_proxy, write_model  # noqa: F401

pytestmark = pytest.mark.servers

Upload = Callable[[Path, str, str], int]
FAST = RetryPolicy(attempts=3, first_delay=0.05, factor=2.0)
DATA = f"model/{checkpoint_name(2)}.data-00000-of-00001"


def _via(monkeypatch: pytest.MonkeyPatch, proxy: FaultProxy) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)


def _local(tmp_path: Path) -> ModelService:
    return service(tmp_path, store=LocalStore(tmp_path / "store"), retry=FAST)


def _s3(tmp_path: Path, store_bucket: str) -> ModelService:
    return service(tmp_path, store=S3Store.from_url(f"s3://{store_bucket}/st"), retry=FAST)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def store_bucket(s3_admin: Any) -> str:
    name = f"drm-fstore-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def model_url(aws_env: servers.Seaweed, bucket: str, upload: Upload, tmp_path: Path) -> str:
    upload(write_model(tmp_path / "src", checkpoints=3, data_size=1 << 20), bucket, "m")
    return f"s3://{bucket}/m"


def test_transient_faults_are_retried(
    model_url: str,
    fault_proxy: FaultProxy,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _via(monkeypatch, fault_proxy)
    rule = fault_proxy.add("error", DATA, method="GET", times=4)
    svc = _local(tmp_path)
    assert run_import(svc.accept("flaky", model_url).job_id, svc.deps) == "READY"
    assert fault_proxy.hits(rule) == 4


def test_persistent_faults_are_s3_copy_error(
    model_url: str,
    fault_proxy: FaultProxy,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _via(monkeypatch, fault_proxy)
    fault_proxy.add("error", DATA, method="GET", times=10_000)
    svc = _local(tmp_path)
    assert run_import(svc.accept("down", model_url).job_id, svc.deps) == "IMPORT_ERROR"
    model = svc.get("down")
    assert model.error_code == "S3_COPY_ERROR"
    assert _files(tmp_path / "store" / model_prefix(model.id)) == []


def test_server_side_copy_faults(
    model_url: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,  # noqa: F811
    store_bucket: str, s3_admin: Any,
) -> None:  # fmt: skip
    _via(monkeypatch, fault_proxy)
    svc = _s3(tmp_path, store_bucket)
    rule = fault_proxy.add("error", DATA, method="PUT", header="x-amz-copy-source", times=2)
    assert run_import(svc.accept("copy-flaky", model_url).job_id, svc.deps) == "READY"
    assert fault_proxy.hits(rule) == 2
    fault_proxy.add("error", DATA, method="PUT", header="x-amz-copy-source", times=10_000)
    assert run_import(svc.accept("copy-down", model_url).job_id, svc.deps) == "IMPORT_ERROR"
    model = svc.get("copy-down")
    assert model.error_code == "S3_COPY_ERROR"
    listed = s3_admin.list_objects_v2(Bucket=store_bucket, Prefix=f"st/{model_prefix(model.id)}/")
    assert listed.get("KeyCount", 0) == 0


def test_store_failure_is_service_error(
    model_url: str, tmp_path: Path, seaweed: servers.Seaweed, store_bucket: str
) -> None:
    # our own store refuses us (its keys are wrong); the source stays readable. The store's client
    # names the server by another host name, so the copy is streamed, not server-side.
    client = boto3.client(
        "s3", endpoint_url=seaweed.endpoint.replace("127.0.0.1", "localhost"), region_name="us-east-1",
        aws_access_key_id="drmwrongkey", aws_secret_access_key="drmwrongsecret",
    )  # fmt: skip
    svc = service(tmp_path, store=S3Store(client, store_bucket, "st/"), retry=FAST)
    assert run_import(svc.accept("no-store", model_url).job_id, svc.deps) == "IMPORT_ERROR"
    assert svc.get("no-store").error_code == "SERVICE_ERROR"


@pytest.mark.parametrize("server_side", [False, True])
def test_source_edited_during_copy(
    model_url: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,  # noqa: F811
    store_bucket: str, s3_admin: Any, bucket: str, server_side: bool,
) -> None:  # fmt: skip
    _via(monkeypatch, fault_proxy)
    if server_side:
        svc = _s3(tmp_path, store_bucket)
        rule = fault_proxy.add("hold", DATA, method="PUT", header="x-amz-copy-source")
    else:
        svc = _local(tmp_path)
        rule = fault_proxy.add("hold", DATA, method="GET")
    job = svc.accept("edited", model_url).job_id
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(run_import(job, svc.deps)))
    worker.start()
    try:
        fault_proxy.wait_hit(rule)
        # the user edits the checkpoint while it is being copied (same size, other bytes)
        s3_admin.put_object(Bucket=bucket, Key=f"m/{DATA}", Body=b"\x07" * (1 << 20))
    finally:
        fault_proxy.release()
        worker.join(120)
    assert result == ["IMPORT_ERROR"]
    model = svc.get("edited")
    assert model.error_code == "MODEL_VALIDATION_SERVICE_ERROR", model.error_details
    assert any(d["path"] == DATA for d in model.error_details or [])


def test_worker_killed_mid_copy_then_retry_completes(
    model_url: str, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,  # noqa: F811
    s3_admin: Any, bucket: str,
) -> None:  # fmt: skip
    data_dir = tmp_path / "data"
    svc = service(tmp_path)
    accepted = svc.accept("killed", model_url)
    rule = fault_proxy.add("hold_body", DATA, method="GET")
    env = {**os.environ, "AWS_ENDPOINT_URL": fault_proxy.endpoint}
    command = [
        sys.executable,
        "-m",
        "drmodels",
        "jobs",
        "run",
        "import",
        str(accepted.job_id),
        "--data-dir",
        data_dir,
    ]
    worker = subprocess.Popen(command,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        fault_proxy.wait_hit(rule)
        store_model = data_dir / "store" / model_prefix(accepted.model_id)
        # half of the checkpoint has reached our store (a part file) when the worker dies
        deadline = time.monotonic() + 60
        while not _files(data_dir / "store" / PARTS):  # readiness, not timing
            assert time.monotonic() < deadline, "the copy never reached the store"
            time.sleep(0.05)
        assert svc.get("killed").status == "IMPORTING"
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        fault_proxy.release()
        if worker.poll() is None:
            worker.kill()
    assert svc.get("killed").status == "IMPORTING"  # never READY: the copy did not finish
    job = svc.retry("killed")  # deep checks are off: the checkpoint bytes are placeholders
    assert run_import(job, svc.deps) == "READY", svc.get("killed").error_details
    model = svc.get("killed")
    assert model.status == "READY"
    stored = {p.relative_to(store_model / "virtual").as_posix(): p for p in _files(store_model / "virtual")}
    assert sorted(stored) == sorted(e["key"] for e in model.manifest or [])  # no orphaned parts or extras
    for key, path in stored.items():
        remote = s3_admin.head_object(Bucket=bucket, Key=f"m/{key}")
        assert path.stat().st_size == remote["ContentLength"]
        assert file_md5(path) == remote["ETag"].strip('"')
    assert [e.kind for e in model.events].count("import-started") == 2


def test_ctrl_c_during_import_wait_stops_cleanly_and_says_how_to_retry(
    model_url: str,
    fault_proxy: FaultProxy,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Ctrl-C while a copy is in flight: one message saying what happened and what to run next; the
    model is IMPORT_ERROR (not IMPORTING for ever), nothing of it is left in the store."""
    data_dir = tmp_path / "data"
    rule = fault_proxy.add("hold_body", DATA, method="GET")
    env = {**os.environ, "AWS_ENDPOINT_URL": fault_proxy.endpoint, "DRMODELS_DATA_DIR": str(data_dir),
           "DRMODELS_IMPORT_DEEP": "0"}  # fmt: skip
    drmodels = str(Path(sys.executable).parent / "drmodels")
    proc = subprocess.Popen([drmodels, "import", model_url, "--name", "stopped", "--wait"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        fault_proxy.wait_hit(rule)  # the copy is under way (readiness, not timing)
        proc.send_signal(signal.SIGINT)
        fault_proxy.release()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "Interrupted: the import of stopped stopped" in err and "drmodels models retry stopped" in err
    assert "Traceback" not in err
    svc = service(tmp_path)
    model = svc.get("stopped")
    assert model.status == "IMPORT_ERROR" and model.jobs[-1].status == "FAILED"
    assert not _files(data_dir / "store" / model_prefix(model.id)), [
        (e.kind, e.message) for e in model.events
    ]
