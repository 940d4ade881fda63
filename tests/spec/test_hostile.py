"""Hostile or broken input never produces a traceback: a code and a message instead."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drmodels.adapters.sources.folder import FolderSource
from drmodels.adapters.sources.tarball import TarballSource
from drmodels.cli.app import app
from drmodels.rules.limits import Limits
from drmodels.rules.problems import Code
from drmodels.service.check import check_source
from support import modelfolders as mf

runner = CliRunner()


def check_json(location: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["check", location, "--json", "--no-deep"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def codes(out: dict[str, object]) -> list[str]:
    return [p["code"] for p in out["problems"]]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize(
    "key",
    [
        "reward_function.py",
        "ip/hyperparameters.json",
        "model/model_metadata.json",
        "model/.coach_checkpoint",
        "training_params.yaml",
        "metrics/TrainingMetrics.json",
    ],
)
@pytest.mark.parametrize(
    "data",
    [os.urandom(4096), b"\xff\xfe\x00\x00garbage", "é".encode("latin-1") * 50],
    ids=["random", "binary", "latin-1"],
)
def test_binary_and_non_utf8_control_files(tmp_path: Path, key: str, data: bytes) -> None:
    folder = mf.console_model(tmp_path).write(key, data)
    code, out = check_json(str(folder.root))
    mine = [p for p in out["problems"] if p["path"] == key]  # type: ignore[attr-defined]
    assert mine, out
    assert all(
        p["code"] in (Code.MODEL_VALIDATION_SERVICE_ERROR, Code.COACH_CHECKPOINT_DOES_NOT_EXIST) for p in mine
    )
    assert code == (0 if key.startswith(("training", "metrics")) else 1)


def test_huge_files_are_judged_by_size_not_read(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    folder.sparse("reward_function.py", 50 * 1024**3)
    folder.sparse("model/model_metadata.json", 50 * 1024**3)
    code, out = check_json(str(folder.root))
    assert code == 1
    assert set(codes(out)) == {Code.MODEL_VALIDATION_SERVICE_ERROR, Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED}
    assert "50.0 GiB" in json.dumps(out)


def test_odd_file_names(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    for name in (
        "logs/a b.log",
        "logs/ü🏎.log",
        "logs/2026-04-10T19:26:15.164Z-x.log",
        "logs/%41+=&?#.log",
        "metrics/we\\ird.json",
        "logs/\t.log",
    ):
        folder.write(name, b"x")
    (tmp_path / "logs").joinpath(os.fsdecode(b"bad-\xff.log")).write_bytes(b"x")
    code, out = check_json(str(folder.root))
    assert code == 0  # optional files with names the store cannot hold are left out, never a refusal
    keys = {o["key"] for o in out["plan"]["objects"]}  # type: ignore[index]
    assert {"logs/a b.log", "logs/ü🏎.log", "logs/%41+=&?#.log", "logs/2026-04-10T19:26:15.164Z-x.log"} <= keys
    left_out = {p["path"]: p for p in out["problems"]}  # type: ignore[attr-defined]
    assert set(left_out) == {"metrics/we\\ird.json", "logs/\t.log", "logs/bad-\\xff.log"}
    assert not keys & set(left_out)
    assert "backslash" in left_out["metrics/we\\ird.json"]["explanation"]
    assert "control character" in left_out["logs/\t.log"]["explanation"]
    assert "not UTF-8" in left_out["logs/bad-\\xff.log"]["explanation"]
    assert all(p["severity"] == "warning" for p in left_out.values())


def test_links_are_not_followed(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    (tmp_path / "secret").write_text("outside")
    (folder.root / "logs").mkdir()
    (folder.root / "logs" / "link.log").symlink_to(tmp_path / "secret")
    (folder.root / "outside").symlink_to(tmp_path, target_is_directory=True)
    report = check_source(FolderSource(folder.root), Limits())
    assert not any("link" in o.key or o.key.startswith("outside") for o in report.plan.objects)


def test_empty_folder_and_paths_that_are_not_models(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = check_json(str(tmp_path / "empty"))
    assert code == 1 and codes(out) == [Code.FILE_DOES_NOT_EXIST]
    (tmp_path / "notes.txt").write_text("hi")
    code, out = check_json(str(tmp_path / "notes.txt"))
    assert code == 1 and "is a file" in json.dumps(out)
    code, out = check_json(str(tmp_path / "missing"))
    assert code == 1 and "does not exist" in json.dumps(out)


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        ok = tarfile.TarInfo("reward_function.py")
        ok.size = len(mf.REWARD)
        tar.addfile(ok, io.BytesIO(mf.REWARD))
        tar.addfile(member, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = size
    return info


HOSTILE = {
    "traversal": (_member("../../etc/evil", size=3), b"bad", "outside the archive"),
    "absolute": (_member("/etc/evil", size=3), b"bad", "outside the archive"),
    "symlink": (_member("model/.coach_checkpoint", tarfile.SYMTYPE, "/etc/passwd"), b"", "symbolic link"),
    "hard link": (_member("model/x", tarfile.LNKTYPE, "../../etc/passwd"), b"", "link member"),
    "device": (_member("model/dev", tarfile.CHRTYPE), b"", "device member"),
}


@pytest.mark.parametrize(("member", "data", "said"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_archive_as_source(tmp_path: Path, member: tarfile.TarInfo, data: bytes, said: str) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(_tar_with(member, data))
    before = sorted(tmp_path.rglob("*"))
    code, out = check_json(str(path))
    assert code == 1 and codes(out) == [Code.MODEL_VALIDATION_SERVICE_ERROR]
    assert said in json.dumps(out)
    assert sorted(tmp_path.rglob("*")) == before  # nothing extracted


def test_archive_bomb_caps(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    path = folder.pack(tmp_path / "m.tar.gz")
    report = check_source(TarballSource(path, max_members=5), Limits())
    assert [p.code for p in report.problems] == [Code.MODEL_VALIDATION_SERVICE_ERROR]
    assert "bomb" in report.problems[0].explanation
    report = check_source(TarballSource(path, max_total_bytes=1000), Limits())
    assert "bomb" in report.problems[0].explanation


@pytest.mark.parametrize(
    "data",
    [b"", b"not an archive", b"\x1f\x8b\x08\x00garbage-gzip", os.urandom(5000)],
    ids=["empty", "text", "bad gzip", "random"],
)
def test_broken_archives(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(data)
    code, out = check_json(str(path))
    assert code == 1 and codes(out) in ([Code.MODEL_VALIDATION_SERVICE_ERROR], [Code.FILE_DOES_NOT_EXIST])


def test_truncated_archive(tmp_path: Path) -> None:
    path = mf.console_model(tmp_path / "m").pack(tmp_path / "m.tar.gz")
    path.write_bytes(path.read_bytes()[:-200])
    code, out = check_json(str(path))
    assert code == 1 and "damaged or truncated" in json.dumps(out)
