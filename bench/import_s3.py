"""Bench: import N models from SeaweedFS into an S3 store, beside `s5cmd cp` copying the same objects.

    python bench/import_s3.py [--models 20] [--checkpoints 20] [--data-mib 4] [--workers 8] [--runs 3]
                              [--processes N] [--broker redis://127.0.0.1:6379/0] [--deep]

Starts SeaweedFS (tests/support/servers.py), uploads N DeepRacer model folders (each with `--checkpoints`
checkpoints, of which the plan keeps 2, and a model.tar.gz so no archive has to be built), then per run:
- drmodels: accept N imports and run them in the in-process pool (`--workers` jobs at once, each copying
  with 8 threads), server-side CopyObject into s3://drm-bench-store/; wall time from the first accept
  to the last READY; S3 requests counted per operation on the source and store clients.
- `--processes N`: the same jobs in N worker processes (a process pool calling the job functions).
- `--broker URL`: N (`--processes`, default 1) `drmodels worker` processes with `--workers` threads
  each take the jobs from Celery on that broker (a key prefix / queue of the bench's own), registry
  on a throwaway PostgreSQL database; their CPU is read from /proc.
- `--deep`: deep validation on (at the source, pinned; the fixture's checkpoints are then genuine
  `drmodels sample` models, so `--checkpoints` and `--data-mib` do not apply).
- s5cmd: `s5cmd run` of one `cp` per planned object (the same objects, same server, same bucket pair),
  default worker count; wall time of the subprocess.
Prints the medians, their ratio, and the requests per model against the plan's floor: the inspection's
requests (1 ListObjectsV2 + 1 GetObject per control file) + 1 CopyObject per planned object. The goal:
wall <= 1.0x s5cmd's, requests <= floor + 2. Deep checks are off (they read every checkpoint byte).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from drmodels.adapters.s3.client import make_s3_client  # noqa: E402
from drmodels.adapters.sources.s3 import S3Source  # noqa: E402
from drmodels.bootstrap import build  # noqa: E402
from drmodels.config import load_settings  # noqa: E402
from drmodels.rules.limits import Limits  # noqa: E402
from drmodels.runner.processes import ProcessPool  # noqa: E402
from drmodels.service.check import check_source  # noqa: E402
from drmodels.service.deps import Deps  # noqa: E402
from drmodels.service.imports.job import run_import  # noqa: E402
from drmodels.service.models import ModelService  # noqa: E402
from support import servers  # noqa: E402
from support.import_fixtures import write_model  # noqa: E402

SRC, DST = "drm-bench-src", "drm-bench-store"


def _s5cmd() -> str:
    found = shutil.which("s5cmd") or str(Path(sys.executable).parent / "s5cmd")
    return found


def _plan_floor(url: str) -> tuple[int, list[str]]:
    counter: Counter[str] = Counter()
    client = make_s3_client(counter=counter)
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    source = S3Source(url, bucket, prefix.rstrip("/") + "/", client, None, counter)
    report = check_source(source, Limits())
    assert report.importable, [p.explanation for p in report.errors]
    keys = [source.prefix + o.key for o in report.plan.objects]
    return sum(counter.values()) + len(keys), keys


DEEP = False
CPU_START = [0.0]


def _deps(tmp: Path, run: str, registry_url: str | None = None) -> Deps:
    """The service as bootstrap builds it: SQLite registry (unless given), S3 store, deep per --deep."""
    settings = load_settings(
        data_dir=tmp / run, store_url=f"s3://{DST}/{run}", import_deep=DEEP,
        registry_url=registry_url or f"sqlite:///{tmp / f'registry-{run}.sqlite3'}",
    )  # fmt: skip
    return build(settings)


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these (running) processes."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _import_run_broker(
    tmp: Path, urls: list[str], broker_url: str, processes: int, threads: int, run: int, cpu: list[float]
) -> tuple[float, Counter[str]]:
    """The jobs through Celery: `processes` `drmodels worker`s with `threads` each; wall to the last READY."""
    from drmodels.bootstrap import broker
    from drmodels.registry import job_queries
    from drmodels.registry.statuses import JobStatus
    from support.import_fixtures import pg_database
    from support.workers import TestBroker, Workers

    tag = f"drmbench-{os.getpid()}-{run}"
    with pg_database() as url:
        deps = _deps(tmp, f"brun{run}", url)
        settings = load_settings(broker_url=broker_url, broker_prefix=f"{tag}:", queue=tag)
        env = {
            **os.environ, "DRMODELS_REGISTRY_URL": url, "DRMODELS_STORE_URL": f"s3://{DST}/brun{run}",
            "DRMODELS_IMPORT_DEEP": str(DEEP).lower(), "DRMODELS_DATA_DIR": str(tmp / f"brun{run}"),
        }  # fmt: skip
        pool = Workers(TestBroker(broker(settings)), env, tmp)
        try:
            for _ in range(processes):
                pool.start(threads, "--loglevel", "WARNING")
            pids = [w.proc.pid for w in pool.started]
            runner = build(settings.model_copy(update={"registry_url": url})).runner
            service = ModelService(deps)
            before = _proc_cpu(pids)
            CPU_START[0] = time.process_time()
            start = time.perf_counter()
            jobs = [service.accept(f"bench-{i}", u).job_id for i, u in enumerate(urls)]
            for job in jobs:
                runner.submit("import", job)
            while job_queries.jobs_in(deps.registry, JobStatus.QUEUED, JobStatus.RUNNING):
                time.sleep(0.05)
            wall = time.perf_counter() - start
            cpu.append(_proc_cpu(pids) - before)
            done = job_queries.jobs_in(deps.registry, JobStatus.SUCCEEDED)
            assert len(done) == len(urls), [j for j in job_queries.jobs_in(deps.registry, JobStatus.FAILED)]
        finally:
            pool.stop_all()
            _flush_prefix(broker_url, tag)
        deps.registry.close()
    return wall, Counter()


def _flush_prefix(broker_url: str, tag: str) -> None:
    if broker_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker_url)
        keys = list(client.scan_iter(match=f"{tag}:*", count=1000))
        if keys:
            client.delete(*keys)


def _requests(deps: Deps) -> Counter[str]:
    """S3 requests sent so far by the sources opened and the store, by operation."""
    return Counter(getattr(deps.sources, "requests", {})) + Counter(getattr(deps.store, "requests", {}))


def _import_run(tmp: Path, urls: list[str], workers: int, run: int) -> tuple[float, Counter[str]]:
    deps = _deps(tmp, f"run{run}")
    service = ModelService(deps)
    CPU_START[0] = time.process_time()  # the run's CPU, not the registry's creation nor the clients'
    start = time.perf_counter()
    jobs = [service.accept(f"bench-{i}", url).job_id for i, url in enumerate(urls)]
    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(lambda j: run_import(j, deps), jobs))
    wall = time.perf_counter() - start
    assert statuses == ["READY"] * len(urls), statuses
    deps.registry.close()
    return wall, _requests(deps)


def _job_in_process(deps: Deps, job_id: int) -> tuple[str, Counter[str]]:
    """Run one job in a worker process; its status and the S3 requests it sent."""
    before = _requests(deps)
    status = run_import(job_id, deps)
    return str(status), _requests(deps) - before


def _import_run_processes(tmp: Path, urls: list[str], processes: int, run: int) -> tuple[float, Counter[str]]:
    """The same imports run by `processes` worker processes (job functions take only ids)."""
    deps = _deps(tmp, f"prun{run}")
    service = ModelService(deps)
    CPU_START[0] = time.process_time()
    start = time.perf_counter()
    jobs = [service.accept(f"bench-{i}", url).job_id for i, url in enumerate(urls)]
    requests: Counter[str] = Counter()
    with ProcessPool(processes, partial(_deps, tmp, f"prun{run}")) as pool:
        results = [f.result() for f in [pool.submit(_job_in_process, j) for j in jobs]]
    wall = time.perf_counter() - start
    assert [status for status, _ in results] == ["READY"] * len(urls), results
    for _, counted in results:
        requests.update(counted)
    deps.registry.close()
    return wall, requests


def _weed_cpu(data_dir: Path) -> float:
    """CPU seconds used so far by the `weed mini` serving `data_dir` (from /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(data_dir) in stat.read_bytes().decode(errors="replace") and b"weed" in stat.read_bytes():
                fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _s5cmd_run(tmp: Path, keys: list[str], run: int, env: dict[str, str]) -> float:
    commands = tmp / f"s5cmd-{run}.txt"
    commands.write_text("".join(f"cp s3://{SRC}/{k} s3://{DST}/s5cmd{run}/{k}\n" for k in keys))
    start = time.perf_counter()
    subprocess.run([_s5cmd(), "--endpoint-url", env["AWS_ENDPOINT_URL"], "run", str(commands)],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--checkpoints", type=int, default=20)
    parser.add_argument("--data-mib", type=float, default=4.0, help="size of each checkpoint's data file")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=0, help="run the jobs in N worker processes")
    parser.add_argument("--broker", help="run the jobs in `drmodels worker` processes fed by this broker")
    parser.add_argument("--deep", action="store_true", help="deep validation on (genuine sample models)")
    args = parser.parse_args()
    global DEEP
    DEEP = args.deep
    tmp = Path(tempfile.mkdtemp(prefix="drm-bench-import-"))
    with servers.seaweed() as sw:
        os.environ.update(sw.env())
        admin = servers.s3_client(sw)
        admin.create_bucket(Bucket=SRC)
        admin.create_bucket(Bucket=DST)
        data_size = int(args.data_mib * 2**20)
        car = b"\x1f\x8b" + b"car" * 1000
        if args.deep:
            from drmodels.sample.model import SampleOptions, write_sample

            folder = tmp / "model"
            write_sample(folder, SampleOptions())
        else:
            folder = write_model(tmp / "model", args.checkpoints, data_size=data_size, car_archive=car)
        urls = [f"s3://{SRC}/models/m{i}" for i in range(args.models)]
        uploads = tmp / "upload.txt"
        uploads.write_text("".join(f"cp '{folder}/*' {u}/\n" for u in urls))
        subprocess.run([_s5cmd(), "--endpoint-url", sw.endpoint, "run", str(uploads)],
                       check=True, env={**os.environ, **sw.env()}, stdout=subprocess.DEVNULL)  # fmt: skip
        floor, _ = _plan_floor(urls[0])
        keys = [k for url in urls for k in _plan_floor(url)[1]]
        planned_bytes = (
            sum(admin.head_object(Bucket=SRC, Key=k)["ContentLength"] for k in _plan_floor(urls[0])[1])
            * args.models
        )
        walls, s5 = [], []
        cpu: dict[str, list[float]] = {"ours": [], "ours-server": [], "s5cmd": [], "s5cmd-server": []}
        requests: Counter[str] = Counter()
        for run in range(args.runs):
            children, server = _children_cpu(), _weed_cpu(sw.data_dir)
            workers_cpu: list[float] = []
            if args.broker:  # the workers' CPU from /proc while they ran (not their start-up)
                wall, requests = _import_run_broker(
                    tmp, urls, args.broker, args.processes or 1, args.workers, run, workers_cpu
                )
            elif args.processes:  # the pool's processes have exited: their CPU is the children's
                wall, requests = _import_run_processes(tmp, urls, args.processes, run)
                workers_cpu.append(_children_cpu() - children)
            else:
                wall, requests = _import_run(tmp, urls, args.workers, run)
            cpu["ours"].append(time.process_time() - CPU_START[0] + sum(workers_cpu))
            cpu["ours-server"].append(_weed_cpu(sw.data_dir) - server)
            walls.append(wall)
            theirs_cpu, server = _children_cpu(), _weed_cpu(sw.data_dir)
            s5.append(_s5cmd_run(tmp, keys, run, sw.env()))
            cpu["s5cmd"].append(_children_cpu() - theirs_cpu)
            cpu["s5cmd-server"].append(_weed_cpu(sw.data_dir) - server)
        ours, theirs = statistics.median(walls), statistics.median(s5)
        per_model = sum(requests.values()) / args.models
        mode = (
            f"{args.processes or 1} `drmodels worker` x {args.workers} threads via {args.broker}"
            if args.broker
            else f"{args.processes} worker processes"
            if args.processes
            else f"in-process, {args.workers} jobs"
        )
        print(
            f"{args.models} models x {len(keys) // args.models} planned objects "
            f"({planned_bytes / 2**20:.1f} MiB in all), {args.runs} runs, {mode}, deep {DEEP}"
        )
        print(f"drmodels import: median {ours:.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")
        print(f"s5cmd cp       : median {theirs:.2f} s (min {min(s5):.2f}, max {max(s5):.2f})")
        print(f"ratio          : {ours / theirs:.2f}x (goal <= 1.0x)")
        med = {k: statistics.median(v) for k, v in cpu.items()}
        print(
            f"CPU seconds    : drmodels {med['ours']:.2f} + SeaweedFS {med['ours-server']:.2f}; "
            f"s5cmd {med['s5cmd']:.2f} + SeaweedFS {med['s5cmd-server']:.2f} (2 cores: wall >= CPU / 2)"
        )
        print(
            f"client CPU per planned object: drmodels {med['ours'] / len(keys) * 1000:.2f} ms, "
            f"s5cmd {med['s5cmd'] / len(keys) * 1000:.2f} ms; throughput {args.models / ours:.1f} models/s"
        )
        print(
            f"requests/model : {per_model:.1f} (plan floor {floor}, goal <= {floor + 2}); by operation: "
            + ", ".join(f"{op} {n / args.models:.1f}" for op, n in sorted(requests.items()))
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
