"""The same model gives the same report from a folder, its .tar.gz, and a real S3 server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drmodels.adapters.sources.open import open_source
from drmodels.cli.app import app
from drmodels.rules.limits import Limits
from drmodels.rules.problems import Code
from drmodels.service.check import check_source
from support import modelfolders as mf
from support import servers

BUILDERS: dict[str, Callable[[Path], mf.ModelFolder]] = {
    "console": mf.console_model,
    "on-the-spot": mf.on_the_spot_model,
    "drfc-upload": mf.drfc_upload,
    "console-export": mf.console_export,
    "console-2020": mf.console_2020_model,
}
runner = CliRunner()


def comparable(location: str, role_arn: str | None = None) -> dict[str, Any]:
    """The report without what names the source: its location, and each fix (a folder's fixes name
    `drmodels fix PATH`, an archive's say to repack, a bucket's give the `aws s3` command)."""
    report = check_source(open_source(location, role_arn), Limits()).as_dict()
    report.pop("source")
    for problem in report["problems"]:  # type: ignore[attr-defined]
        problem.pop("fix")
    return report


@pytest.mark.parametrize("family", BUILDERS)
def test_folder_archive_and_s3_agree(
    family: str,
    tmp_path: Path,
    aws_env: servers.Seaweed,
    bucket: str,
    upload: Callable[[Path, str, str], int],
) -> None:
    folder = BUILDERS[family](tmp_path / "model")
    folder.write("logs/odd names/a b+c=d%e:f é.log", b"odd key")
    plain = folder.pack(tmp_path / "model.tar.gz")
    nested = folder.pack(tmp_path / "nested.tgz", top="my-model/")
    upload(folder.root, bucket, "models/DeepRacer-SageMaker-RoboMaker-comm-123456789012-20200701")

    expected = comparable(str(folder.root))
    assert expected["problems"] or expected["importable"]
    assert comparable(str(plain)) == expected
    assert comparable(str(nested)) == expected
    assert (
        comparable(f"s3://{bucket}/models/DeepRacer-SageMaker-RoboMaker-comm-123456789012-20200701/")
        == expected
    )


def test_s3_through_an_assumed_role(
    tmp_path: Path, importer_env: servers.Seaweed, bucket: str, upload: Callable[[Path, str, str], int]
) -> None:
    folder = mf.console_model(tmp_path)
    upload(folder.root, bucket, "m1")
    result = runner.invoke(
        app, ["check", f"s3://{bucket}/m1", "--json", "--role-arn", importer_env.roles.read]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    report.pop("source")
    assert report == comparable(str(folder.root))


def test_bucket_missing(aws_env: servers.Seaweed) -> None:
    result = runner.invoke(app, ["check", "s3://no-such-deepracer-bucket/model", "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert [p["code"] for p in problems] == [Code.SRC_BUCKET_DOES_NOT_EXIST]
    assert "no-such-deepracer-bucket" in problems[0]["explanation"]


def test_role_without_get_object(
    tmp_path: Path, importer_env: servers.Seaweed, bucket: str, upload: Callable[[Path, str, str], int]
) -> None:
    upload(mf.console_model(tmp_path).root, bucket, "m1")
    report = check_source(open_source(f"s3://{bucket}/m1", importer_env.roles.list_only), Limits())
    assert not report.importable
    denied = [p for p in report.errors if p.code is Code.ACCESS_DENIED_TO_BUCKET]
    assert {p.path for p in denied} >= {"reward_function.py", "model/model_metadata.json"}
    assert all("s3:GetObject" in p.explanation + p.fix for p in denied)


def test_role_without_list_bucket(
    tmp_path: Path, importer_env: servers.Seaweed, bucket: str, upload: Callable[[Path, str, str], int]
) -> None:
    upload(mf.console_model(tmp_path).root, bucket, "m1")
    report = check_source(open_source(f"s3://{bucket}/m1", importer_env.roles.no_list), Limits())
    assert [p.code for p in report.problems] == [Code.ACCESS_DENIED_TO_BUCKET]
    assert "s3:ListBucket" in report.problems[0].explanation + report.problems[0].fix


@pytest.mark.parametrize("role", ["untrusted", "missing"])
def test_role_that_cannot_be_assumed(role: str, importer_env: servers.Seaweed, bucket: str) -> None:
    result = runner.invoke(
        app, ["check", f"s3://{bucket}/m1", "--json", "--role-arn", getattr(importer_env.roles, role)]
    )
    assert result.exit_code == 1
    assert [p["code"] for p in json.loads(result.output)["problems"]] == [
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
    ]


def test_empty_prefix_and_prefix_that_is_a_file(
    tmp_path: Path, aws_env: servers.Seaweed, bucket: str, upload: Callable[[Path, str, str], int]
) -> None:
    upload(mf.console_model(tmp_path).root, bucket, "m1")
    empty = check_source(open_source(f"s3://{bucket}/nothing-here"), Limits())
    assert [p.code for p in empty.problems] == [Code.FILE_DOES_NOT_EXIST]
    assert "no files" in empty.problems[0].explanation
    a_file = check_source(open_source(f"s3://{bucket}/m1/reward_function.py"), Limits())
    assert [p.code for p in a_file.problems] == [Code.FILE_DOES_NOT_EXIST]
    assert "not a folder" in a_file.problems[0].explanation
