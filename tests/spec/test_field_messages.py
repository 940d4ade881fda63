"""Field-tested messages: parsers never escape, the real cause leads, near misses are named, no
placeholder or scary title where there is nothing to do (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drmodels.adapters.sources.folder import FolderSource
from drmodels.cli.app import app
from drmodels.rules.inspect import inspect
from drmodels.rules.limits import GiB, Limits
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem
from drmodels.rules.repairs import StripBom
from drmodels.rules.report import Report
from drmodels.service.check import check_source
from support import modelfolders as mf

runner = CliRunner()
BIG = "9" * 5000  # past Python's 4,300-digit limit on int parsing
BOM = b"\xef\xbb\xbf"


def check(root: Path, limits: Limits | None = None) -> Report:
    return check_source(FolderSource(root), limits or Limits())


def mine(report: Report, key: str) -> list[Problem]:
    return [p for p in report.problems if p.path == key]


# --- parser exceptions never escape: a precise code, an error or (optional files) a warning ------------

HUGE = {
    "model/model_metadata.json": (f'{{"action_space": [{{"steering_angle": {BIG}, "speed": 1}}]}}', True),
    "ip/hyperparameters.json": (f'{{"batch_size": {BIG}}}', True),
    "model/deepracer_checkpoints.json": (f'{{"best_checkpoint": {{"name": {BIG}}}}}', True),
    "metrics/TrainingMetrics.json": (f'{{"metrics": [{BIG}]}}', False),
    "training_params.yaml": (f"A: {BIG}\n", False),
}


@pytest.mark.parametrize("key", HUGE)
def test_numbers_past_the_digit_limit(tmp_path: Path, key: str) -> None:
    text, blocking = HUGE[key]
    folder = mf.console_model(tmp_path).write(key, text)
    report = check(folder.root)
    [problem] = mine(report, key)
    assert problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR and problem.is_error is blocking
    assert "5000 digits" in problem.explanation or "4300" in problem.explanation
    assert report.importable is not blocking


def test_checkpoint_name_past_the_digit_limit(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).write("model/.coach_checkpoint", f"{BIG}_Step-1.ckpt")
    [problem] = mine(check(folder.root), "model/.coach_checkpoint")
    assert problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR and "naming convention" in problem.explanation


@pytest.mark.parametrize(
    "yaml_text", ["DATE: 2001-02-30\n", "A: &a [*a]\n", "T: !!python/object:os.system [x]\n"]
)
def test_optional_yaml_that_cannot_become_data_is_a_warning(tmp_path: Path, yaml_text: str) -> None:
    folder = mf.console_model(tmp_path).write("training_params.yaml", yaml_text)
    report = check(folder.root)
    assert report.importable
    for problem in mine(report, "training_params.yaml"):
        assert not problem.is_error and problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR


@pytest.mark.parametrize(
    ("version", "said"), [(BIG[:400], "not a (finite) number"), ("1e999", "Infinity, not a (finite) number")]
)
def test_version_too_large_for_a_float(tmp_path: Path, version: str, said: str) -> None:
    metadata = json.dumps(mf.DISCRETE_METADATA)[:-1] + f', "version": {version}}}'
    folder = mf.console_model(tmp_path).write("model/model_metadata.json", metadata)
    [problem] = mine(check(folder.root), "model/model_metadata.json")
    assert problem.is_error and said in problem.explanation


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(tmp_path: Path, value: str) -> None:
    actions = '[{"steering_angle": %s, "speed": 1.0}]' % value  # noqa: UP031
    folder = mf.console_model(tmp_path).write("model/model_metadata.json", f'{{"action_space": {actions}}}')
    [problem] = mine(check(folder.root), "model/model_metadata.json")
    assert problem.is_error and "finite number" in problem.explanation
    folder = mf.console_model(tmp_path / "h").write("ip/hyperparameters.json", f'{{"lr": {value}}}')
    [problem] = mine(check(folder.root), "ip/hyperparameters.json")
    assert problem.is_error and "not a finite number" in problem.explanation


def test_deeply_nested_metadata_in_both_places_is_compared(tmp_path: Path) -> None:
    deep = "[" * 500 + "]" * 500
    metadata = json.dumps(mf.DISCRETE_METADATA)[:-1] + f', "extra": {deep}}}'
    other = metadata.replace("]" * 500, "1" + "]" * 500)
    folder = mf.console_model(tmp_path).write("model/model_metadata.json", metadata)
    folder.write("model_metadata.json", other)
    report = check(folder.root)
    [problem] = mine(report, "model_metadata.json")
    assert "disagree" in problem.explanation and "`extra" in problem.explanation


def test_non_finite_metadata_never_reaches_json_output(tmp_path: Path) -> None:
    """NaN would make `models show --json` print non-JSON: it is refused before anything is stored."""
    space = '{"steering_angle": {"low": -30, "high": NaN}, "speed": {"low": 1, "high": 2}}'
    folder = mf.console_model(tmp_path).write("model/model_metadata.json", f'{{"action_space": {space}}}')
    result = runner.invoke(app, ["check", str(folder.root), "--json", "--no-deep"])
    assert result.exit_code == 1
    json.loads(result.output, parse_constant=lambda c: pytest.fail(f"{c} in the output"))


# --- BOM: refused where json.load / open() reads it, stripped by fix ----------------------------------


@pytest.mark.parametrize(
    "key", ["model/model_metadata.json", "ip/hyperparameters.json", "model/.coach_checkpoint"]
)
def test_bom_is_refused_with_its_repair(tmp_path: Path, key: str) -> None:
    folder = mf.console_model(tmp_path)
    folder.write(key, BOM + folder.read(key))
    [problem] = mine(check(folder.root), key)
    assert problem.is_error and "byte order mark" in problem.explanation
    assert problem.repair == StripBom(key)


@pytest.mark.parametrize(("key", "importable"), [("reward_function.py", True), ("training_params.yaml", True),
                                                 ("metrics/TrainingMetrics.json", True)])  # fmt: skip
def test_bom_where_python_reads_it(tmp_path: Path, key: str, importable: bool) -> None:
    folder = mf.console_model(tmp_path).write("metrics/TrainingMetrics.json", mf.dumps(mf.TRAINING_METRICS))
    folder.write(key, BOM + folder.read(key))
    report = check(folder.root)
    assert report.importable is importable
    assert all(not p.is_error for p in mine(report, key))


# --- the real cause leads; no cascades ----------------------------------------------------------------


def test_no_model_folder_at_all(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    shutil.rmtree(folder.root / "model")
    folder.write("model_metadata.json", mf.DISCRETE_METADATA)
    report = check(folder.root)
    assert [(p.code, p.path) for p in report.errors] == [
        (Code.COACH_CHECKPOINT_DOES_NOT_EXIST, "model/.coach_checkpoint")
    ]
    explanation = report.errors[0].explanation
    assert "There is no model/ folder" in explanation and "has neither" not in explanation


@pytest.mark.parametrize("pointer", ["", "99_Step-1.ckpt", "not-a-checkpoint"])
def test_a_bad_pointer_does_not_blame_the_frozen_graph(tmp_path: Path, pointer: str) -> None:
    folder = mf.drfc_upload(tmp_path).remove("model/coach_checkpoint")
    folder.write("reward_function.py", mf.REWARD).write("model/.coach_checkpoint", pointer)
    report = check(folder.root)
    assert len(report.errors) == 1 and report.errors[0].path.startswith("model/")
    assert not any("model.tar.gz" in p.explanation for p in report.errors)


def test_errors_come_before_warnings(tmp_path: Path) -> None:
    folder = mf.drfc_upload(tmp_path)
    report = check(folder.root)
    severities = [p.is_error for p in report.problems]
    assert severities == sorted(severities, reverse=True)


# --- near misses, links and other files that are there but unusable ----------------------------------

NEAR = {
    "Reward_Function.py": "reward_function.py",
    "reward_function (1).py": "reward_function.py",
    "rewardfucntion.py": "reward_function.py",
    "custom_files/model_metadata_sac.json": "model/model_metadata.json",
    "Model/model_metadata.json": "model/model_metadata.json",
    "custom_files/hyperparameters_sac.json": "ip/hyperparameters.json",
}


@pytest.mark.parametrize("found", NEAR)
def test_near_misses_are_named(tmp_path: Path, found: str) -> None:
    wanted = NEAR[found]
    folder = mf.console_model(tmp_path)
    folder.write(found, folder.read(wanted)).remove(wanted)
    [problem] = mine(check(folder.root), wanted)
    assert f"Found {found}: did you mean {wanted}" in problem.explanation


def test_a_symlinked_file_is_named_as_such(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    (tmp_path / "real.py").write_bytes(mf.REWARD)
    folder.remove("reward_function.py")
    (folder.root / "reward_function.py").symlink_to(tmp_path / "real.py")
    [problem] = mine(check(folder.root), "reward_function.py")
    assert problem.is_error and "is there but is a symbolic link" in problem.explanation


def test_a_symlinked_data_shard_is_not_still_being_written(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    shard = "model/4_Step-162.ckpt.data-00000-of-00001"
    (tmp_path / "shard").write_bytes(folder.read(shard))
    folder.remove(shard)
    (folder.root / shard).symlink_to(tmp_path / "shard")
    [problem] = [p for p in check(folder.root).errors if p.code is Code.CHECKPOINT_FILES_DOES_NOT_EXIST]
    assert "symbolic link" in problem.explanation and "still" not in problem.explanation


def test_a_fifo_is_named_and_never_opened(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    os.mkfifo(folder.root / "logs.fifo")
    folder.remove("reward_function.py")
    os.mkfifo(folder.root / "reward_function.py")
    report = check(folder.root)  # would hang if a FIFO were read
    assert "FIFO" in mine(report, "reward_function.py")[0].explanation
    assert "FIFO" in mine(report, "logs.fifo")[0].explanation


def test_macos_resource_forks_are_ignored_not_copied(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write("._reward_function.py", b"\x00\x05\x16\x07Mac OS X")
    folder.write("metrics/._TrainingMetrics.json", b"\x00\x05\x16\x07")
    folder.write("logs/.DS_Store", b"\x00\x00\x00\x01Bud1")
    report = check(folder.root)
    assert report.importable
    [note] = [p for p in report.problems if "macOS resource" in p.explanation]
    assert not note.is_error and "ignored, not copied" in note.explanation and "UTF-8" not in note.explanation
    assert not any("._" in o.key or "DS_Store" in o.key for o in report.plan.objects)


# --- fixes name the real thing: the folder, the bucket, or the archive --------------------------------


def _pointer_missing(location: str) -> Report:
    parts = ("index", "meta", "data-00000-of-00001")
    keys = ["reward_function.py", "ip/hyperparameters.json", "model/model_metadata.json",
            *(f"model/1_Step-5.ckpt.{part}" for part in parts)]  # fmt: skip
    return inspect(location, [ObjectInfo(k, 10) for k in keys], {}, Limits())


def test_fixes_say_what_to_change_where() -> None:
    folder = _pointer_missing("/data/my model").errors[0].fix
    assert "drmodels fix '/data/my model' --checkpoint last" in folder
    bucket = _pointer_missing("s3://bucket/prefix").errors[0].fix
    assert "aws s3 cp - s3://bucket/prefix/model/.coach_checkpoint" in bucket and "drmodels fix" not in bucket
    archive = _pointer_missing("/data/model.tar.gz").errors[0].fix
    assert "pack the folder again" in archive and "drmodels fix" not in archive
    for fix in (folder, bucket, archive):
        assert "FOLDER" not in fix


def test_warnings_carry_no_error_title_and_no_empty_fix(tmp_path: Path) -> None:
    """Every DeepRacer-for-Cloud upload lacks model.tar.gz: that is a note, not an error's title."""
    folder = mf.console_model(tmp_path).remove("model/model.tar.gz")
    result = runner.invoke(app, ["check", str(folder.root), "--no-deep"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    [note] = [i for i, line in enumerate(lines) if "model.tar.gz is missing; it will be built" in line]
    assert lines[note].lstrip().startswith("!") and "(FILE_DOES_NOT_EXIST)" in lines[note]
    assert "Import model manually" not in result.output and "Nothing to do" not in result.output
    assert not lines[note + 1 : note + 2] or "Fix:" not in lines[note + 1]


# --- the total a model may copy --------------------------------------------------------------------------


def test_an_enormous_log_is_left_out_and_said(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).sparse("logs/robomaker.log", 64 * GiB)
    report = check(folder.root)
    assert report.importable
    assert "logs/robomaker.log" not in {o.key for o in report.plan.objects}
    [note] = [p for p in report.problems if p.code is Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED]
    assert not note.is_error and "left out" in note.explanation and "DRMODELS_MODEL_MAX_BYTES" in note.fix


def test_a_model_over_the_total_is_refused(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    report = check(folder.root, Limits(model_bytes=1000))
    assert not report.importable
    [problem] = [p for p in report.errors if p.code is Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED]
    assert "one import may hold" in problem.explanation
