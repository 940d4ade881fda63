"""`drmodels serve` as an operator runs it: SIGTERM mid-import leaves the job for the next start, which
resumes it; a model being imported cannot be deleted; accounts from the CLI; bad settings in one line."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from support import api, servers
from support.import_fixtures import FaultProxy, checkpoint_name, fault_proxy  # noqa: F401

pytestmark = pytest.mark.servers

RL = "REINFORCEMENT_LEARNING"


def test_sigterm_mid_import_then_the_next_start_resumes_it(
    seaweed: servers.Seaweed,
    fault_proxy: FaultProxy,  # noqa: F811
    s3_model: Callable[..., str],
    wait_ready: Callable[[Any, str], dict[str, Any]],
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = api.server_env(
        data, {**seaweed.env(seaweed.importer), "AWS_ENDPOINT_URL": fault_proxy.endpoint}, import_deep="false"
    )
    location = s3_model(checkpoints=3)
    held = fault_proxy.add("hold", f"model/{checkpoint_name(2)}.data-00000-of-00001", method="GET")
    first = api.start(data, env)
    try:
        key = api.account_in(first, "operator")
        dr = api.deepracer(first, key)
        arn = dr.import_model(
            Type=RL, Name="interrupted", ModelArtifactsS3Path=location, RoleArn=seaweed.roles.read
        )["ModelArn"]
        fault_proxy.wait_hit(held)  # the import is copying now, held by the proxy
        assert dr.get_model(ModelArn=arn)["Model"]["Status"] == "IMPORTING"
        with pytest.raises(ClientError) as busy:
            dr.delete_model(ModelArn=arn)
        assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
        assert "being imported" in busy.value.response["Error"]["Message"]
    finally:
        code = api.stop(first, grace_s=30)
    assert code == -signal.SIGTERM  # stopped as it was told (uvicorn re-raises the signal once done)
    assert "Application shutdown complete" in first.log()
    with pytest.raises(urllib.error.URLError):  # it takes no more requests
        urllib.request.urlopen(first.url + "/health", timeout=2)
    fault_proxy.reset()
    with sqlite3.connect(data / "registry.sqlite3") as db:
        assert db.execute("SELECT status FROM import_jobs").fetchall() == [("RUNNING",)]

    second = api.start(data, env)
    try:
        model = wait_ready(api.deepracer(second, key), arn)
        assert model["Status"] == "READY", model
        assert "resumed 1 unfinished job(s): import " in second.log()
    finally:
        api.stop(second)


def test_account_commands(api_server: api.Server) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    made = api_server.cli(
        "account", "create", "--name", name, "--password", "-", "--json", stdin="correct horse\n"
    )
    assert made.returncode == 0, made.stderr
    account = json.loads(made.stdout)
    assert list(account) == ["account_id", "name", "access_key_id", "secret_access_key"]
    assert len(account["account_id"]) == 12 and account["account_id"].isdigit()
    again = api_server.cli("account", "create", "--name", name)
    assert again.returncode == 2 and "already exists" in again.stderr
    shown = api_server.cli("account", "list", "--json").stdout
    mine = next(a for a in json.loads(shown) if a["account_id"] == account["account_id"])
    assert mine["access_key_ids"] == [account["access_key_id"]] and mine["has_password"] is True
    assert account["secret_access_key"] not in shown and "secret_access_key" not in shown
    made = api_server.cli("account", "keys", "create")  # the embedded default account's
    assert made.returncode == 0 and "000000000000" in made.stdout and "shown this once" in made.stderr
    missing = api_server.cli("account", "keys", "delete", "AKDRNOSUCHKEY0000000")
    assert missing.returncode == 2 and "no access key" in missing.stderr
    weak = api_server.cli("account", "create", "--name", f"w{name}", "--password", "short")
    assert weak.returncode == 2 and "8 to 1024 characters" in weak.stderr


def test_the_default_account_serves_the_cli_models(api_server: api.Server, tmp_path: Path) -> None:
    """Models imported with the CLI (account 000000000000) are served to a key of that account."""
    from support.import_fixtures import write_model

    src = write_model(tmp_path / "src", checkpoints=2)
    done = api_server.cli("import", str(src), "--name", f"cli-{uuid.uuid4().hex[:6]}", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    made = json.loads(api_server.cli("account", "keys", "create", "--json").stdout)
    key = api.Key(made["account_id"], made["access_key_id"], made["secret_access_key"])
    names = [m["ModelName"] for m in api.deepracer(api_server, key).list_models(ModelType=RL)["Models"]]
    assert any(n.startswith("cli-") for n in names)


def test_bad_settings_stop_serve_in_one_line(tmp_path: Path) -> None:
    env = api.server_env(tmp_path / "data", {}, region="mars", secret_key="short")
    done = subprocess.run(
        [sys.executable, "-m", "drmodels", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "DRMODELS_REGION=mars" in line and "DRMODELS_SECRET_KEY:" in line
    assert "short" not in line  # a secret's value is never shown


def test_over_the_concurrency_limit_requests_are_shed(tmp_path: Path) -> None:
    """A request still sending its body holds the one slot: the next gets TooManyRequestsException (429),
    which boto3 retries with backoff."""
    import socket
    from urllib.parse import urlsplit

    data = tmp_path / "data"
    server = api.start(data, api.server_env(data, {}, api_max_concurrent_requests="1"))
    try:
        url = urlsplit(server.url)
        slow = socket.create_connection((url.hostname, url.port))
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # 99 bytes still to come
        deadline = time.monotonic() + 30  # until the server has taken the slow one in (no timing asserted)
        while True:
            shed = requests.post(server.url + "/", data=b"{}", timeout=30)
            if shed.status_code == 429 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert shed.status_code == 429 and shed.json()["__type"] == "TooManyRequestsException"
        assert shed.headers["Retry-After"] == "1"
        slow.close()
    finally:
        api.stop(server)
