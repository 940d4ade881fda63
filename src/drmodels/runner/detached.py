"""The CLI's runner: each job in a detached process that outlives the command (`import` without --wait)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class DetachedRunner:
    """Starts `python -m drmodels jobs run KIND ID --data-dir DIR`; output in DIR/logs/<kind>-<id>.log.

    The child reads the same DRMODELS_* environment, so it builds the same dependencies.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def submit(self, kind: str, job_id: int) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "drmodels", "jobs", "run", kind, str(job_id),
            "--data-dir", str(self.data_dir.resolve()),
        ]  # fmt: skip
        with (logs / f"{kind}-{job_id}.log").open("ab") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.last_pid = proc.pid

    def depth(self) -> None:
        """No broker: each job starts its own process at once."""
        return None
