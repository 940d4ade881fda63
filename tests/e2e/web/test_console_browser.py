"""The console in Chromium (Playwright) against a real `drmodels serve`: the flows a racer goes through,
with a screenshot of each page in <pytest basetemp>/console-screenshots."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from support import servers
from support.console import Console, archive_of, charted_model
from support.import_fixtures import write_model

LONG = 90_000
"""ms a model may take to be imported (Playwright's waits)."""


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def import_archive(page: Any, console: Console, name: str, archive: Path, description: str = "") -> None:
    page.goto(console.url + "/import")
    page.get_by_label("Name", exact=False).first.fill(name)
    page.get_by_label("Description", exact=False).fill(description)
    page.locator("#archive").set_input_files(str(archive))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"**/console/models/{name}")


def test_archive_import_turns_ready_live_then_chart_and_car_download(
    console: Console, sign_in: Callable[..., Any], shots: Path, tmp_path: Path
) -> None:
    console.pool.stop_all()  # no worker: the import stays IMPORTING until one starts
    page = sign_in(console.alice)
    shot(page, shots, "01-models-empty")
    name = f"racer-{uuid.uuid4().hex[:6]}"
    archive = archive_of(charted_model(tmp_path / name), tmp_path / f"{name}.tar.gz")
    description = "<script>window.pwned = 1</script> fast lap"

    page.goto(console.url + "/import")
    page.locator("#name").fill(name)
    page.locator("#description").fill(description)
    page.locator("#archive").set_input_files(str(archive))
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".verdict")).to_contain_text("Importable")
    expect(page.locator(".report")).to_contain_text("Import plan")
    shot(page, shots, "02-import-checked")
    page.get_by_role("button", name="Import").click()  # the checked upload, not sent again
    page.wait_for_url(f"**/console/models/{name}")

    page.goto(console.url + "/models")
    status = page.locator(f'[data-live-status="{name}"]')
    expect(status).to_have_text("IMPORTING")
    page.evaluate("window.stayed = 'the same page'")
    shot(page, shots, "03-models-importing")
    console.pool.start(2)
    expect(status).to_have_text("READY", timeout=LONG)
    assert page.evaluate("window.stayed") == "the same page"  # updated in place, never reloaded
    shot(page, shots, "04-models-ready")

    page.get_by_role("link", name=name).click()
    page.wait_for_url(f"**/console/models/{name}")
    points = page.locator("svg#chart-reward polyline.series").first.get_attribute("points") or ""
    assert len(points.split()) >= 2, points
    expect(page.locator(".description")).to_have_text(description)  # shown as text
    assert page.evaluate("window.pwned") is None
    expect(page.locator("table.actionspace tbody tr")).to_have_count(3)
    expect(page.locator(".highlight")).to_contain_text("def reward_function")
    shot(page, shots, "05-model-ready")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Car model").click()
    assert Path(download.value.path()).read_bytes()[:2] == b"\x1f\x8b"

    narrow = sign_in(console.alice, width=375)
    for path, label in ((f"/models/{name}", "06-model-375px"), ("/models", "07-models-375px")):
        narrow.goto(console.url + path)
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 375, path
        shot(narrow, shots, label)


def test_broken_s3_model_reads_its_problem_then_update_until_ready_then_delete(
    console: Console,
    worker: Any,
    sign_in: Callable[..., Any],
    shots: Path,
    tmp_path: Path,
    seaweed: servers.Seaweed,
    s3_admin: Any,
) -> None:
    local = write_model(tmp_path / "broken")
    metadata = (local / "model" / "model_metadata.json").read_bytes()
    (local / "model" / "model_metadata.json").unlink()
    prefix = f"{uuid.uuid4().hex[:8]}/models/broken"
    servers.upload_tree(s3_admin, local, console.bucket, prefix)
    name = f"broken-{uuid.uuid4().hex[:6]}"

    page = sign_in(console.alice)
    page.goto(console.url + "/import")
    page.locator("#name").fill(name)
    page.locator("#s3_path").fill(f"s3://{console.bucket}/{prefix}")
    page.locator("#role_arn").fill(seaweed.roles.read)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"**/console/models/{name}")
    expect(page.locator("[data-live-status]")).to_have_text("IMPORT_ERROR", timeout=LONG)  # reloads itself
    failure = page.locator(".failure")
    expect(failure).to_contain_text("FILE_DOES_NOT_EXIST")
    shown = json.loads(console.server.cli("models", "show", name, "--account", console.alice.key.account_id,
                                          "--json").stdout)  # fmt: skip
    errors = [p for p in shown["Problems"] if p["severity"] == "error"]
    assert errors
    text = failure.inner_text()
    for problem in errors:  # the CLI's words: the spec's code and title, our explanation and fix
        for words in (problem["code"], problem["title"], problem["explanation"], problem["fix"]):
            assert words in text, words
    shot(page, shots, "08-model-import-error")

    s3_admin.put_object(Bucket=console.bucket, Key=f"{prefix}/model/model_metadata.json", Body=metadata)
    page.get_by_role("button", name="Update").click()
    expect(page.locator("[data-live-status]")).to_have_text("READY", timeout=LONG)
    expect(page.locator(".failure")).to_have_count(0)

    page.get_by_role("link", name="Delete").click()
    page.wait_for_url(f"**/console/models/{name}/delete")
    shot(page, shots, "09-delete-confirmation")
    page.get_by_role("button", name=f"Delete {name}").click()
    page.wait_for_url("**/console/models?deleted=*")
    expect(page.locator(".note")).to_contain_text(f"Model {name} deleted.")
    assert page.goto(f"{console.url}/models/{name}").status == 404


def test_another_account_gets_404_for_the_page_and_the_download(
    console: Console, worker: Any, sign_in: Callable[..., Any], shots: Path, tmp_path: Path
) -> None:
    name = f"mine-{uuid.uuid4().hex[:6]}"
    alice = sign_in(console.alice)
    import_archive(alice, console, name, archive_of(write_model(tmp_path / name), tmp_path / "m.tar.gz"))
    expect(alice.locator("[data-live-status]")).to_have_text("READY", timeout=LONG)
    bob = sign_in(console.bob)
    answer = bob.goto(f"{console.url}/models/{name}")
    assert answer.status == 404
    expect(bob.locator(".code")).to_have_text("NotFound")
    shot(bob, shots, "10-another-account-404")
    assert bob.request.get(f"{console.url}/models/{name}/download/car").status == 404
    assert alice.request.get(f"{console.url}/models/{name}/download/car").status == 200


def test_a_form_sent_without_its_csrf_token_is_refused(
    console: Console, sign_in: Callable[..., Any], shots: Path
) -> None:
    page = sign_in(console.alice)
    page.evaluate("document.querySelector('.signout input[name=csrf]').remove()")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Something is wrong")
    expect(page.locator(".code")).to_have_text("CsrfTokenMissing")
    shot(page, shots, "11-csrf-refused")
    assert page.goto(console.url + "/models").status == 200  # still signed in: nothing was done


def test_bulk_import_progress_then_results_by_status_and_code(
    console: Console,
    worker: Any,
    sign_in: Callable[..., Any],
    shots: Path,
    tmp_path: Path,
    seaweed: servers.Seaweed,
) -> None:
    tag = uuid.uuid4().hex[:6]
    archive = archive_of(write_model(tmp_path / "good"), tmp_path / "good.tar.gz")
    manifest = tmp_path / "league.csv"
    manifest.write_text(
        "name,source,role,description\n"
        f"good-{tag},good.tar.gz,,from the upload\n"
        f"missing-{tag},s3://{console.bucket}/nothing-{tag}/,{seaweed.roles.read},no such prefix\n"
        f"local-{tag},/etc/hostname,,a server path\n"
    )
    page = sign_in(console.alice)
    page.goto(console.url + "/bulk")
    shot(page, shots, "12-bulk")
    page.locator("#manifest").set_input_files(str(manifest))
    page.locator("#archives").set_input_files([str(archive)])
    page.get_by_role("button", name="Import all").click()
    page.wait_for_url("**/console/bulk/*")
    expect(page.locator("progress")).to_have_attribute("value", "3", timeout=LONG)
    rows = page.locator("table.models tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("READY")
    expect(rows.nth(1)).to_contain_text("IMPORT_ERROR")
    expect(rows.nth(2)).to_contain_text("REFUSED")
    expect(rows.nth(2)).to_contain_text("not an archive uploaded with the manifest")
    shot(page, shots, "13-bulk-results")
    rows.nth(1).locator("a.code").click()
    page.wait_for_url(f"**/console/models/missing-{tag}")
    expect(page.locator(".failure .code").first).not_to_be_empty()
