"""The console tests' helpers: accounts with passwords, the running console (a real `drmodels serve`, its
worker pool on a Redis broker), model archives, a signed-in `requests` session that fills forms as a
browser does (its CSRF token read from the page), imports from S3 through the console and the wait for
their end, and usage written into the registry for the bill."""

from __future__ import annotations

import json
import re
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from support import api, servers, workers

PASSWORD = "a long console password"
MAX_UPLOAD = 4 * 1024 * 1024
"""DRMODELS_MODEL_MAX_BYTES of the console under test: the largest upload it takes."""
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    name: str
    key: api.Key


@dataclass
class Console:
    server: api.Server
    pool: workers.Workers
    alice: Account
    bob: Account
    bucket: str

    @property
    def url(self) -> str:
        return self.server.url + "/console"


@contextmanager
def running_console(
    seaweed: servers.Seaweed, root: Path, bucket: str, who: tuple[str, str] = ("alice", "bob"),
    env: dict[str, str] | None = None, **settings: str,
) -> Iterator[Console]:  # fmt: skip
    """`drmodels serve` on SeaweedFS with the importer's keys (deep checks off, uploads up to MAX_UPLOAD,
    `settings` as DRMODELS_*, `env` as they are), its jobs through Redis to a pool started on demand, and
    two accounts with passwords named `who` (and a suffix)."""
    data = root / "data"
    with workers.broker("redis") as broker:
        server_env = api.server_env(
            data,
            seaweed.env(seaweed.importer),
            import_deep="false",
            model_max_bytes=str(MAX_UPLOAD),
            **settings,
        )
        server_env.update({**(env or {}), **broker.env()})
        pool = workers.Workers(broker, server_env, root)
        try:
            with api.serve(data, server_env) as server:
                suffix = uuid.uuid4().hex[:6]
                first, second = (make_account(server, f"{name}-{suffix}") for name in who)
                yield Console(server, pool, first, second, bucket)
        finally:
            pool.stop_all()


def make_account(server: api.Server, name: str) -> Account:
    """An account with a console password, made with the CLI as an operator makes one."""
    done = server.cli("account", "create", "--name", name, "--password", "-", "--json", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    return Account(name, api.Key(made["account_id"], made["access_key_id"], made["secret_access_key"]))


def archive_of(folder: Path, target: Path) -> Path:
    """A .tar.gz of a model folder (its top folder inside, as people pack one)."""
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return target


def charted_model(root: Path) -> Path:
    """A small model folder whose TrainingMetrics.json has real training and evaluation records."""
    from drmodels.sample.control_files import training_metrics
    from support.import_fixtures import write_model

    folder = write_model(root)
    (folder / "metrics" / "TrainingMetrics.json").write_text(json.dumps(training_metrics(7, 6)))
    return folder


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def http_session(console: Console, account: Account) -> tuple[requests.Session, str]:
    """A signed-in requests session and its CSRF token (as a browser holds them)."""
    session = requests.Session()
    page = session.get(console.url + "/login")
    answer = session.post(
        console.url + "/login",
        data={"csrf": csrf_of(page.text), "account": account.name, "password": PASSWORD},
        allow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return session, csrf_of(session.get(console.url + "/models").text)


def import_s3(
    session: requests.Session, csrf: str, console: Console, name: str, location: str, role_arn: str
) -> requests.Response:
    """The import form sent with an S3 location and a role (multipart, as the browser sends it)."""
    return session.post(
        console.url + "/import",
        data={"csrf": csrf, "name": name, "action": "import", "s3_path": location, "role_arn": role_arn},
        files={"archive": ("", b"", "application/octet-stream")}, allow_redirects=False,
    )  # fmt: skip


def settled(session: requests.Session, console: Console, name: str, timeout_s: float = 90) -> dict[str, Any]:
    """The model's statuses entry once its import has ended (or at the timeout; {} if it is not listed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = session.get(console.url + "/statuses", params={"name": name}).json()["models"]
        if (found and found[0]["status"] != "IMPORTING") or time.monotonic() > deadline:
            return dict(found[0]) if found else {}
        time.sleep(0.2)


def seed_june_2021(console: Console, account_id: str) -> None:
    """Usage of June 2021 written into the server's registry as its jobs record usage: 20 GiB stored from
    May to June 16, 3 GiB migrated on June 20 (free storage), 1 h 30 min of migration work."""
    from drmodels.registry.db import Registry, default_url
    from drmodels.registry.tables import UsageRecord
    from drmodels.rules.pricing import GIB

    registry = Registry(default_url(console.server.data_dir), migrate=False)
    try:
        with registry.session() as s:
            s.add_all([
                UsageRecord(account_id=account_id, model_id="gone", kind="storage", size_bytes=20 * GIB,
                            started_at=datetime(2021, 5, 3), ended_at=datetime(2021, 6, 16)),
                UsageRecord(account_id=account_id, model_id="moved", kind="storage", size_bytes=3 * GIB,
                            started_at=datetime(2021, 6, 20), migrated_at=datetime(2021, 6, 20)),
                UsageRecord(account_id=account_id, model_id="moved", kind="migration",
                            started_at=datetime(2021, 6, 20), ended_at=datetime(2021, 6, 20, 1, 30)),
            ])  # fmt: skip
    finally:
        registry.close()
