"""Manifests as league organisers write them (Excel, Windows, re-runs) and bulk imports stopped by Ctrl-C."""

from __future__ import annotations

import _thread
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drmodels.cli.app import app
from drmodels.errors import InvalidRequest
from drmodels.service.bulk import Action, BulkProgress, bulk_import, read_manifest
from drmodels.service.models import ModelService
from support.deps import service
from support.import_fixtures import write_model

runner = CliRunner()


def _quiet(_: BulkProgress) -> None:
    pass


def test_latin1_manifest_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "league.csv").write_bytes("name,source\nteam-1,m1\nteam-é,m2\n".encode("latin-1"))
    with pytest.raises(InvalidRequest, match=r"not UTF-8 text \(byte 0xe9 on line 3.*CSV UTF-8"):
        read_manifest(tmp_path / "league.csv")


def test_semicolons_empty_rows_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "league").mkdir()
    (tmp_path / "league" / "m.csv").write_text(
        "\ufeffName;Source;Description\n"  # Excel's CSV UTF-8 in a European locale: BOM, semicolons
        "team-1;models/m1;first, with a comma\n"
        ";;\n"
        "\n"
        "team-2;/abs/m2;\n"
        "team-3;s3://bucket/m3;\n"
    )
    rows = read_manifest(tmp_path / "league" / "m.csv")
    assert [(r.name, r.source, r.description, r.line) for r in rows] == [
        ("team-1", str(tmp_path / "league" / "models/m1"), "first, with a comma", 2),
        ("team-2", "/abs/m2", None, 5),
        ("team-3", "s3://bucket/m3", None, 6),
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("team,where\nx,y\n", "must name the columns name,source"),
        ("name,source\nteam-1,m1,extra\n", "line 2: more fields than the header has"),
        ("", "must name the columns"),
    ],
)
def test_manifests_that_cannot_be_read_say_where(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(InvalidRequest, match=said):
        read_manifest(tmp_path / "m.csv")


def test_a_manifest_runs_again_safely(tmp_path: Path) -> None:
    for i in range(2):
        write_model(tmp_path / f"m{i}", checkpoints=2)
    broken = write_model(tmp_path / "broken", checkpoints=2)
    (broken / "reward_function.py").rename(tmp_path / "reward.py")
    manifest = tmp_path / "league.csv"
    manifest.write_text("name,source\nteam-0,m0\nteam-1,m1\nteam-broken,broken\n")
    svc = service(tmp_path)
    first = bulk_import(svc, read_manifest(manifest), 2, _quiet)
    assert [(r.action, r.model.status if r.model else None) for r in first.rows] == [
        (Action.IMPORTED, "READY"), (Action.IMPORTED, "READY"), (Action.IMPORTED, "IMPORT_ERROR"),
    ]  # fmt: skip
    again = bulk_import(svc, read_manifest(manifest), 2, _quiet)
    assert [r.action for r in again.rows] == [Action.SKIPPED] * 3
    assert "--retry-failed" in (again.rows[2].reason or "")
    (tmp_path / "reward.py").rename(broken / "reward_function.py")
    fixed = bulk_import(svc, read_manifest(manifest), 2, _quiet, retry_failed=True)
    assert [r.action for r in fixed.rows] == [Action.SKIPPED, Action.SKIPPED, Action.RETRIED]
    assert fixed.ok and svc.get("team-broken").status == "READY"
    manifest.write_text("name,source\nteam-0,m1\n")  # the name, from another source
    [taken] = bulk_import(svc, read_manifest(manifest), 1, _quiet).rows
    assert taken.action is Action.REFUSED and "already exists, imported from" in (taken.reason or "")


def test_bulk_json_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_model(tmp_path / "m0", checkpoints=2)
    (tmp_path / "league.csv").write_text("name,source\nteam-0,m0\nbad name,m0\n")
    monkeypatch.setenv("DRMODELS_IMPORT_DEEP", "0")
    result = runner.invoke(app, ["import", "--manifest", str(tmp_path / "league.csv"), "--json",
                                 "--data-dir", str(tmp_path / "data")])  # fmt: skip
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["line"], r["name"], r["action"], r["status"]) for r in rows] == [
        (2, "team-0", "imported", "READY"), (3, "bad name", "refused", None),
    ]  # fmt: skip
    assert rows[1]["reason"].startswith("name: ") and rows[0]["arn"].startswith("arn:aws:deepracer:")


def test_ctrl_c_stops_a_bulk_import_cleanly(tmp_path: Path) -> None:
    """Ctrl-C (here: interrupt_main once the first copy reports) stops the running imports and the
    queued ones: each ends IMPORT_ERROR as interrupted, none stays IMPORTING, nothing half-stored."""
    rows_text = "name,source\n"
    for i in range(3):
        write_model(tmp_path / f"m{i}", checkpoints=2, data_size=1 << 20)
        rows_text += f"team-{i},m{i}\n"
    (tmp_path / "league.csv").write_text(rows_text)
    svc: ModelService = service(tmp_path)
    pressed: list[bool] = []

    def press_ctrl_c(p: BulkProgress) -> None:
        if p.bytes_done and not pressed:
            pressed.append(True)
            _thread.interrupt_main()

    result = bulk_import(svc, read_manifest(tmp_path / "league.csv"), 1, press_ctrl_c)
    assert result.interrupted and not result.ok
    statuses = {m.name: m.status for m in svc.list()}
    assert "IMPORTING" not in statuses.values()
    stopped = [m for m in svc.list() if m.status == "IMPORT_ERROR"]
    assert stopped and all("interrupted" in (m.error_details or [{}])[0]["explanation"] for m in stopped)
    assert all(f"drmodels models retry {m.name}" in (m.error_details or [{}])[0]["fix"] for m in stopped)
    store = tmp_path / "data" / "store" / "models"
    for model in stopped:
        assert not (store / model.id).exists()
