"""The CLI as a user runs it (subprocesses): import --wait, models list/show/download/retry/delete, bulk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from support.import_fixtures import write_model

DRMODELS = str(Path(sys.executable).parent / "drmodels")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DRMODELS_DATA_DIR": str(tmp_path / "data"), "DRMODELS_IMPORT_DEEP": "0",
           "COLUMNS": "200"}  # fmt: skip
    env.pop("DRMODELS_REGISTRY_URL", None)
    env.pop("DRMODELS_STORE_URL", None)
    return subprocess.run(
        [DRMODELS, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )


def test_import_show_download_retry_delete(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=3)
    done = _run(tmp_path, "import", "src", "--name", "cli-model", "--description", "mine", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    listed = json.loads(_run(tmp_path, "models", "list", "--json").stdout)
    assert [(m["ModelName"], m["Status"]) for m in listed] == [("cli-model", "READY")]
    shown = json.loads(_run(tmp_path, "models", "show", "cli-model", "--json").stdout)
    assert shown["Checkpoints"] == ["1_Step-162.ckpt", "2_Step-262.ckpt"] and shown["ModelPackagingComplete"]
    assert shown["ModelArn"].startswith(
        "arn:aws:deepracer:us-east-1:000000000000:model/reinforcement_learning/"
    )
    assert [h["Kind"] for h in shown["History"]] == ["accepted", "import-started", "ready"]

    assert _run(tmp_path, "models", "download", "cli-model", "-o", "m.tar.gz").returncode == 0
    assert _run(tmp_path, "models", "download", "cli-model", "--car", "-o", "car.tar.gz").returncode == 0
    assert _run(tmp_path, "models", "download", "cli-model", "--logs", "-o", "logs.tar.gz").returncode == 0
    with tarfile.open(tmp_path / "car.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["agent", "agent/model.pb", "model_metadata.json"]
    with tarfile.open(tmp_path / "logs.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["metrics/TrainingMetrics.json", "training_params.yaml"]
    again = _run(tmp_path, "import", "m.tar.gz", "--name", "cli-copy", "--wait")
    assert again.returncode == 0, again.stdout

    # a failing import explains itself, and retry completes it once fixed
    reward = (src / "reward_function.py").read_text()
    (src / "reward_function.py").unlink()
    failed = _run(tmp_path, "import", "src", "--name", "cli-broken", "--wait")
    assert failed.returncode == 1
    assert "FILE_DOES_NOT_EXIST" in failed.stdout and "reward_function.py" in failed.stdout
    shown = _run(tmp_path, "models", "show", "cli-broken")
    assert "Fix:" in shown.stdout and "IMPORT_ERROR" in shown.stdout
    (src / "reward_function.py").write_text(reward)
    assert _run(tmp_path, "models", "retry", "cli-broken", "--wait").returncode == 0
    assert _run(tmp_path, "models", "retry", "cli-broken").returncode == 2  # READY: nothing to retry

    assert _run(tmp_path, "models", "delete", "cli-model").returncode == 0
    gone = _run(tmp_path, "models", "show", "cli-model")
    assert gone.returncode == 2 and "no model named 'cli-model'" in gone.stderr
    assert src.exists() and (src / "reward_function.py").exists()


def test_request_errors_are_clear(tmp_path: Path) -> None:
    write_model(tmp_path / "src", checkpoints=2)
    bad = _run(tmp_path, "import", "src", "--name", "no_underscores")
    # every error is one line on stderr, led by "error:"
    assert bad.returncode == 2 and "letters, digits and '-'" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: name:") and bad.stdout == ""
    long = _run(tmp_path, "import", "src", "--name", "ok", "--description", "x" * 256)
    assert long.returncode == 2 and "1 to 255" in long.stderr
    assert _run(tmp_path, "import", "src", "--name", "twice", "--wait").returncode == 0
    dup = _run(tmp_path, "import", "src", "--name", "twice")
    assert dup.returncode == 2 and "already exists" in dup.stderr


def test_bulk_manifest(tmp_path: Path) -> None:
    for i in range(3):
        write_model(tmp_path / f"m{i}", checkpoints=2)
    broken = write_model(tmp_path / "broken", checkpoints=2)
    (broken / "ip" / "hyperparameters.json").unlink()
    (tmp_path / "league.csv").write_text(
        "name,source,role,description\n"
        "team-0,m0,,first team\n"
        "team-1,m1,,\n"
        "team-2,m2,,\n"
        "team-broken,broken,,\n"
        "bad name,m0,,\n"
        "team-0,m1,,duplicate name\n"
    )
    done = _run(tmp_path, "import", "--manifest", "league.csv", "--workers", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "Import results" in out and "Not imported" in out
    assert "FILE_DOES_NOT_EXIST" in out and "REQUEST" in out and "already exists" in out
    listed = {m["ModelName"]: m for m in json.loads(_run(tmp_path, "models", "list", "--json").stdout)}
    assert {n: m["Status"] for n, m in listed.items()} == {
        "team-0": "READY", "team-1": "READY", "team-2": "READY", "team-broken": "IMPORT_ERROR",
    }  # fmt: skip
    assert listed["team-0"]["ModelDescription"] == "first team"
