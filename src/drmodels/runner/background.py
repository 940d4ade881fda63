"""Start a job in a detached worker process (the embedded CLI's `import` without --wait)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def spawn_job(data_dir: Path, job_id: int) -> int:
    """Returns the worker's pid; its output goes to DATA_DIR/logs/job-<id>.log."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"job-{job_id}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "drmodels.runner.job", str(data_dir.resolve()), str(job_id)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return proc.pid
