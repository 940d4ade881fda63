"""The worked examples of the spec's "Finding checkpoint files" and "Checkpoint logic", by name."""

from __future__ import annotations

import json

from drmodels.rules.inspect import inspect
from drmodels.rules.limits import Limits
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from drmodels.rules.report import Report

BASE = {
    "reward_function.py": b"def reward_function(params):\n    return 1.0\n",
    "ip/hyperparameters.json": b'{"batch_size": 64}',
    "model/model_metadata.json": json.dumps(
        {
            "action_space": [{"steering_angle": 0, "speed": 1}],
            "sensor": ["FRONT_FACING_CAMERA"],
            "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
            "version": "3",
        }
    ).encode(),
    "model/model.tar.gz": b"\x1f\x8b archive",
}


SPEC_JSON = (
    b'{"best_checkpoint": {"name": "319_Step-43282.ckpt"}, "last_checkpoint": {"name": "20_Step-43482.ckpt"}}'
)


def checkpoint_files(
    *names: str, parts: tuple[str, ...] = ("index", "meta", "data-00000-of-00001")
) -> dict[str, bytes]:
    return {f"model/{name}.{part}": b"x" * 10 for name in names for part in parts}


def run(files: dict[str, bytes]) -> Report:
    objects = [ObjectInfo(key, len(data)) for key, data in files.items()]
    return inspect("s3://bucket/prefix", objects, files, Limits())


def codes(report: Report) -> list[Code]:
    return [p.code for p in report.errors]


def test_spec_json_present_but_named_checkpoints_missing() -> None:
    files = {**BASE, **checkpoint_files("320_Step-43278.ckpt", "321_Step-43280.ckpt", "322_Step-43282.ckpt")}
    files["model/deepracer_checkpoints.json"] = SPEC_JSON
    report = run(files)
    assert not report.importable
    assert codes(report) == [Code.CHECKPOINT_FILES_DOES_NOT_EXIST] * 2
    paths = {p.path for p in report.errors}
    assert paths == {"model/319_Step-43282.ckpt", "model/20_Step-43482.ckpt"}
    first = report.errors[0].explanation
    assert "319_Step-43282.ckpt.index" in first and "322_Step-43282.ckpt" in first  # what is there instead


def test_spec_coach_present_but_named_checkpoint_missing() -> None:
    files = {**BASE, **checkpoint_files("13_Step-25174.ckpt", "13_Step-25175.ckpt", "14_Step-3456.ckpt")}
    files["model/.coach_checkpoint"] = b"13_Step-25173.ckpt"
    report = run(files)
    assert codes(report) == [Code.CHECKPOINT_FILES_DOES_NOT_EXIST]
    assert "13_Step-25173.ckpt" in report.errors[0].explanation
    assert "14_Step-3456.ckpt" in report.errors[0].explanation


def test_spec_coach_present_and_named_checkpoint_found() -> None:
    files = {
        **BASE,
        **checkpoint_files(
            "13_Step-25173.ckpt", "13_Step-25174.ckpt", "13_Step-25175.ckpt", "14_Step-3456.ckpt"
        ),
    }
    files["model/.coach_checkpoint"] = b"13_Step-25173.ckpt"
    report = run(files)
    assert report.importable, report.problems
    # No earlier iteration exists; the newer ones are not named and are not copied.
    assert report.plan.checkpoints == ("13_Step-25173.ckpt",)
    copied = {o.key for o in report.plan.objects}
    assert not any("25174" in k or "25175" in k or "3456" in k for k in copied)


def test_spec_copy_the_last_two() -> None:
    files = {
        **BASE,
        **checkpoint_files("1_Step-42.ckpt", "2_Step-91.ckpt", "3_Step-124.ckpt", "4_Step-162.ckpt"),
    }
    files["model/.coach_checkpoint"] = b"4_Step-162.ckpt"
    report = run(files)
    assert report.importable
    assert report.plan.checkpoints == ("3_Step-124.ckpt", "4_Step-162.ckpt")
    copied = {o.key for o in report.plan.objects if ".ckpt" in o.key}
    assert copied == {
        f"model/{name}.{part}"
        for name in ("3_Step-124.ckpt", "4_Step-162.ckpt")
        for part in ("index", "meta", "data-00000-of-00001")
    }


def test_spec_json_takes_precedence_over_coach_and_copies_best_and_last() -> None:
    files = {**BASE, **checkpoint_files("20_Step-43482.ckpt", "319_Step-43282.ckpt", "5_Step-1.ckpt")}
    files["model/deepracer_checkpoints.json"] = SPEC_JSON
    files["model/.coach_checkpoint"] = b"5_Step-1.ckpt"  # ignored
    report = run(files)
    assert report.importable
    assert set(report.plan.checkpoints) == {"319_Step-43282.ckpt", "20_Step-43482.ckpt"}


def test_spec_neither_pointer_fails() -> None:
    report = run({**BASE, **checkpoint_files("4_Step-162.ckpt")})
    assert codes(report) == [Code.COACH_CHECKPOINT_DOES_NOT_EXIST]
    assert "4_Step-162.ckpt" in report.errors[0].fix  # names a checkpoint it could point at
