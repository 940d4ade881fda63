# ruff: noqa: E501  (a script: print lines and command lines kept whole)
"""Bench: migrate one account's N models (3 `*deepracer*` buckets) from SeaweedFS into an S3 store, beside
`s5cmd` copying the same objects in the same run.

    python bench/migrate.py [--models 1000] [--workers 8] [--runs 1]

Starts SeaweedFS (tests/support/servers.py), writes N console-layout models (4 checkpoints, of which the
import keeps 2, sim traces and a video it does not copy) spread over 3 buckets with `s5cmd cp`, then per
run:
- drmodels: `start_migration` + `run_migration` with the spec's migration role (AssumeRole), into
  s3://drm-bench-store/runR/ (SQLite registry, deep checks off); wall time from the start to the last
  model READY; every S3 and STS request counted by operation (discovery, sources, store).
- s5cmd: `s5cmd run` of one `cp` per object the migration copied (the same objects, same server), as the
  admin identity: a server-side CopyObject each, where drmodels must stream (GetObject through the role,
  PutObject as itself: the role may not write our store, our identity may not read the user's bucket).
Prints both walls, their ratio, the CPU seconds of each side and of SeaweedFS, and requests per model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from drmodels.adapters.s3.client import count_requests  # noqa: E402
from drmodels.adapters.store.s3 import S3Store  # noqa: E402
from drmodels.bootstrap import build  # noqa: E402
from drmodels.config import load_settings  # noqa: E402
from drmodels.registry.statuses import JobStatus  # noqa: E402
from drmodels.service.deps import Deps  # noqa: E402
from drmodels.service.migration import migration_progress, run_migration, start_migration  # noqa: E402
from import_s3 import _children_cpu, _s5cmd, _weed_cpu  # noqa: E402  (bench/import_s3.py)
from support import servers  # noqa: E402
from support.migration_account import console_prefix, good_model  # noqa: E402

ACCOUNT = "123456789012"
BUCKETS = ("bench-deepracer-a", "bench-deepracer-b", "bench-deepracer-c")
STORE = "drm-bench-store"


def _write_account(tmp: Path, models: int, env: dict[str, str]) -> list[str]:
    """N models on disk, uploaded with s5cmd; returns every source prefix."""
    files = good_model()
    sources = []
    for i in range(models):
        bucket = BUCKETS[i % 3]
        prefix = console_prefix(i)
        for key, data in files.items():
            path = tmp / "account" / bucket / prefix / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        sources.append(f"s3://{bucket}/{prefix}/")
    for bucket in BUCKETS:
        subprocess.run([_s5cmd(), "--endpoint-url", env["AWS_ENDPOINT_URL"], "cp", f"{tmp / 'account' / bucket}/",
                        f"s3://{bucket}/"], check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    return sources


def _deps(tmp: Path, run: int, sw: servers.Seaweed) -> Deps:
    """As bootstrap builds it; the store written as the admin (the importer identity may only assume
    roles on this server; drmodels' own identity on AWS would hold both rights)."""
    settings = load_settings(
        data_dir=tmp / f"run{run}",
        import_deep=False,
        registry_url=f"sqlite:///{tmp / f'registry-{run}.sqlite3'}",
    )
    requests: Counter[str] = Counter()
    client = servers.s3_client(sw, max_pool_connections=64)
    count_requests(client, requests)
    return replace(build(settings), store=S3Store(client, STORE, f"run{run}/", requests))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="drm-bench-migrate-"))
    with servers.seaweed(tmp / "weed") as sw:
        admin_env = {**os.environ, **sw.env()}
        admin = servers.s3_client(sw)
        for bucket in (*BUCKETS, STORE):
            admin.create_bucket(Bucket=bucket)
        started = time.perf_counter()
        sources = _write_account(tmp, args.models, admin_env)
        print(f"wrote {args.models} models in 3 buckets in {time.perf_counter() - started:.1f} s")
        os.environ.update(sw.env(sw.importer))
        for run in range(args.runs):
            deps = _deps(tmp, run, sw)
            mine, weed = time.process_time(), _weed_cpu(tmp / "weed")
            start = time.perf_counter()
            migration = start_migration(deps, ACCOUNT, sw.roles.migration, workers=args.workers)
            assert run_migration(migration, deps) == JobStatus.SUCCEEDED
            wall = time.perf_counter() - start
            ours_cpu, ours_weed = time.process_time() - mine, _weed_cpu(tmp / "weed") - weed
            progress = migration_progress(deps, ACCOUNT, migration)
            assert progress.models == {"READY": args.models}, (
                progress.models,
                progress.items[:1],
                progress.errors,
            )
            requests = Counter(getattr(deps.sources, "requests", {})) + Counter(
                getattr(deps.store, "requests", {})
            )
            requests.update(progress.requests)  # discovery
            with deps.registry.session() as s:
                from drmodels.registry.tables import Model

                copied = [
                    (m.import_src_location, e["key"]) for m in s.query(Model).all() for e in m.manifest or []
                ]
            commands = tmp / f"s5cmd-{run}.txt"
            commands.write_text(
                "".join(f"cp {src}{key} s3://{STORE}/s5cmd{run}/{src[5:]}{key}\n" for src, key in copied)
            )
            theirs_cpu, weed = _children_cpu(), _weed_cpu(tmp / "weed")
            start = time.perf_counter()
            subprocess.run([_s5cmd(), "--endpoint-url", sw.endpoint, "run", str(commands)], check=True,
                           env=admin_env, stdout=subprocess.DEVNULL)  # fmt: skip
            theirs = time.perf_counter() - start
            s5_cpu, s5_weed = _children_cpu() - theirs_cpu, _weed_cpu(tmp / "weed") - weed
            size = sum(len(b) for b in good_model().values()) * args.models
            print(f"run {run}: {args.models} models ({len(sources)} prefixes, {size / 2**20:.1f} MiB in the "
                  f"buckets), {len(copied)} objects copied ({len(copied) / args.models:.0f} per model)")  # fmt: skip
            print(f"  drmodels migrate : {wall:.2f} s  ({args.models / wall:.0f} models/s), CPU {ours_cpu:.2f} s"
                  f" + SeaweedFS {ours_weed:.2f} s")  # fmt: skip
            print(f"  s5cmd cp (same)  : {theirs:.2f} s, CPU {s5_cpu:.2f} s + SeaweedFS {s5_weed:.2f} s")
            print(f"  ratio            : {wall / theirs:.2f}x")
            per_model = sum(requests.values()) / args.models
            print(f"  requests / model : {per_model:.1f}: "
                  + ", ".join(f"{op} {n / args.models:.2f}" for op, n in sorted(requests.items())))  # fmt: skip
            deps.registry.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
