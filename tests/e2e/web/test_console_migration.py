"""The console's migration, bill and permission repair against a real `drmodels serve` on a SeaweedFS of
its own (ListBuckets would otherwise show other tests' `*deepracer*` buckets), its jobs run by `drmodels
worker` processes through Redis, IAM on moto_server: a migration planned, started, watched to its end in
Chromium without a reload, its models READY, the bill's storage chart; a source cleanup's dry run; an
ACCESS_DENIED_TO_BUCKET import repaired by "Reset permissions and retry"."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from drmodels.rules.permissions import BUCKET_POLICY_SID
from support import api, servers
from support.console import Console, http_session, import_s3, running_console, seed_june_2021, settled
from support.migration_account import MIGRATION_SESSION, broken, deny_policy, good_model, under

pytestmark = pytest.mark.servers

LONG = 120_000
"""ms a migration may take (Playwright's waits)."""


@pytest.fixture(scope="module")
def sw() -> Iterator[servers.Seaweed]:
    with servers.seaweed() as server:
        yield server


@pytest.fixture(scope="module")
def console(
    sw: servers.Seaweed, moto_iam: servers.Moto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """This module's console (it stands in for conftest's): the repairs' IAM on moto, the service
    principal the repaired bucket policy names being the importer's identity, as in the doctor's tests;
    an account's `*deepracer*` bucket with two good models and one without its reward function."""
    bucket = f"web-deepracer-{uuid.uuid4().hex[:8]}"
    admin = servers.s3_client(sw)
    for prefix, files in {"good-0/": good_model(), "good-1/": good_model(extras=False)}.items():
        servers.put_objects(admin, bucket, "", under(prefix, files))
    servers.put_objects(admin, bucket, "", under("no-reward/", broken("FILE_DOES_NOT_EXIST")))
    with running_console(
        sw, tmp_path_factory.mktemp("console-migration"), bucket, ("mover", "other"),
        env={"AWS_ENDPOINT_URL_IAM": moto_iam.endpoint}, service_principal=servers.IMPORTER_ARN,
    ) as running:  # fmt: skip
        yield running


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_a_migration_started_in_the_browser_ends_live_with_its_models_ready_then_the_bill_chart(
    console: Console, sign_in: Callable[..., Any], shots: Path, sw: servers.Seaweed
) -> None:
    console.pool.stop_all()  # no worker: the migration stays QUEUED until one starts
    page = sign_in(console.alice)
    page.get_by_role("link", name="Migration").click()
    page.wait_for_url("**/console/migrations")
    expect(page.locator("#policy-migration")).to_contain_text("*deepracer*", use_inner_text=False)
    page.locator("#role_arn").fill(sw.roles.migration)
    page.get_by_role("button", name="Plan").click()
    plan = page.locator(".report")
    expect(plan).to_contain_text("3 to migrate")
    expect(plan).to_contain_text(f"Searched: {console.bucket}")
    shot(page, shots, "20-migration-plan")
    assert "No migration yet." in page.content()  # the plan registered nothing

    page.get_by_role("button", name="Start migration").click()
    page.wait_for_url(re.compile(r".*/console/migrations/\d+$"))
    migration = "/migrations/" + page.url.rsplit("/", 1)[1]
    status = page.locator("#migration-status")
    expect(status).to_have_text("QUEUED")
    page.evaluate("window.stayed = 'the same page'")
    shot(page, shots, "21-migration-queued")
    console.pool.start(2)
    expect(status).to_have_text("SUCCEEDED", timeout=LONG)
    assert page.evaluate("window.stayed") == "the same page"  # followed in place, never reloaded
    by_status = page.locator("#migration-models")
    expect(by_status).to_contain_text("READY")
    assert re.search(r"READY\s*2", by_status.inner_text()) and re.search(
        r"MIGRATE_ERROR\s*1", by_status.inner_text()
    )
    errors = page.locator("#migration-errors")
    expect(errors).to_contain_text("FILE_DOES_NOT_EXIST")
    expect(page.locator("#migration-found")).to_have_text("3")
    shot(page, shots, "22-migration-succeeded")

    page.get_by_role("link", name="Your models").click()
    page.wait_for_url("**/console/models")
    ready = page.locator('tbody [data-live-status]:text-is("READY")')
    expect(ready).to_have_count(2)
    shot(page, shots, "23-models-migrated")

    page.go_back()
    page.wait_for_url(re.compile(r".*/console/migrations/\d+$"))
    errors.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/console/models/.+"))
    expect(page.locator(".failure")).to_contain_text("FILE_DOES_NOT_EXIST")
    expect(page.get_by_role("button", name="Update")).to_be_visible()
    expect(page.get_by_role("button", name="Reset permissions and retry")).to_have_count(0)

    page.go_back()
    page.wait_for_url(re.compile(r".*/console/migrations/\d+$"))
    page.locator("#cutoff").fill("2020-08-10")
    page.get_by_role("button", name="Remove sources").click()  # a dry run: "Delete" left unticked
    page.wait_for_url(re.compile(r".*/console/cleanups/\d+$"))
    expect(page.locator("#cleanup-status")).to_have_text("SUCCEEDED", timeout=LONG)
    expect(page.locator(".verdict")).to_contain_text("Would remove (dry run)")
    expect(page.locator("#cleanup-report")).to_contain_text("MIGRATE_ERROR: its source is kept")
    shot(page, shots, "24-cleanup-dry-run")

    page.get_by_role("link", name="Bill").click()
    page.wait_for_url("**/console/bill")
    today = datetime.now(UTC)
    expect(page.locator("h1")).to_have_text(f"Bill for {today:%Y-%m}")
    expect(page.locator(".note")).to_contain_text("The month is not over")
    points = page.locator("svg#chart-storage polyline.series").first.get_attribute("points") or ""
    assert len(points.split()) == today.day, points  # one point per day of the month so far
    service = page.locator('tr[data-category="service use"] td[data-quantity]')
    assert float(service.get_attribute("data-quantity") or 0) > 0  # the migration's work, billed
    shot(page, shots, "25-bill")
    done = console.server.cli(
        "bill", "--account", console.alice.key.account_id, "--month", f"{today:%Y-%m}", "--json"
    )
    assert [line["category"] for line in json.loads(done.stdout)["lines"]] == ["service use", "model storage"]

    seed_june_2021(console, console.alice.key.account_id)  # a month with gigabytes stored, some free
    page.locator("#month").fill("2021-06")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/console/bill?month=2021-06")
    expect(page.locator("h1")).to_have_text("Bill for 2021-06")
    expect(page.locator(".note")).to_have_count(0)  # a month that is over
    stored = page.locator('svg#chart-storage polyline[data-series="stored"]').first.get_attribute("points")
    assert stored is not None and len(stored.split()) == 30
    expect(page.locator('svg#chart-storage g[data-series="free"]')).to_have_count(1)
    expect(page.locator("svg#chart-storage desc")).to_contain_text(
        "peak 20 GB on day 1", use_inner_text=False
    )
    shot(page, shots, "26-bill-2021-06")

    narrow = sign_in(console.alice, width=375)
    for path, label in ((migration, "27-migration-375px"), ("/bill?month=2021-06", "28-bill-375px")):
        narrow.goto(console.url + path)
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 375, path
        shot(narrow, shots, label)


def test_reset_permissions_and_retry_restores_the_bucket_policy_then_the_model_is_ready(
    console: Console, worker: Any, sw: servers.Seaweed
) -> None:
    admin = servers.s3_client(sw)
    bucket = f"reset-deepracer-{uuid.uuid4().hex[:8]}"
    servers.put_objects(admin, bucket, "", under("models/m1/", good_model(extras=False)))
    denied = json.loads(deny_policy(MIGRATION_SESSION, ["s3:GetObject", "s3:ListBucket"],
                                    [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))  # fmt: skip
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(denied))
    session, csrf = http_session(console, console.bob)
    name = f"denied-{uuid.uuid4().hex[:6]}"
    try:
        started = import_s3(session, csrf, console, name, f"s3://{bucket}/models/m1/", sw.roles.migration)
        assert started.status_code == 303, started.text
        failed = settled(session, console, name)
        assert (failed["status"], failed["error_code"]) == ("IMPORT_ERROR", "ACCESS_DENIED_TO_BUCKET")
        assert "Reset permissions and retry" in session.get(f"{console.url}/models/{name}").text

        forged = session.post(f"{console.url}/models/{name}/reset", data={"csrf": "forged"})
        assert forged.status_code == 403 and "CsrfTokenMissing" in forged.text
        assert json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"]) == denied  # nothing was done
        repaired = session.post(f"{console.url}/models/{name}/reset", data={"csrf": csrf})
        assert repaired.status_code == 200, repaired.text
        assert f"Repaired:</strong> restored the bucket policy of {bucket}" in repaired.text
        assert settled(session, console, name)["status"] == "READY"
        restored = json.loads(admin.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        assert [st.get("Sid") for st in restored] == [BUCKET_POLICY_SID]
        again = session.post(f"{console.url}/models/{name}/reset", data={"csrf": csrf})
        assert again.status_code == 409 and "has no error" in again.text  # READY now: a Conflict page
    finally:
        admin.delete_bucket_policy(Bucket=bucket)
        api.drop_bucket(admin, bucket)
