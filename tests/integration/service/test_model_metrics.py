"""A model's charts data read back from the store: a real sample import, local and S3 stores, and the caps."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drmodels.adapters.store.local import LocalStore
from drmodels.adapters.store.s3 import S3Store
from drmodels.rules.limits import Limits
from drmodels.sample import control_files
from drmodels.sample.model import SampleOptions, write_sample
from drmodels.service.imports.job import run_import
from drmodels.service.metrics import model_metrics
from drmodels.service.models import ModelService
from drmodels.service.store_keys import virtual_key
from drmodels.web.charts import render_charts
from support import servers
from support.deps import service


def _imported(svc: ModelService, source: Path, name: str = "sample") -> Any:
    accepted = svc.accept(name, str(source), description="charts")
    assert run_import(accepted.job_id, svc.deps) == "READY"
    return svc.get(name)


def _sample(tmp_path: Path) -> Path:
    folder = tmp_path / "sample"
    write_sample(folder, SampleOptions())
    return folder


def _expected_training() -> list[int]:
    """The sample's TrainingMetrics.json: 4 training episodes, then one evaluation, per iteration."""
    return [4] * 6


def test_sample_model_metrics_from_the_local_store(tmp_path: Path) -> None:
    src = _sample(tmp_path)
    evaluation = [
        {"trial": n, "completion_percentage": c, "elapsed_time_in_milliseconds": ms, "episode_status": status}
        for n, c, ms, status in ((1, 100, 15234, "Lap complete"), (2, 47, 8000, "Off track"))
    ]
    (src / "metrics" / "EvaluationMetrics-20261201120000.json").write_text(
        json.dumps({"metrics": evaluation})
    )
    svc = service(tmp_path, store=LocalStore(tmp_path / "store"))
    model = _imported(svc, src)
    metrics = model_metrics(svc.deps, model)
    assert metrics.files == ("metrics/EvaluationMetrics-20261201120000.json", "metrics/TrainingMetrics.json")
    assert [r.episodes for r in metrics.training] == _expected_training()
    assert [r.episodes for r in metrics.evaluation] == [1] * 6
    assert metrics.episodes_per_iteration == 20  # the sample's hyperparameters; evaluations close iterations
    assert [(t.trial, t.lap_time_s, t.status) for t in metrics.trials] == [
        (1, 15.234, "Lap complete"),
        (2, None, "Off track"),
    ]
    written = json.loads((src / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    first = [e for e in written if e["phase"] == "training"][:4]
    assert metrics.training[0].reward == pytest.approx(sum(e["reward_score"] for e in first) / 4)
    assert metrics.skipped_records == 0 and metrics.skipped_files == ()
    assert [c.id for c in render_charts(metrics)] == ["chart-reward", "chart-completion", "chart-evaluation"]


def test_a_model_without_metrics_has_no_charts(tmp_path: Path) -> None:
    src = _sample(tmp_path)
    shutil.rmtree(src / "metrics")
    svc = service(tmp_path, store=LocalStore(tmp_path / "store"))
    metrics = model_metrics(svc.deps, _imported(svc, src))
    assert metrics.empty and render_charts(metrics) == []


def test_files_over_the_caps_are_never_read(tmp_path: Path) -> None:
    """Sizes come from the manifest: a file over the cap is left out without being opened (here it
    is even removed from the store, and the answer is the same), and a file that is gone is named."""
    src = _sample(tmp_path)
    big = control_files.dumps(control_files.training_metrics(7, 60))
    (src / "metrics" / "TrainingMetrics_1.json").write_bytes(big)
    svc = service(tmp_path, store=LocalStore(tmp_path / "store"))
    model = _imported(svc, src)
    small = replace(svc.deps, limits=Limits(control_file_bytes=len(big) - 1))
    (tmp_path / "store" / virtual_key(model.id, "metrics/TrainingMetrics_1.json")).unlink()
    metrics = model_metrics(small, model)
    assert metrics.skipped_files == ("metrics/TrainingMetrics_1.json",)
    assert [r.episodes for r in metrics.training] == _expected_training()
    full = model_metrics(svc.deps, model)  # within the cap, but no longer in the store
    assert full.skipped_files == ("metrics/TrainingMetrics_1.json",) and full.training == metrics.training


@pytest.mark.servers
def test_sample_model_metrics_from_the_s3_store(
    aws_env: servers.Seaweed, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = f"drm-store-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=bucket)
    svc = service(tmp_path, store=S3Store.from_url(f"s3://{bucket}/store"))
    metrics = model_metrics(svc.deps, _imported(svc, _sample(tmp_path)))
    assert [r.episodes for r in metrics.training] == _expected_training()
    assert metrics.files == ("metrics/TrainingMetrics.json",) and metrics.trials == ()
