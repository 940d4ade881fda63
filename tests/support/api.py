"""A real `drmodels serve` for the API tests and benchmarks, and clients that talk to it as users' tools do.

- `serve(data_dir, env)`: uvicorn in a subprocess on a free port, polled on GET /health, stopped with
  SIGTERM (then SIGKILL after a grace period); its log is kept for the tests to read.
- `deepracer(server, key)`: the boto3 `deepracer` client, the service model found through a botocore
  loader search path (the folder the server packages), as the community's tooling loads it.
- `RestSigner` / `rest(server, key)`: a requests session signing with botocore's SigV4 for `execute-api`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import drmodels.api
from support.servers import REGION, ServerError, free_port

MODELS = str(Path(drmodels.api.__file__).parent / "models")
"""The botocore loader search path entry holding deepracer/2019-04-01/service-2.json."""


@dataclass(frozen=True)
class Key:
    account_id: str
    access_key_id: str
    secret_access_key: str


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`drmodels ARGS --data-dir DATA` with the server's environment."""
        return subprocess.run(
            [sys.executable, "-m", "drmodels", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=120,
        )


def server_env(data_dir: Path, aws: dict[str, str], **settings: str) -> dict[str, str]:
    """The process environment without any DRMODELS_* of ours, plus the AWS variables and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRMODELS_", "AWS_"))}
    env.update(aws)
    env["DRMODELS_DATA_DIR"] = str(data_dir)
    env.update({f"DRMODELS_{k.upper()}": v for k, v in settings.items()})
    return env


def start(data_dir: Path, env: dict[str, str], timeout_s: float = 60.0) -> Server:
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "drmodels", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", data_dir, env, proc, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"drmodels serve exited with {proc.returncode}:\n{server.log()[-4000:]}")
        with (
            suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(server.url + "/health", timeout=1),
        ):
            return server
        time.sleep(0.1)
    stop(server)
    raise ServerError(f"drmodels serve did not answer within {timeout_s:.0f} s:\n{server.log()[-4000:]}")


def stop(server: Server, grace_s: float = 15.0) -> int:
    """SIGTERM, as a service manager stops it; the exit code (SIGKILL after `grace_s`)."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(10)
    return server.proc.returncode


@contextmanager
def serve(data_dir: Path, env: dict[str, str]) -> Iterator[Server]:
    server = start(data_dir, env)
    try:
        yield server
    finally:
        stop(server)


def deepracer(server: Server | str, key: Key | None, **config: Any) -> Any:
    """The boto3 deepracer client for the server, signing with `key` (unsigned when None)."""
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.append(MODELS)
    url = server if isinstance(server, str) else server.url
    extra: dict[str, Any] = {}
    if key is None:
        from botocore import UNSIGNED

        extra["config"] = Config(signature_version=UNSIGNED, **config)
    else:
        extra["config"] = Config(**config) if config else None
        extra.update(aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)
    return boto3.Session(botocore_session=session).client(
        "deepracer", region_name=REGION, endpoint_url=url, **extra
    )


class RestSigner(requests.auth.AuthBase):
    """SigV4 for `execute-api` with botocore's signer, as API Gateway clients sign."""

    def __init__(self, key: Key, region: str = REGION, service: str = "execute-api") -> None:
        self.credentials = Credentials(key.access_key_id, key.secret_access_key)
        self.region = region
        self.service = service

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        request = AWSRequest(
            method=prepared.method,
            url=prepared.url,
            data=body.encode() if isinstance(body, str) else body,
            headers={k: v for k, v in prepared.headers.items() if k.lower() in ("content-type", "host")},
        )
        SigV4Auth(self.credentials, self.service, self.region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date"):
            prepared.headers[name] = request.headers[name]
        return prepared


def rest(key: Key | None) -> requests.Session:
    session = requests.Session()
    if key is not None:
        session.auth = RestSigner(key)
    return session


def new_account(server: Server, name: str) -> Key:
    """An account made with the CLI, as an operator makes one."""
    import json

    done = server.cli("account", "create", "--name", name, "--json")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    return Key(made["account_id"], made["access_key_id"], made["secret_access_key"])


def account_in(server: Server, name: str) -> Key:
    """An account made in this process, straight in the server's registry (faster than the CLI)."""
    from drmodels.bootstrap import accounts, build
    from drmodels.config import Settings

    settings = Settings(data_dir=server.data_dir)
    deps = build(settings)
    try:
        _, key = accounts(settings, deps).create(name)
    finally:
        deps.registry.close()
    return Key(key.account_id, key.access_key_id, key.secret_access_key)


def tar_names(data: bytes) -> list[str]:
    """The member names of a .tar.gz (or a plain .tar) downloaded whole."""
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


def drop_bucket(s3_admin: Any, bucket: str) -> None:
    """Empty the bucket and delete it (its volumes go back to SeaweedFS)."""
    for page in s3_admin.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", ())]
        if keys:
            s3_admin.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3_admin.delete_bucket(Bucket=bucket)
