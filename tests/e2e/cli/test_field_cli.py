"""The CLI as a new racer meets it: every failure one `error:` line (exit 2) and nothing written,
downloads that never overwrite or leave parts, help and version, output that never cuts a line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from drmodels.cli.app import app
from support import modelfolders as mf
from support import servers
from support.import_fixtures import write_model

runner = CliRunner()
DRMODELS = str(Path(sys.executable).parent / "drmodels")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data dir of its own, deep checks off, no DRMODELS_* from the outer environment."""
    for name in list(os.environ):
        if name.startswith("DRMODELS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DRMODELS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRMODELS_IMPORT_DEEP", "0")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def run(*args: str, **env: str) -> Result:
    return runner.invoke(app, list(args), env=env or None)


def one_line_error(result: Result, said: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.fixture
def imported(env: Path) -> Path:
    write_model(env / "src", checkpoints=2)
    assert run("import", "src", "--name", "m", "--wait").exit_code == 0
    return env


# --- downloads --------------------------------------------------------------------------------------------


def test_download_into_a_folder_never_over_a_file(imported: Path) -> None:
    (imported / "out").mkdir()
    assert run("models", "download", "m", "-o", "out").exit_code == 0
    assert (imported / "out" / "m.tar.gz").stat().st_size > 0
    first = (imported / "out" / "m.tar.gz").stat().st_mtime_ns
    one_line_error(run("models", "download", "m", "-o", "out"), "exists; use --force to replace it")
    assert (imported / "out" / "m.tar.gz").stat().st_mtime_ns == first
    assert run("models", "download", "m", "-o", "out/m.tar.gz", "--force").exit_code == 0
    assert sorted(p.name for p in (imported / "out").iterdir()) == ["m.tar.gz"]  # no part file left


def test_download_to_a_missing_folder(imported: Path) -> None:
    one_line_error(run("models", "download", "m", "-o", "/nonexistent/dir/x.tar.gz"), "does not exist")
    assert not Path("/nonexistent").exists()


def test_download_of_an_unknown_model_writes_nothing(imported: Path) -> None:
    one_line_error(run("models", "download", "nope"), "no model named 'nope'")
    assert not (imported / "nope.tar.gz").exists()


def test_downloaded_files_honour_the_umask(imported: Path) -> None:
    old = os.umask(0o027)
    try:
        assert run("models", "download", "m", "--car").exit_code == 0
    finally:
        os.umask(old)
    assert (imported / "m-car-model.tar.gz").stat().st_mode & 0o777 == 0o640


# --- settings and places that cannot be used ----------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "said"),
    [("file", "is a file, not a folder"), ("file/below", "cannot be created")],
)
def test_data_dir_that_cannot_be_used(env: Path, place: str, said: str) -> None:
    (env / "file").write_text("not a folder")
    one_line_error(run("models", "list", "--data-dir", str(env / place)), said)
    assert (env / "file").read_text() == "not a folder"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nonsense", "not a database URL"),
        ("foo://x/y", "not a database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot be opened"),
        ("sqlite:///{tmp}/notes.txt", "the file is not a SQLite database"),
    ],
)
def test_registry_url_that_cannot_be_used(env: Path, url: str, said: str) -> None:
    (env / "notes.txt").write_text("hello, not a database\n" * 100)
    one_line_error(run("models", "list", DRMODELS_REGISTRY_URL=url.format(tmp=env)), said)
    assert (env / "notes.txt").read_text().startswith("hello")


def test_registry_written_by_a_newer_drmodels(imported: Path) -> None:
    db = imported / "data" / "registry.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    one_line_error(run("models", "list"), "was written by a newer drmodels (revision 0999)")


def test_a_tampered_row_is_refused_in_one_line(imported: Path) -> None:
    db = imported / "data" / "registry.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("UPDATE models SET id = '../../../../etc'")
    one_line_error(run("models", "download", "m", "-o", "x.tar.gz"), "refusing store key")
    one_line_error(run("models", "delete", "m"), "refusing store key")
    assert Path("/etc/passwd").exists() and not (imported / "x.tar.gz").exists()


def test_size_settings_take_units(env: Path) -> None:
    folder = mf.console_model(env / "m")
    result = run("check", str(folder.root), "--no-deep", DRMODELS_MODEL_TAR_MAX_BYTES="0.01kB")
    assert result.exit_code == 1 and "MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED" in result.output
    assert run("check", str(folder.root), "--no-deep", DRMODELS_MODEL_TAR_MAX_BYTES="500MiB").exit_code == 0


def test_a_text_file_named_like_an_archive(env: Path) -> None:
    (env / "x.tar.gz").write_text("hello, I am a text file\n")
    result = run("check", "x.tar.gz", "--json")
    assert result.exit_code == 1
    [problem] = json.loads(result.output)["problems"]
    assert (
        "x.tar.gz is not a gzip file (it starts with the text 'hello, I am a text file')"
        in problem["explanation"]
    )
    assert "method" not in problem["explanation"] and "ReadError" not in problem["explanation"]


# --- requests that can never work are refused before anything is registered ------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("src", "--role-arn", "arn:aws:iam::123456789012:role/R"), "role_arn: --role-arn applies to s3://"),
        (("missing",), "source: missing does not exist"),
        (("notes.txt",), "is a file, not a model folder or an archive"),
        (("gs://bucket/m",), "source: 'gs://bucket/m' has the scheme gs://"),
        (("s3://x/m",), "does not name a valid bucket"),
    ],
)
def test_impossible_requests_are_refused_at_accept(env: Path, args: tuple[str, ...], said: str) -> None:
    write_model(env / "src", checkpoints=2)
    (env / "notes.txt").write_text("hi")
    one_line_error(run("import", *args, "--name", "never"), said)
    listed = run("models", "list", "--json")
    assert json.loads(listed.output) == []  # nothing registered: the name stays free


# --- help, version, JSON shape, width ---------------------------------------------------------------------


def test_version_and_flags_in_help() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.output.startswith("drmodels ")
    for command in (["check"], ["fix"], ["import"], ["models", "download"]):
        text = run(*command, "--help").output
        assert "<bool>" not in text, (command, text)
    assert "--json " in run("check", "--help").output


@pytest.mark.parametrize("kind", ["folder", "missing", "broken-archive"])
def test_check_json_always_has_the_same_keys(env: Path, kind: str) -> None:
    folder = mf.console_model(env / "m")
    (env / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    location = {"folder": str(folder.root), "missing": "nowhere", "broken-archive": "broken.tar.gz"}[kind]
    out: dict[str, Any] = json.loads(run("check", location, "--json", "--no-deep").output)
    assert list(out) == ["source", "importable", "problems", "plan", "checkpoints"]
    assert out["checkpoints"] is None
    assert list(out["plan"]) == [
        "checkpoints",
        "objects",
        "build_car_archive",
        "car_archive_graph",
        "model_metadata",
    ]
    for problem in out["problems"]:
        assert problem["path"] != "" and problem["fix"] != ""


def test_output_outside_a_terminal_never_cuts_a_line(imported: Path) -> None:
    env = {**os.environ, "COLUMNS": "40"}
    shown = subprocess.run(
        [DRMODELS, "models", "show", "m"], capture_output=True, text=True, env=env, timeout=120
    )
    arn = json.loads(run("models", "show", "m", "--json").output)["ModelArn"]
    assert arn in shown.stdout.split()  # whole, on one line, however narrow COLUMNS is


# --- an S3 model store: scheme in any case, problems in one line ----------------------------------------


def test_store_scheme_in_capitals_is_s3(
    env: Path, aws_env: servers.Seaweed, bucket: str, s3_admin: Any
) -> None:
    write_model(env / "src", checkpoints=2)
    result = run("import", "src", "--name", "caps", "--wait", DRMODELS_STORE_URL=f"S3://{bucket}/store")
    assert result.exit_code == 0, result.output
    keys = [o["Key"] for o in s3_admin.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys and all(k.startswith("store/models/") for k in keys)
    assert not (env / "S3:").exists()


def test_store_bucket_missing_or_no_credentials(
    env: Path, aws_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_line_error(run("models", "list", DRMODELS_STORE_URL="s3://no-such-store-bucket/x"), "does not exist")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    one_line_error(run("models", "list", DRMODELS_STORE_URL="s3://any/x"), "No usable AWS credentials")
    assert not (env / "data").exists()


def test_json_output_is_strict_even_for_rows_stored_before(imported: Path) -> None:
    """A model stored before non-finite numbers were refused still prints as JSON parsers read it."""
    with sqlite3.connect(imported / "data" / "registry.sqlite3") as conn:
        conn.execute(
            """UPDATE models SET car_configuration = '{"ActionSpace": {"Speed": [NaN, Infinity]}}'"""
        )
    for args in (("models", "show", "m", "--json"), ("models", "list", "--json")):
        text = run(*args).stdout
        parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the output"))
        shape = parsed if isinstance(parsed, dict) else parsed[0]
        assert shape["CarConfiguration"]["ActionSpace"]["Speed"] == [None, None]
