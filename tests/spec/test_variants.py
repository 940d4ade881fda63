"""Each real-world family of shared/notes/real-models.md, reproduced by a folder of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drmodels.adapters.sources.folder import FolderSource
from drmodels.rules.limits import Limits
from drmodels.rules.problems import Code, Severity
from drmodels.rules.report import Report
from drmodels.service.check import check_source
from support import modelfolders as mf


def check(folder: mf.ModelFolder | Path) -> Report:
    root = folder.root if isinstance(folder, mf.ModelFolder) else folder
    return check_source(FolderSource(root), Limits())


def codes(report: Report) -> list[tuple[Code, str]]:
    return [(p.code, p.path) for p in report.errors]


def test_console_layout_is_importable(tmp_path: Path) -> None:
    report = check(mf.console_model(tmp_path))
    assert report.importable, report.problems
    assert report.problems == []
    assert report.plan.checkpoints == ("3_Step-124.ckpt", "4_Step-162.ckpt")
    keys = {o.key for o in report.plan.objects}
    assert {
        "reward_function.py",
        "ip/hyperparameters.json",
        "model/model_metadata.json",
        "model/.coach_checkpoint",
        "model/model.tar.gz",
        "training_params.yaml",
    } <= keys
    assert not report.plan.build_car_archive


def test_on_the_spot_prefix(tmp_path: Path) -> None:
    folder = mf.on_the_spot_model(tmp_path)
    report = check(folder)
    assert report.importable, report.problems
    # best (26) and last (31) from the JSON; 30 (older, unnamed) and 32 (newer than last) are not copied
    assert report.plan.checkpoints == ("26_Step-7315.ckpt", "31_Step-11433.ckpt")
    keys = {o.key for o in report.plan.objects}
    assert "model.tar.gz" in keys and "output.tar.gz" not in keys
    assert not any(k.startswith(("model/30_", "model/32_")) for k in keys)
    assert {f"metrics/TrainingMetrics_{n}.json" for n in range(1, 6)} <= keys


def test_incomplete_newer_checkpoint_is_ignored_and_named_incomplete_one_refused(tmp_path: Path) -> None:
    folder = mf.on_the_spot_model(tmp_path)
    folder.checkpoint(66, 180000, data=False, graph=False)  # training still writing
    assert check(folder).importable
    folder.write(
        "model/deepracer_checkpoints.json",
        mf.dumps(
            {
                "best_checkpoint": {"name": "26_Step-7315.ckpt"},
                "last_checkpoint": {"name": "66_Step-180000.ckpt"},
            }
        ),
    )
    report = check(folder)
    assert codes(report) == [(Code.CHECKPOINT_FILES_DOES_NOT_EXIST, "model/66_Step-180000.ckpt")]
    assert "66_Step-180000.ckpt.data-00000-of-00001" in report.errors[0].explanation
    assert "still" in report.errors[0].explanation


def test_coach_previous_checkpoint_skips_incomplete_ones(tmp_path: Path) -> None:
    folder = mf.console_2020_model(tmp_path)  # 10 complete, 11 named, 12 without data
    report = check(folder)
    assert report.importable, report.problems
    assert report.plan.checkpoints == ("10_Step-35000.ckpt", "11_Step-38428.ckpt")
    folder.remove("model/10_Step-35000.ckpt.data-00000-of-00001")
    assert check(folder).plan.checkpoints == ("11_Step-38428.ckpt",)


def test_2020_console_model_never_parses_the_graph_dump(tmp_path: Path) -> None:
    report = check(mf.console_2020_model(tmp_path))
    assert not any("worker_0" in p.path for p in report.problems)
    # no model.tar.gz, but model_11.pb of the named checkpoint: the archive is built
    assert report.plan.build_car_archive and report.plan.car_archive_graph == "model/model_11.pb"


def test_console_export_with_metadata_in_both_places_and_uuid_params(tmp_path: Path) -> None:
    folder = mf.console_export(tmp_path)
    report = check(folder)
    assert report.importable, report.problems
    keys = {o.key for o in report.plan.objects}
    assert "training_params_b080e2d4-7d55-4c86-b1d5-f3e0b1c4a2a1.yaml" in keys
    assert "metrics/training/training-20230601120000-abc123.json" in keys
    assert "logs/evaluation/evaluation-20230601130000-def456-robomaker.txt" in keys
    assert report.plan.checkpoints == ("140_Step-123889.ckpt", "145_Step-136982.ckpt")
    # the car archive is built from the best checkpoint's graph; the oddly named download is pointed out
    assert report.plan.car_archive_graph == "model/model_140.pb"


def test_metadata_in_both_places_must_agree(tmp_path: Path) -> None:
    folder = mf.console_export(tmp_path)
    other = json.loads(folder.read("model_metadata.json"))
    other["action_space"]["speed"]["high"] = 4
    other["sensor"] = ["STEREO_CAMERAS"]
    folder.write("model_metadata.json", mf.dumps(other))
    report = check(folder)
    assert codes(report) == [(Code.MODEL_VALIDATION_SERVICE_ERROR, "model_metadata.json")]
    assert "`action_space.speed.high`" in report.errors[0].explanation
    assert "`sensor[0]`" in report.errors[0].explanation


def test_metadata_formatting_differences_are_not_disagreement(tmp_path: Path) -> None:
    folder = mf.console_export(tmp_path)
    folder.write("model_metadata.json", json.dumps(mf.CONTINUOUS_METADATA, indent=4) + "\n")
    assert check(folder).importable


def test_drfc_upload_is_refused_with_every_reason(tmp_path: Path) -> None:
    report = check(mf.drfc_upload(tmp_path))
    assert not report.importable
    assert codes(report) == [
        (Code.FILE_DOES_NOT_EXIST, "reward_function.py"),
        (Code.COACH_CHECKPOINT_DOES_NOT_EXIST, "model/.coach_checkpoint"),
    ]  # no cascade: without a pointer the best checkpoint is unknown, so its frozen graph is not blamed
    reward, pointer = report.errors
    assert "custom_files/reward_function.py" in reward.explanation and reward.auto_fix
    assert "model/coach_checkpoint" in pointer.explanation and "17_Step-37295.ckpt" in pointer.fix
    assert pointer.auto_fix
    assert f"`drmodels fix {tmp_path}` does it" in reward.fix + pointer.fix


def test_legacy_tensorflow_state_file(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).remove("model/.coach_checkpoint")
    folder.write(
        "model/checkpoint",
        'model_checkpoint_path: "4_Step-162.ckpt"\n'
        'all_model_checkpoint_paths: "3_Step-124.ckpt"\n'
        'all_model_checkpoint_paths: "4_Step-162.ckpt"\n',
    )
    report = check(folder)
    assert codes(report) == [(Code.COACH_CHECKPOINT_DOES_NOT_EXIST, "model/.coach_checkpoint")]
    assert "model/checkpoint" in report.errors[0].explanation
    assert "4_Step-162.ckpt" in report.errors[0].fix


@pytest.mark.parametrize("content", [b"4_Step-162.ckpt", b"4_Step-162.ckpt\n", b"  4_Step-162.ckpt \r\n"])
def test_pointer_with_or_without_newline(tmp_path: Path, content: bytes) -> None:
    folder = mf.console_model(tmp_path).write("model/.coach_checkpoint", content)
    report = check(folder)
    assert report.importable and report.problems == []


def test_pointer_naming_a_file_or_several_lines_is_read_with_a_warning(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).write(
        "model/.coach_checkpoint", "4_Step-162.ckpt.index\n3_Step-124.ckpt\n"
    )
    report = check(folder)
    assert report.importable
    assert report.plan.checkpoints == ("3_Step-124.ckpt", "4_Step-162.ckpt")
    assert {p.severity for p in report.problems} == {Severity.WARNING}
    assert len(report.problems) == 2


def test_empty_pointer_and_bad_name(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).write("model/.coach_checkpoint", "\n")
    assert codes(check(folder)) == [(Code.COACH_CHECKPOINT_DOES_NOT_EXIST, "model/.coach_checkpoint")]
    folder.write("model/.coach_checkpoint", "latest")
    report = check(folder)
    assert codes(report) == [(Code.MODEL_VALIDATION_SERVICE_ERROR, "model/.coach_checkpoint")]
    assert "4_Step-162.ckpt" in report.errors[0].fix


def test_json_pointer_extra_fields_null_names_and_old_format(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write(
        "model/deepracer_checkpoints.json",
        mf.dumps(
            {
                "best_checkpoint": {"name": None, "avg_comp_pct": -1.0, "time_stamp": 1.6e9},
                "last_checkpoint": {"name": "4_Step-162.ckpt", "avg_comp_pct": 50.0, "time_stamp": 1.6e9},
            }
        ),
    )
    report = check(folder)
    assert report.importable and report.plan.checkpoints == ("4_Step-162.ckpt",)
    folder.write(
        "model/deepracer_checkpoints.json",
        mf.dumps({"best_checkpoint": {"name": None}, "last_checkpoint": {"name": None}}),
    )
    report = check(folder)  # names nothing: falls back to .coach_checkpoint, with a warning
    assert report.importable and report.plan.checkpoints == ("3_Step-124.ckpt", "4_Step-162.ckpt")
    assert [p.code for p in report.problems] == [Code.COACH_CHECKPOINT_DOES_NOT_EXIST]


def test_json_naming_checkpoints_whose_files_are_all_gone(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    for key in folder.keys():  # noqa: SIM118 (a method of ours, not a dict)
        if ".ckpt" in key or key.endswith(".pb"):
            folder.remove(key)
    folder.write("model/model_150.pb", b"graph")
    folder.write(
        "model/deepracer_checkpoints.json",
        mf.dumps(
            {"best_checkpoint": {"name": "15_Step-1.ckpt"}, "last_checkpoint": {"name": "148_Step-2.ckpt"}}
        ),
    )
    report = check(folder)
    assert [c for c, _ in codes(report)] == [Code.CHECKPOINT_FILES_DOES_NOT_EXIST] * 2
    assert "no complete checkpoint" in report.errors[0].explanation


def test_misplaced_pointer_at_the_root(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write(".coach_checkpoint", folder.read("model/.coach_checkpoint")).remove(
        "model/.coach_checkpoint"
    )
    report = check(folder)
    assert codes(report) == [(Code.COACH_CHECKPOINT_DOES_NOT_EXIST, "model/.coach_checkpoint")]
    assert "prefix root" in report.errors[0].explanation and report.errors[0].auto_fix


def test_mandatory_file_in_the_wrong_folder(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write("model/reward_function.py", mf.REWARD).remove("reward_function.py")
    folder.write("hyperparameters.json", mf.HYPERPARAMETERS).remove("ip/hyperparameters.json")
    report = check(folder)
    assert codes(report) == [
        (Code.FILE_DOES_NOT_EXIST, "reward_function.py"),
        (Code.FILE_DOES_NOT_EXIST, "ip/hyperparameters.json"),
    ]
    assert "found at model/reward_function.py" in report.errors[0].explanation
    assert "found at hyperparameters.json" in report.errors[1].explanation


def test_car_archive_missing_and_no_graph_names_both_ways(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).remove("model/model.tar.gz", "model/model_4.pb")
    report = check(folder)
    assert codes(report) == [(Code.FILE_DOES_NOT_EXIST, "model/model.tar.gz")]
    text = report.errors[0].explanation
    assert "model.tar.gz" in text and "model/model_4.pb" in text and "model/model_3.pb" in text


def test_car_archive_built_from_graph_is_a_warning_and_planned(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path).remove("model/model.tar.gz")
    report = check(folder)
    assert report.importable
    assert [(p.code, p.severity) for p in report.problems] == [(Code.FILE_DOES_NOT_EXIST, Severity.WARNING)]
    assert report.plan.build_car_archive and report.plan.car_archive_graph == "model/model_4.pb"
    assert "model/model_4.pb" in {o.key for o in report.plan.objects}


def test_optional_files_malformed_are_warnings(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write("training_params.yaml", b"key: [unclosed\n")
    folder.write("metrics/TrainingMetrics.json", b'{"metrics": [1, 2,]}')
    folder.write("metrics/EvaluationMetrics-1656955681.json", b'["not", "metrics"]')
    folder.write(
        "metrics/training/2026-04-10T19:26:15.164Z-deepracerindy-training-abc.json",
        mf.dumps(mf.TRAINING_METRICS),
    )
    report = check(folder)
    assert report.importable
    warned = {p.path for p in report.problems if p.severity is Severity.WARNING}
    assert warned == {
        "training_params.yaml",
        "metrics/TrainingMetrics.json",
        "metrics/EvaluationMetrics-1656955681.json",
    }
    assert any(
        "not valid YAML at line 2" in p.explanation
        for p in report.problems
        if p.path == "training_params.yaml"
    )


def test_yaml_variants_parse(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write("training_params.yaml", mf.DRFC_TRAINING_PARAMS)
    folder.write(
        "training_params_1.yaml",
        b"CHANGE_START_POSITION: true\nCHANGE_START_POSITION: false\n'CAR_COLOR':\n- 'Red'\n",
    )
    report = check(folder)
    assert report.importable and report.problems == []


def test_size_limits_are_checked_from_the_listing(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    gib = 1024**3
    folder.sparse("model/model.tar.gz", gib)
    folder.sparse("model/4_Step-162.ckpt.data-00000-of-00001", gib)
    folder.sparse("ip/hyperparameters.json", 2 * 1024 * 1024)
    folder.sparse("metrics/TrainingMetrics.json", 5 * 1024 * 1024)
    report = check(folder)
    assert sorted(codes(report)) == sorted(
        [
            (Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, "ip/hyperparameters.json"),
            (Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED, "model/4_Step-162.ckpt.data-00000-of-00001"),
            (Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED, "model/model.tar.gz"),
        ]
    )
    assert [(p.code, p.path) for p in report.problems if not p.is_error] == [
        (Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED, "metrics/TrainingMetrics.json")
    ]
    assert "1.0 GiB" in next(p for p in report.errors if p.path == "model/model.tar.gz").explanation


def test_limits_are_configurable(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    report = check_source(FolderSource(folder.root), Limits(checkpoint_file_bytes=100))
    assert {p.code for p in report.errors} == {Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED}


def test_prefix_root_off_by_one_level_is_pointed_out(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "bucket" / "m1")
    mf.console_model(tmp_path / "bucket" / "m2")
    above = check(tmp_path / "bucket")
    assert not above.importable and above.root_off
    [hint] = above.problems  # the cause, first and alone: not a warning after five "upload X" errors
    assert hint.is_error and "model folders were found under m1, m2" in hint.explanation
    assert f"{tmp_path}/bucket/m1" in hint.fix
    inside = check(folder.root / "model")
    [hint] = inside.problems
    assert hint.is_error and "looks like the model/ folder itself" in hint.explanation
    assert f"Give {folder.root}," in hint.fix
    ip = check(folder.root / "ip")
    [hint] = ip.problems
    assert hint.is_error and "looks like the ip/ folder itself" in hint.explanation


def test_metadata_only_in_custom_files_is_copied_by_fix(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.write("custom_files/model_metadata.json", folder.read("model/model_metadata.json"))
    folder.remove("model/model_metadata.json")
    report = check(folder)
    assert codes(report) == [(Code.FILE_DOES_NOT_EXIST, "model/model_metadata.json")]
    assert report.errors[0].auto_fix and "custom_files/model_metadata.json" in report.errors[0].explanation


def test_sharded_checkpoint_needs_every_shard(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    name = "4_Step-162.ckpt"
    folder.remove(f"model/{name}.data-00000-of-00001")
    folder.write(f"model/{name}.data-00000-of-00002", b"a" * 10)
    report = check(folder)
    assert codes(report) == [(Code.CHECKPOINT_FILES_DOES_NOT_EXIST, f"model/{name}")]
    assert f"{name}.data-00001-of-00002" in report.errors[0].explanation
    folder.write(f"model/{name}.data-00001-of-00002", b"b" * 10)
    report = check(folder)
    assert report.importable
    assert {f"model/{name}.data-0000{i}-of-00002" for i in (0, 1)} <= {o.key for o in report.plan.objects}
