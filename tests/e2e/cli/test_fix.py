"""`drmodels fix`: repairs a folder, adds files only, then checks again."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drmodels.adapters.sources.folder import FolderSource
from drmodels.cli.app import app
from drmodels.rules.limits import Limits
from drmodels.service.check import check_source
from drmodels.service.fix import FixError, apply_fixes, plan_fixes
from support import modelfolders as mf

runner = CliRunner()


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_drfc_upload_goes_from_refused_to_importable(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path)
    before = snapshot(tmp_path)
    assert not check_source(FolderSource(tmp_path), Limits()).importable

    result = runner.invoke(app, ["fix", str(tmp_path), "--no-deep"])
    assert result.exit_code == 0, result.output
    assert "✔ Importable" in result.output
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing of the user's changed
    assert set(after) - set(before) == {"reward_function.py", "model/.coach_checkpoint", "model/model.tar.gz"}
    assert folder.read("reward_function.py") == mf.REWARD
    assert folder.read("model/.coach_checkpoint") == b"17_Step-37295.ckpt"
    with tarfile.open(tmp_path / "model/model.tar.gz") as tar:
        assert tar.getnames() == ["agent", "agent/model.pb", "model_metadata.json"]
        assert tar.extractfile("agent/model.pb").read() == folder.read("model/model_17.pb")  # type: ignore[union-attr]
    report = check_source(FolderSource(tmp_path), Limits())
    assert report.importable and report.problems == []


def test_dry_run_writes_nothing_and_shows_every_round(tmp_path: Path) -> None:
    mf.drfc_upload(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["fix", str(tmp_path), "--dry-run", "--no-deep"])
    assert result.exit_code == 0  # as `check` would answer once the changes are made
    assert snapshot(tmp_path) == before
    text = " ".join(result.output.split())
    assert "With these changes: ✔ Importable" in text
    assert "would copy custom_files/reward_function.py -> reward_function.py" in text
    assert "would write model/.coach_checkpoint naming 17_Step-37295.ckpt" in text
    assert "would build model/model.tar.gz from model/model_17.pb" in text


def test_car_archive_is_reproducible(tmp_path: Path) -> None:
    archives = []
    for name in ("a", "b"):
        mf.drfc_upload(tmp_path / name)
        apply_fixes(tmp_path / name, plan_fixes(tmp_path / name, Limits()).changes)
        archives.append((tmp_path / name / "model/model.tar.gz").read_bytes())
    assert archives[0] == archives[1]


@pytest.mark.parametrize(
    ("choice", "expected"), [("last", "17_Step-37295.ckpt"), ("16", "16_Step-32917.ckpt")]
)
def test_checkpoint_choice(tmp_path: Path, choice: str, expected: str) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    apply_fixes(tmp_path, plan_fixes(tmp_path, Limits(), choice).changes)
    assert folder.read("model/.coach_checkpoint").decode() == expected


def test_checkpoint_best_from_a_misplaced_json(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    folder.write(
        "deepracer_checkpoints.json",
        mf.dumps(
            {
                "best_checkpoint": {"name": "16_Step-32917.ckpt"},
                "last_checkpoint": {"name": "17_Step-37295.ckpt"},
            }
        ),
    )
    apply_fixes(tmp_path, plan_fixes(tmp_path, Limits(), "best").changes)
    assert folder.read("model/.coach_checkpoint") == b"16_Step-32917.ckpt"


def test_checkpoint_choice_errors(tmp_path: Path) -> None:
    mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    with pytest.raises(FixError, match=r"\(complete: 16_Step-32917.ckpt, 17_Step-37295.ckpt\)"):
        plan_fixes(tmp_path, Limits(), "99")
    result = runner.invoke(app, ["fix", str(tmp_path), "--checkpoint", "best"])
    assert result.exit_code == 2 and "use --checkpoint last" in " ".join(result.output.split())


def test_without_a_pointer_source_fix_needs_a_choice(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    result = runner.invoke(app, ["fix", str(tmp_path), "--no-deep"])
    assert result.exit_code == 1  # still refused: which checkpoint to import is the user's choice
    assert "--checkpoint last" in " ".join(result.output.split())
    assert not folder.has("model/.coach_checkpoint")


def test_never_overwrites(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path)
    changes = plan_fixes(tmp_path, Limits()).changes
    folder.write("reward_function.py", b"# written by the user meanwhile\n")
    apply_fixes(tmp_path, changes)
    assert folder.read("reward_function.py") == b"# written by the user meanwhile\n"


def test_fix_refuses_what_is_not_a_folder(tmp_path: Path) -> None:
    archive = mf.console_model(tmp_path / "m").pack(tmp_path / "m.tar.gz")
    result = runner.invoke(app, ["fix", str(archive)])
    assert result.exit_code == 2 and "not a folder" in result.output


# --- fix never makes a folder worse (issue 14) -----------------------------------------------------------


@pytest.mark.parametrize("level", ["model", "ip"])
def test_a_folder_one_level_off_is_refused_with_the_reason(tmp_path: Path, level: str) -> None:
    folder = mf.drfc_upload(tmp_path / "m")
    folder.write("ip/done", b"done")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["fix", str(folder.root / level)])
    assert result.exit_code == 2
    assert (
        f"looks like the {level}/ folder itself" in result.stderr and "Nothing was written" in result.stderr
    )
    assert snapshot(tmp_path) == before  # no model/model/.coach_checkpoint, no ip/ip/


def test_a_pointer_to_a_checkpoint_without_files_is_not_written(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).write("model/coach_checkpoint", "99_Step-1.ckpt\n")
    changes = plan_fixes(tmp_path, Limits()).changes
    assert not any(c.repair.target == "model/.coach_checkpoint" for c in changes)
    assert not folder.has("model/.coach_checkpoint")


def test_a_refused_metadata_file_is_not_copied_into_place(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/model_metadata.json")
    folder.write("custom_files/model_metadata.json", '{"action_space": "broken"}')
    changes = plan_fixes(tmp_path, Limits()).changes
    assert "model/model_metadata.json" not in {c.repair.target for c in changes}
    report = check_source(FolderSource(tmp_path), Limits())
    [missing] = [p for p in report.errors if p.path == "model/model_metadata.json"]
    assert "refused too" in missing.explanation and not missing.auto_fix


def test_a_misplaced_checkpoints_json_is_copied_so_the_plan_keeps_best_and_last(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    json_text = mf.dumps({"best_checkpoint": {"name": "16_Step-32917.ckpt"},
                          "last_checkpoint": {"name": "17_Step-37295.ckpt"}})  # fmt: skip
    folder.write("deepracer_checkpoints.json", json_text)
    apply_fixes(tmp_path, plan_fixes(tmp_path, Limits()).changes)
    assert folder.read("model/deepracer_checkpoints.json") == json_text
    assert not folder.has("model/.coach_checkpoint")
    report = check_source(FolderSource(tmp_path), Limits())
    assert report.importable and report.plan.checkpoints == ("16_Step-32917.ckpt", "17_Step-37295.ckpt")


def test_dry_run_answers_like_check(tmp_path: Path) -> None:
    mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")  # no pointer source: still refused after
    result = runner.invoke(app, ["fix", str(tmp_path), "--dry-run", "--no-deep"])
    assert result.exit_code == 1 and "✘ Not importable" in result.output


def test_written_files_honour_the_umask(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path)
    old = os.umask(0o022)
    try:
        apply_fixes(tmp_path, plan_fixes(tmp_path, Limits()).changes)
    finally:
        os.umask(old)
    for key in ("reward_function.py", "model/.coach_checkpoint", "model/model.tar.gz"):
        assert (folder.root / key).stat().st_mode & 0o777 == 0o644, key


def test_fix_strips_a_byte_order_mark(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    original = folder.read("model/model_metadata.json")
    folder.write("model/model_metadata.json", b"\xef\xbb\xbf" + original)
    result = runner.invoke(app, ["fix", str(tmp_path), "--no-deep"])
    assert result.exit_code == 0, result.output
    assert "strip the byte order mark (BOM) from model/model_metadata.json" in result.output
    assert folder.read("model/model_metadata.json") == original


def test_checkpoint_by_the_name_check_prints(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    apply_fixes(tmp_path, plan_fixes(tmp_path, Limits(), "16_Step-32917.ckpt").changes)
    assert folder.read("model/.coach_checkpoint") == b"16_Step-32917.ckpt"


def test_a_checkpoint_choice_ignored_says_so(tmp_path: Path) -> None:
    mf.console_model(tmp_path)
    result = runner.invoke(app, ["fix", str(tmp_path), "--checkpoint", "3", "--no-deep"])
    assert result.exit_code == 0
    assert "--checkpoint 3 is ignored" in " ".join(result.output.split())
