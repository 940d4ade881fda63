"""Jobs on Celery: the app drmodels' workers consume, and the runner that enqueues jobs by task name.

Each job kind has a task `drmodels.KIND` on the queue `QUEUE.KIND`; a message carries only the job id.
Nothing here knows what a job does: `drmodels worker` (cli/worker.py) registers the task table of
service/tasks.py on this app. Delivery is at least once: messages are acknowledged after the job ran
(late ack), a worker that dies leaves its message to be delivered again, and the job's lease in the
registry keeps a second delivery from running a job that is already running.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from drmodels.errors import BrokerUnavailable

TASK_PREFIX = "drmodels."


@dataclass(frozen=True)
class Broker:
    url: str
    queue: str = "drmodels"
    prefix: str = ""
    """Prefix of every Redis key (ignored by RabbitMQ, which isolates by virtual host)."""
    visibility_timeout: int = 4 * 3600

    @property
    def redis(self) -> bool:
        return self.url.lower().startswith(("redis", "rediss"))

    def queue_of(self, kind: str) -> str:
        return f"{self.queue}.{kind}"


def task_name(kind: str) -> str:
    return TASK_PREFIX + kind


def celery_app(broker: Broker) -> Celery:
    """The Celery app of one deployment: late acknowledgement, one message reserved per free thread."""
    options: dict[str, Any] = {"visibility_timeout": broker.visibility_timeout}
    if broker.redis:
        if broker.prefix:
            options["global_keyprefix"] = broker.prefix
    else:
        options["confirm_publish"] = True  # a publish returns once RabbitMQ has taken the message
    app = Celery("drmodels", broker=broker.url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_enable_remote_control=True,
    )
    return app


class CeleryRunner:
    """Enqueues (kind, job id) as the task `drmodels.KIND` on queue `QUEUE.KIND`; runs nothing itself."""

    def __init__(self, broker: Broker, kinds: Iterable[str]) -> None:
        self.broker = broker
        self.kinds = sorted(kinds)
        self.app = celery_app(broker)

    def submit(self, kind: str, job_id: int) -> None:
        try:
            self.app.send_task(task_name(kind), args=[job_id], queue=self.broker.queue_of(kind))
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(
                f"the job broker ({_safe(self.broker.url)}) could not be reached: {exc}; job {job_id} "
                "stays QUEUED in the registry and a worker's sweep enqueues it once the broker answers"
            ) from exc

    def depth(self) -> dict[str, int]:
        """Messages waiting in each kind's queue (not counting those workers have already taken)."""
        waiting: dict[str, int] = {}
        try:
            with self.app.connection_for_read() as conn:
                for kind in self.kinds:
                    waiting[self.broker.queue_of(kind)] = _waiting(conn, self.broker.queue_of(kind))
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(
                f"the job broker ({_safe(self.broker.url)}) could not be reached: {exc}"
            ) from exc
        return waiting

    def run_worker(
        self, tasks: Mapping[str, Callable[[int], object]], kinds: Iterable[str], concurrency: int,
        name: str | None = None, loglevel: str = "INFO",
    ) -> None:  # fmt: skip
        """Consume the queues of `kinds` in this process with `concurrency` threads until stopped.

        SIGTERM is a warm shutdown (the drain): no new job is taken, running ones finish.
        """
        for kind, job in tasks.items():
            self.app.task(name=task_name(kind), acks_late=True)(_task(job))
        node = name or f"drmodels-{os.getpid()}@{socket.gethostname()}"
        self.app.worker_main(
            [
                "worker", "--pool", "threads", "--concurrency", str(concurrency),
                "--queues", ",".join(self.broker.queue_of(k) for k in kinds), "--hostname", node,
                "--without-gossip", "--without-mingle", "--loglevel", loglevel,
            ]
        )  # fmt: skip


def _task(job: Callable[[int], object]) -> Callable[[int], str]:
    def run(job_id: int) -> str:
        return str(job(job_id))

    return run


def _waiting(conn: Any, queue: str) -> int:
    channel = conn.channel()
    try:
        if hasattr(channel, "_size"):  # kombu's Redis transport: its passive declare misses prefixed keys
            return int(channel._size(queue))
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:  # the queue does not exist yet (nothing was ever sent to it)
        return 0
    finally:
        with contextlib.suppress(Exception):  # a 404 closed the channel already
            channel.close()


def _safe(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{creds.partition(':')[0] + '@' if at else ''}{host}"
