"""Job leases: which worker runs a job, whether it still lives, when a job is taken as lost."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

STALE_AFTER = timedelta(minutes=15)
"""A running job that has not reported progress for this long is taken as lost (its worker may be on
another host, where its pid cannot be checked)."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the worker that claimed a job still runs (only known for workers on this host)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def stale(heartbeat: datetime | None, now: datetime) -> bool:
    return heartbeat is None or now - heartbeat > STALE_AFTER


def lost(owner: str | None, heartbeat: datetime | None, now: datetime) -> bool:
    """A running job whose worker died, or that has not reported for STALE_AFTER."""
    return not owner_alive(owner) or stale(heartbeat, now)
