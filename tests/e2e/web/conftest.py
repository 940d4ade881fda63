"""Fixtures of the console tests: a real `drmodels serve` whose jobs go through Redis to `drmodels worker`
processes the tests start when they want imports to run (so a test can see a model IMPORTING, then watch
it turn READY), two accounts with passwords, and Chromium driven by Playwright.

console      module   Console: the server (S3 = SeaweedFS with the importer's keys, deep checks off, uploads
                      up to 4 MiB), its broker, its worker pool, alice and bob (Account), a bucket
worker       function the console's worker pool with one worker running (started when none is)
chromium     session  the path of Debian's chromium, installed with apt-get when it is missing
browser      module   a Playwright Browser on it (headless)
shots        session  the folder screenshots are written to: <pytest basetemp>/console-screenshots
sign_in      function callable(Account, width=1280) -> a Playwright Page signed in as that account
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import api, servers, workers
from support.console import PASSWORD, Account, Console, running_console

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def console(
    seaweed: servers.Seaweed, s3_admin: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    bucket = f"drm-web-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=bucket)
    try:
        with running_console(seaweed, tmp_path_factory.mktemp("console"), bucket) as running:
            yield running
    finally:
        api.drop_bucket(s3_admin, bucket)


@pytest.fixture
def worker(console: Console) -> workers.Workers:
    if not any(w.proc.poll() is None for w in console.pool.started):
        console.pool.start(2)
    return console.pool


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed here when missing (Playwright's own browser download cannot work)."""
    if not Path(CHROMIUM).exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
            assert done.returncode == 0, (
                f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing after apt-get install chromium"
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "console-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def sign_in(console: Console, browser: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def open_as(account: Account, width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(console.url + "/login")
        page.get_by_label("Account name or id").fill(account.name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/models")
        return page

    yield open_as
    for context in contexts:
        context.close()
