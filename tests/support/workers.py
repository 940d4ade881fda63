"""Brokers and `drmodels worker` processes for the tests: real Redis and RabbitMQ on this machine, each
test isolated on a key prefix (Redis) or a virtual host of its own (RabbitMQ), removed afterwards.

Workers are `drmodels worker` subprocesses in their own session (SIGKILL reaches the whole worker),
ready once they answer a Celery ping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drmodels.runner.celery import Broker, celery_app

DRMODELS = str(Path(sys.executable).parent / "drmodels")
REDIS_URL = "redis://127.0.0.1:6379/0"
RABBIT_HOST = "guest:guest@127.0.0.1:5672"


@dataclass(frozen=True)
class TestBroker:
    broker: Broker

    def env(self) -> dict[str, str]:
        return {
            "DRMODELS_BROKER_URL": self.broker.url,
            "DRMODELS_BROKER_PREFIX": self.broker.prefix,
            "DRMODELS_QUEUE": self.broker.queue,
        }


def _rabbitmqctl(*args: str) -> None:
    run = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"rabbitmqctl {' '.join(args)}: {run.stdout}{run.stderr}"


@contextmanager
def broker(kind: str) -> Iterator[TestBroker]:
    """A throwaway broker namespace: a Redis key prefix, or a RabbitMQ virtual host."""
    tag = f"drmtest-{uuid.uuid4().hex[:10]}"
    if kind == "redis":
        import redis

        yield TestBroker(Broker(REDIS_URL, queue=tag, prefix=f"{tag}:"))
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{tag}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        return
    _rabbitmqctl("add_vhost", tag)
    try:
        _rabbitmqctl("set_permissions", "-p", tag, "guest", ".*", ".*", ".*")
        yield TestBroker(Broker(f"amqp://{RABBIT_HOST}/{tag}", queue=tag))
    finally:
        _rabbitmqctl("delete_vhost", tag)


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing cleaned up."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (the drain), SIGKILL if it has not exited after 20 s."""
        if self.proc.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Workers:
    broker: TestBroker
    env: dict[str, str]
    root: Path
    started: list[Worker] = field(default_factory=list)

    def start(self, concurrency: int = 4, *extra: str) -> Worker:
        name = f"w{len(self.started)}-{uuid.uuid4().hex[:6]}@test"
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [DRMODELS, "worker", "--concurrency", str(concurrency), "--name", name, *extra],
                env={**self.env, **self.broker.env()}, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.root, start_new_session=True,
            )  # fmt: skip
        worker = Worker(name, proc, log)
        self.started.append(worker)
        app = celery_app(self.broker.broker)
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.3):
            assert proc.poll() is None, f"worker exited {proc.returncode}:\n{worker.tail()}"
            assert time.monotonic() < deadline, f"worker {name} did not answer a ping:\n{worker.tail()}"
        app.close()
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120, poll_s: float = 0.1) -> Any:
    """What `check()` returns once it is truthy; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {what}")
