"""Fixtures for the import tests: model folders, a registry (SQLite or a throwaway PostgreSQL database)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from drmodels.registry.db import Registry

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

METADATA = {
    "action_space": [
        {"steering_angle": -30.0, "speed": 1.0, "index": 0},
        {"steering_angle": 0.0, "speed": 2.0, "index": 1},
        {"steering_angle": 30.0, "speed": 1.0, "index": 2},
    ],
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5",
}
HYPERPARAMETERS = {"batch_size": 64, "lr": 0.0003, "discount_factor": 0.99, "num_epochs": 10}
REWARD = "def reward_function(params):\n    return 1.0\n"


def checkpoint_name(i: int) -> str:
    return f"{i}_Step-{i * 100 + 62}.ckpt"


def write_model(
    root: Path,
    checkpoints: int = 3,
    *,
    with_graph: bool = True,
    car_archive: bytes | None = None,
    data_size: int = 4096,
    extras: bool = True,
) -> Path:
    """A DeepRacer model folder: the latest `checkpoints` checkpoints; best = second to last."""
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    (root / "ip").mkdir(exist_ok=True)
    (root / "reward_function.py").write_text(REWARD)
    (root / "ip" / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))
    (model / "model_metadata.json").write_text(json.dumps(METADATA))
    for i in range(checkpoints):
        name = checkpoint_name(i)
        (model / f"{name}.index").write_bytes(f"index {i}".encode() * 8)
        (model / f"{name}.meta").write_bytes(f"meta {i}".encode() * 16)
        (model / f"{name}.data-00000-of-00001").write_bytes(bytes([i % 256]) * data_size)
        if with_graph:
            (model / f"model_{i}.pb").write_bytes(f"graph {i} ".encode() * 200)
    last = checkpoint_name(checkpoints - 1)
    best = checkpoint_name(max(0, checkpoints - 2))
    pointer = {
        "best_checkpoint": {"name": best, "time": 1.0, "avg_eval_metric": 2.0},
        "last_checkpoint": {"name": last, "time": 2.0, "avg_eval_metric": 1.0},
    }
    (model / "deepracer_checkpoints.json").write_text(json.dumps(pointer))
    (model / ".coach_checkpoint").write_text(last + "\n")
    if car_archive is not None:
        (model / "model.tar.gz").write_bytes(car_archive)
    if extras:
        (root / "training_params.yaml").write_text("WORLD_NAME: reInvent2019_track\nRACE_TYPE: TIME_TRIAL\n")
        (root / "metrics").mkdir(exist_ok=True)
        (root / "metrics" / "TrainingMetrics.json").write_text('{"metrics": []}')
    return root


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh registry database: a SQLite file, or a throwaway PostgreSQL database (server required)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
        return
    with pg_database() as url:
        yield url


class _PgDatabase:
    def __init__(self) -> None:
        self.name = f"drmodels_test_{uuid.uuid4().hex[:12]}"
        self.admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    def __exit__(self, *_: object) -> None:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def pg_database() -> _PgDatabase:
    return _PgDatabase()


@pytest.fixture
def registry(registry_url: str) -> Iterator[Registry]:
    reg = Registry(registry_url)
    yield reg
    reg.close()


# ---------------------------------------------------------------- the fault proxy
# A real HTTP proxy process in front of SeaweedFS that injects S3 faults on request: answer 503 SlowDown,
# hold a request until released, or send half of a response body and then hold. Run as
# `python import_fixtures.py proxy PORT UPSTREAM`; controlled over HTTP under /__proxy__/.


def _serve_proxy(port: int, upstream: str) -> None:
    import http.client
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    target = urllib.parse.urlsplit(upstream)
    lock = threading.Lock()
    rules: list[dict[str, object]] = []
    events: dict[str, threading.Event] = {}
    counts: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self, body: bytes) -> None:
            path = self.path.removeprefix("/__proxy__/")
            with lock:
                if path == "rules" and self.command == "POST":
                    rule = json.loads(body)
                    rules.append(rule)
                    events[str(rule["id"])] = threading.Event()
                    counts[str(rule["id"])] = 0
                elif path == "release":
                    for ev in events.values():
                        ev.set()
                elif path == "reset":
                    for ev in events.values():
                        ev.set()
                    rules.clear()
                answer = json.dumps({"hits": counts, "rules": [r["id"] for r in rules]}).encode()
            self._reply(200, answer)

        def _match(self) -> dict[str, object] | None:
            with lock:
                for rule in rules:
                    if rule.get("method") and rule["method"] != self.command:
                        continue
                    if str(rule.get("key_contains", "")) not in self.path:
                        continue
                    header = rule.get("header")
                    if header and str(header) not in {k.lower() for k in self.headers}:
                        continue
                    if int(rule.get("times", 1)) <= 0:
                        continue
                    rule["times"] = int(rule.get("times", 1)) - 1
                    counts[str(rule["id"])] += 1
                    return dict(rule)
            return None

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/__proxy__/"):
                self._control(body)
                return
            rule = self._match()
            action = rule["action"] if rule else None
            if rule and action == "error":
                xml = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                    b"<Message>Please reduce your request rate (injected).</Message></Error>"
                )
                self._reply(int(rule.get("status", 503)), xml, "application/xml")  # type: ignore[call-overload]
                return
            if rule and action == "hold":
                events[str(rule["id"])].wait()
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if rule and action == "hold_body":
                half = len(data) // 2
                self.wfile.write(data[:half])
                self.wfile.flush()
                events[str(rule["id"])].wait()
                self.wfile.write(data[half:])
            else:
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


class FaultProxy:
    """The running proxy: `endpoint` for S3 clients, and the controls."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._n = 0

    def _post(self, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        import urllib.request

        url = f"{self.endpoint}/__proxy__/{path}"
        req = urllib.request.Request(url, data=json.dumps(body or {}).encode(),
                                     method="POST")  # fmt: skip
        with urllib.request.urlopen(req, timeout=10) as resp:
            result: dict[str, object] = json.loads(resp.read())
            return result

    def add(self, action: str, key_contains: str, *, method: str | None = None, times: int = 1,
            header: str | None = None, status: int = 503) -> str:  # fmt: skip
        """A rule for the next `times` matching requests; returns its id."""
        self._n += 1
        rule_id = f"r{self._n}"
        self._post("rules", {"id": rule_id, "action": action, "key_contains": key_contains, "method": method,
                             "times": times, "header": header, "status": status})  # fmt: skip
        return rule_id

    def hits(self, rule_id: str) -> int:
        hits = self._post("status")["hits"]
        assert isinstance(hits, dict)
        return int(hits.get(rule_id, 0))

    def wait_hit(self, rule_id: str, deadline_s: float = 60.0) -> None:
        """Block until the rule has caught a request (a readiness wait, not a timing assertion)."""
        import time

        end = time.monotonic() + deadline_s
        while self.hits(rule_id) == 0:
            if time.monotonic() > end:
                raise AssertionError(f"no request reached proxy rule {rule_id} within {deadline_s} s")
            time.sleep(0.05)

    def release(self) -> None:
        self._post("release")

    def reset(self) -> None:
        self._post("reset")


@pytest.fixture
def fault_proxy(seaweed: object) -> Iterator[FaultProxy]:
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    upstream = str(seaweed.endpoint)  # type: ignore[attr-defined]
    proc = subprocess.Popen([sys.executable, __file__, "proxy", str(port), upstream])
    endpoint = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/__proxy__/status", data=b"{}", timeout=2).close()
            break
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > end:
                proc.kill()
                raise RuntimeError("the fault proxy did not start") from None
            time.sleep(0.05)
    proxy = FaultProxy(endpoint)
    try:
        yield proxy
    finally:
        proxy.reset()
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    import sys

    if sys.argv[1] == "proxy":
        _serve_proxy(int(sys.argv[2]), sys.argv[3])
