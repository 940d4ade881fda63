"""Archives as racers make them (tar with hard links, bzip2, xz, zip from Windows and macOS) and
file names the store cannot hold: accepted the same as the folder, or refused / left out by name."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from drmodels.adapters.sources.folder import FolderSource
from drmodels.adapters.sources.open import open_source
from drmodels.rules.inspect import inspect
from drmodels.rules.limits import Limits
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from drmodels.rules.report import Report
from drmodels.service.check import check_source
from drmodels.service.imports.job import run_import
from support import modelfolders as mf
from support.deps import service
from support.import_fixtures import write_model


def check(location: Path | str) -> Report:
    return check_source(open_source(str(location)), Limits())


def comparable(report: Report) -> dict[str, Any]:
    out = report.as_dict()
    out.pop("source")
    for problem in out["problems"]:  # type: ignore[attr-defined]
        problem.pop("fix")
    return out


# --- tar archives ---------------------------------------------------------------------------------------


def test_hard_links_inside_the_archive_are_read_as_files(tmp_path: Path) -> None:
    """GNU tar stores a second name of one file as a hard link: what `tar -czf` gives for such a folder."""
    folder = mf.console_model(tmp_path / "m")
    os.link(folder.root / "model/model_metadata.json", folder.root / "model_metadata.json")
    archive = tmp_path / "m.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(folder.root), "."], check=True)
    with tarfile.open(archive) as tar:
        assert any(m.islnk() for m in tar.getmembers())  # the archive really holds a hard link
    report = check(archive)
    assert report.importable, report.problems
    assert comparable(report) == comparable(check(folder.root))
    source = open_source(str(archive))
    list(source.list())
    assert source.read("model_metadata.json", 1 << 20) == folder.read("model/model_metadata.json")


@pytest.mark.parametrize(
    ("link", "said"),
    [("../../etc/passwd", "to nothing stored before it"), ("model/later", "to nothing stored before it")],
)
def test_links_that_leave_the_archive_are_refused(tmp_path: Path, link: str, said: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model/x")
        info.type, info.linkname = tarfile.LNKTYPE, link
        tar.addfile(info)
    (tmp_path / "m.tar.gz").write_bytes(buffer.getvalue())
    [problem] = check(tmp_path / "m.tar.gz").problems
    assert problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR and said in problem.explanation


@pytest.mark.parametrize("cut", [8, 4, 1])
def test_a_gzip_trailer_cut_off_is_refused(tmp_path: Path, cut: int) -> None:
    """The tar end blocks arrive before the gzip CRC: without reading to the end, this passed."""
    path = mf.console_model(tmp_path / "m").pack(tmp_path / "m.tar.gz")
    path.write_bytes(path.read_bytes()[:-cut])
    [problem] = check(path).problems
    assert (
        problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR and "damaged or truncated" in problem.explanation
    )


def test_a_flipped_byte_is_refused(tmp_path: Path) -> None:
    path = mf.console_model(tmp_path / "m").pack(tmp_path / "m.tar.gz")
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # inside the CRC-32 of the trailer
    path.write_bytes(bytes(data))
    assert "damaged or truncated" in check(path).problems[0].explanation


@pytest.mark.parametrize(("mode", "suffix"), [("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz"), ("w", ".tar")])
def test_bzip2_xz_and_plain_tar(tmp_path: Path, mode: str, suffix: str) -> None:
    folder = mf.console_model(tmp_path / "m")
    path = tmp_path / f"m{suffix}"
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        tar.add(folder.root, arcname="my-model")
    report = check(path)
    assert report.importable and comparable(report) == comparable(check(folder.root))


def test_an_archive_is_told_by_its_content_not_its_name(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    path = folder.pack(tmp_path / "model-without-suffix")
    assert check(path).importable


# --- zip archives ---------------------------------------------------------------------------------------


def _zip(folder: mf.ModelFolder, path: Path, top: str = "", windows: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for key in folder.keys():  # noqa: SIM118 (a ModelFolder, not a dict)
            name = top + key
            z.write(folder.root / key, name.replace("/", "\\") if windows else name)
    return path


def test_a_zip_of_the_folder_is_imported_like_the_folder(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    path = _zip(folder, tmp_path / "m.zip", top="MyModel/")
    with zipfile.ZipFile(path, "a") as z:  # what macOS' Compress adds
        z.writestr("__MACOSX/MyModel/._reward_function.py", b"\x00\x05\x16\x07")
    report = check(path)
    assert report.importable and comparable(report) == comparable(check(folder.root))
    svc = service(tmp_path)
    assert run_import(svc.accept("from-zip", str(path)).job_id, svc.deps) == "READY"
    assert sorted(e["key"] for e in svc.get("from-zip").manifest or []) == sorted(
        o.key for o in report.plan.objects
    )


def test_a_zip_with_windows_separators(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path / "m")
    assert check(_zip(folder, tmp_path / "m.zip", windows=True)).importable


def _zip_member(tmp_path: Path, info: zipfile.ZipInfo, data: bytes = b"x") -> Path:
    path = _zip(mf.console_model(tmp_path / "m"), tmp_path / "m.zip")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(info, data)
    return path


def test_zip_symlinks_and_escapes_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("model/.coach_checkpoint2")
    link.external_attr = (0o120777 << 16) | 0x20
    assert "symbolic link" in check(_zip_member(tmp_path / "a", link, b"/etc/passwd")).problems[0].explanation
    escape = zipfile.ZipInfo("../../outside.txt")
    assert "outside the archive" in check(_zip_member(tmp_path / "b", escape)).problems[0].explanation


def test_encrypted_zip_members_are_refused(tmp_path: Path) -> None:
    path = _zip_member(tmp_path, zipfile.ZipInfo("logs/secret.log"))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # zipfile writes no encryption:
        at = data.rfind(signature)  # set the flag of the member added last, in both of its headers
        data[at + offset] |= 0x1
    path.write_bytes(bytes(data))
    [problem] = check(path).problems
    assert "encrypted" in problem.explanation and "without a password" in problem.fix


def test_deflate64_zip_members_are_refused_with_the_way_out(tmp_path: Path) -> None:
    """Windows' Explorer compresses large files with Deflate64, which Python's zipfile cannot read."""
    path = _zip_member(tmp_path, zipfile.ZipInfo("logs/big.log"))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.rfind(signature)  # the member added last: its local header and directory entry
        data[at + offset : at + offset + 2] = (9).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    [problem] = check(path).problems
    assert "Deflate64" in problem.explanation and ".tar.gz" in problem.fix


def test_a_truncated_zip_is_refused(tmp_path: Path) -> None:
    path = _zip(mf.console_model(tmp_path / "m"), tmp_path / "m.zip")
    path.write_bytes(path.read_bytes()[:-30])
    [problem] = check(path).problems
    assert (
        problem.code is Code.MODEL_VALIDATION_SERVICE_ERROR and "not a readable .zip" in problem.explanation
    )


# --- names the store cannot hold, and names it can that looked like its own ------------------------------


def test_long_names_and_deep_paths(tmp_path: Path) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    long_name = "l" * 246 + ".log"  # legal on Linux; with a `.part-XXXXXXXX` suffix it was not
    (src / "logs").mkdir()
    (src / "logs" / long_name).write_bytes(b"long")
    deep = src / "logs" / "/".join(["d" * 200] * 5)
    deep.mkdir(parents=True)
    (deep / "x.log").write_bytes(b"deep")  # a path over the 900 bytes a store key may have
    svc = service(tmp_path)
    report = check_source(FolderSource(src), Limits())
    [left_out] = [p for p in report.problems if "longer than the 900" in p.explanation]
    assert not left_out.is_error and left_out.path.endswith("/x.log")
    assert run_import(svc.accept("long", str(src)).job_id, svc.deps) == "READY"
    keys = {e["key"] for e in svc.get("long").manifest or []}
    assert f"logs/{long_name}" in keys and not any(k.endswith("/x.log") for k in keys)


def test_two_names_that_are_not_utf8_are_both_named(tmp_path: Path) -> None:
    folder = mf.console_model(tmp_path)
    (folder.root / "logs").mkdir()
    for raw in (b"run-\xff.log", b"run-\xfe.log"):  # both decode to "run-\ufffd.log"
        (folder.root / "logs" / os.fsdecode(raw)).write_bytes(raw)
    report = check(folder.root)
    named = sorted(p.path for p in report.problems if "not UTF-8" in p.explanation)
    assert named == ["logs/run-\\xfe.log", "logs/run-\\xff.log"]
    assert report.importable and not any("run-" in o.key for o in report.plan.objects)


@pytest.mark.parametrize("name", ["weights.part-1a2b3c4d", ".parts", "x.drmodels-part"])
def test_names_like_our_own_part_files_are_kept_and_downloaded(tmp_path: Path, name: str) -> None:
    src = write_model(tmp_path / "src", checkpoints=2)
    (src / "logs").mkdir()
    (src / "logs" / name).write_bytes(b"mine")
    svc = service(tmp_path)
    assert run_import(svc.accept("parts", str(src)).job_id, svc.deps) == "READY"
    from drmodels.service.download import download_model

    out = io.BytesIO()
    download_model(svc.deps.store, svc.get("parts"), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert f"logs/{name}" in tar.getnames()


def test_unreadable_files_are_judged_at_check() -> None:
    """Readable by whom runs drmodels: as root every file is, so the check runs as `nobody`, in a
    folder under /tmp it can reach (pytest's own are private)."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="drm-unreadable-") as shared:
        root = Path(shared) / "m"
        folder = mf.console_model(root)
        folder.write("logs/run.log", b"secret")
        for path in (Path(shared), *[p for p in root.rglob("*") if p.is_dir()], root):
            path.chmod(0o755)
        (root / "logs" / "run.log").chmod(0o000)
        (root / "ip" / "hyperparameters.json").chmod(0o000)
        report = _as_nobody(folder.root) if os.geteuid() == 0 else check(folder.root).as_dict()
    problems = {p["path"]: p for p in report["problems"]}
    assert problems["logs/run.log"]["severity"] == "warning"  # an optional file: left out, said
    assert problems["logs/run.log"]["code"] == Code.ACCESS_DENIED_TO_BUCKET
    mandatory = problems["ip/hyperparameters.json"]
    assert mandatory["severity"] == "error" and mandatory["code"] == Code.ACCESS_DENIED_TO_BUCKET
    assert "is there but cannot be read" in mandatory["explanation"]
    assert "logs/run.log" not in {o["key"] for o in report["plan"]["objects"]}


def _as_nobody(root: Path) -> dict[str, Any]:
    """check_source as uid/gid 65534 in a forked child; what it needs is imported (and run) first."""
    check_source(FolderSource(root), Limits())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            out = json.dumps(check_source(FolderSource(root), Limits()).as_dict())
        except BaseException as exc:
            out = json.dumps({"error": repr(exc)})
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    report: dict[str, Any] = json.loads(data)
    assert "error" not in report, report
    return report


def test_s3_keys_the_store_cannot_hold(
    tmp_path: Path, aws_env: Any, bucket: str, upload: Any, s3_admin: Any
) -> None:
    """A key longer than the store can hold under its prefix: the optional file is left out, by name."""
    upload(mf.console_model(tmp_path / "m").root, bucket, "m")
    deep = "logs/" + "/".join(["d" * 180] * 5) + ".log"  # 914 bytes: over the 900 a source key may have
    s3_admin.put_object(Bucket=bucket, Key=f"m/{deep}", Body=b"log")
    report = check(f"s3://{bucket}/m")
    assert report.importable
    assert {p.path for p in report.problems if "store cannot keep" in p.explanation} == {deep}


@pytest.mark.parametrize(
    ("key", "said"),
    [("logs//double.log", "empty, '.' or '..' part"), ("logs/back\\slash.log", "backslash"),
     ("logs/./x.log", "empty, '.' or '..' part"), ("logs/tab\tname.log", "control character"),
     ("logs/" + "x" * 300 + ".log", "longer than 255 bytes")],
)  # fmt: skip
def test_keys_aws_keeps_that_the_store_cannot(key: str, said: str) -> None:
    """AWS keeps `//` and backslashes in keys (SeaweedFS normalises them): judged from the listing."""
    parts = ("index", "meta", "data-00000-of-00001")
    checkpoint = [f"model/1_Step-5.ckpt.{p}" for p in parts]
    keys = ["reward_function.py", "ip/hyperparameters.json", "model/model_metadata.json",
            "model/model.tar.gz", "model/.coach_checkpoint", *checkpoint]  # fmt: skip
    contents = {"model/.coach_checkpoint": b"1_Step-5.ckpt", "reward_function.py": mf.REWARD,
                "ip/hyperparameters.json": mf.dumps(mf.HYPERPARAMETERS),
                "model/model_metadata.json": mf.dumps(mf.DISCRETE_METADATA)}  # fmt: skip
    report = inspect("s3://b/m", [ObjectInfo(k, 10) for k in [*keys, key]], contents, Limits())
    assert report.importable, report.problems
    [problem] = report.problems
    assert problem.path == key and said in problem.explanation and "Rename s3://b/m/" in problem.fix
