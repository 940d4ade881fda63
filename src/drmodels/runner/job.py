"""`python -m drmodels.runner.job DATA_DIR JOB_ID`: run one import job in its own process."""

from __future__ import annotations

import sys
from pathlib import Path

from drmodels.bootstrap import build_env
from drmodels.service.imports.job import run_import


def main(argv: list[str]) -> int:
    data_dir, job_id = Path(argv[0]), int(argv[1])
    env = build_env(data_dir)
    status = run_import(job_id, env)
    env.registry.close()
    print(status)
    return 0 if status == "READY" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
