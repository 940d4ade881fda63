"""Benchmark the API under load: GetModel and ListModels(MaxResults=25) on a registry of 10,000 models,
beside a bare endpoint of the same server stack returning a fixed JSON document of the same size.

Usage: python bench/api_load.py [--models 10000] [--concurrency 32] [--seconds 8]
                                [--registries sqlite,postgresql]

For each registry (SQLite, and a throwaway PostgreSQL database on 127.0.0.1:5432):
- writes N READY models into one account (straight into the registry) and makes the account's key;
- starts the server as `drmodels serve` runs it (uvicorn, the same factory, middleware and logging to a
  file) plus one route of the bench's own, the floor: `POST /floor/<op>` answers a fixed JSON document
  of the size of the real answer, with nothing behind it (no signature check, no registry);
- runs a load generator in another process: C concurrent keep-alive connections, each sending SigV4-signed
  requests back to back for S seconds (signed before the clock starts, so the client's CPU goes to
  sending; the server checks every signature as it would a fresh one);
- prints requests/s, p50 and p99 of each operation and of its floor, and the ratio to the floor.
Goals: GetModel >= 0.5x the floor's requests/s, p99 <= 50 ms at 32 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

RL = "REINFORCEMENT_LEARNING"
TARGET = "AwsSilverstoneCloudService."
ACCOUNT_NAME = "bench"


# ---------------------------------------------------------------- the server (child process)


def floor_app() -> Any:
    """The server `drmodels serve` runs, plus the floor routes (fixed documents, sizes from the bench)."""
    from starlette.responses import Response
    from starlette.routing import Route

    from drmodels.server import create_app

    app = create_app()
    for op, size in json.loads(os.environ["BENCH_FLOOR_SIZES"]).items():
        body = json.dumps({"Filler": "x" * max(0, size - 14)}).encode()

        async def floor(_request: Any, body: bytes = body) -> Response:
            return Response(body, media_type="application/x-amz-json-1.1")

        app.router.routes.insert(0, Route(f"/floor/{op}", floor, methods=["POST"]))
    return app


def serve(port: int) -> None:
    """As `drmodels serve` runs (cli/serve.py): the same uvicorn options and log lines."""
    import uvicorn

    from drmodels.cli.serve import STOP_GRACE_S

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        "api_load:floor_app",
        factory=True,
        app_dir=str(Path(__file__).parent),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=STOP_GRACE_S,
        server_header=False,
    )


# ---------------------------------------------------------------- setup (the bench process)


def fill_registry(url: str, data_dir: Path, count: int) -> tuple[Any, list[str], dict[str, int]]:
    """N READY models in one account; its key, the ARNs, and the sizes of real answers."""
    from drmodels.bootstrap import accounts, build
    from drmodels.config import Settings
    from drmodels.registry.tables import Account, Model
    from drmodels.service.models import model_arn
    from drmodels.service.shapes import api_model

    settings = Settings(data_dir=data_dir, registry_url=url)
    deps = build(settings)
    service = accounts(settings, deps)
    info, key = service.create(ACCOUNT_NAME)
    car = {
        "NeuralNetwork": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
        "Sensors": ["FRONT_FACING_CAMERA"],
        "ActionSpace": {
            "ActionSpaceType": "discrete",
            "DiscreteActionSpace": [
                {"SteeringAngle": a, "Speed": s} for a in (-30, 0, 30) for s in (1.0, 2.0)
            ],
        },
    }
    start = deps.clock() - timedelta(days=30)
    rows = []
    for i in range(count):
        model_id = f"{i:032x}"
        rows.append(
            {
                "id": model_id,
                "account_id": info.account_id,
                "name": f"model-{i:05d}",
                "arn": model_arn("us-east-1", info.account_id, model_id),
                "description": f"bench model {i}",
                "status": "READY",
                "was_imported": True,
                "was_migrated": False,
                "import_src_location": f"s3://bench-bucket/models/model-{i:05d}",
                "size_bytes": 42_000_000 + i,
                "packaging_complete": True,
                "car_configuration": car,
                "agent_algorithm": "PPO",
                "agent_network": "SIX_LAYER_DOUBLE_HEAD_OUTPUT",
                "checkpoints": ["10_Step-1000.ckpt", "11_Step-1100.ckpt"],
                "creation_time": start + timedelta(seconds=i),
                "updated_at": start,
            }
        )
    with deps.registry.session() as s:
        s.get_one(Account, info.account_id)
        for i in range(0, count, 2000):
            s.execute(Model.__table__.insert(), rows[i : i + 2000])
    with deps.registry.session() as s:
        one = s.get_one(Model, rows[count // 2]["id"])
        page = [s.get_one(Model, r["id"]) for r in rows[:25]]
        sizes = {
            "GetModel": len(json.dumps({"Model": api_model(one)})),
            "ListModels": len(json.dumps({"Models": [api_model(m) for m in page], "NextToken": "x" * 90})),
        }
    deps.registry.close()
    return key, [r["arn"] for r in rows], sizes


def start_server(data_dir: Path, registry_url: str, sizes: dict[str, int], log: Path) -> tuple[Any, str]:
    from support.servers import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMODELS_")}
    env.update(
        DRMODELS_DATA_DIR=str(data_dir),
        DRMODELS_REGISTRY_URL=registry_url,
        BENCH_FLOOR_SIZES=json.dumps(sizes),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "serve", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with suppress(OSError), urllib.request.urlopen(url + "/health", timeout=1):
            return proc, url
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the server did not start:\n{log.read_text()[-3000:]}")


def signed_requests(
    url: str, key: Any, op: str, bodies: list[dict[str, Any]], path: str = "/"
) -> list[bytes]:
    """Raw HTTP/1.1 requests signed with botocore's SigV4 (deepracer), ready to send."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = url.removeprefix("http://")
    credentials = Credentials(key.access_key_id, key.secret_access_key)
    out = []
    for body in bodies:
        data = json.dumps(body).encode()
        request = AWSRequest(
            method="POST",
            url=url + path,
            data=data,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op, "Host": host},
        )
        SigV4Auth(credentials, "deepracer", "us-east-1").add_auth(request)
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        out.append((head + f"Content-Length: {len(data)}\r\n\r\n").encode() + data)
    return out


# ---------------------------------------------------------------- the load generator (child process)


async def _connection(
    host: str,
    port: int,
    requests: list[bytes],
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = random.randrange(len(requests))
    while time.perf_counter() < stop_at:
        sent = time.perf_counter()
        writer.write(requests[i % len(requests)])
        i += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - sent)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def _load(url: str, requests: list[bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    warm: list[float] = []
    await asyncio.gather(
        *(
            _connection(host, int(port), requests, time.perf_counter() + 0.5, warm, {})
            for _ in range(concurrency)
        )
    )
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(host, int(port), requests, start + seconds, latencies, statuses)
            for _ in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "count": len(latencies) + len(warm),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": statuses,
    }


def load_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    requests = [bytes.fromhex(r) for r in spec["requests"]]
    with suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(_load(spec["url"], requests, spec["concurrency"], spec["seconds"]))
    print(json.dumps(result))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    url: str, requests: list[bytes], concurrency: int, seconds: float, work: Path, server_pid: int
) -> dict[str, Any]:
    """Requests/s and latencies as the client saw them, and the server's CPU time per request (the figure a
    busy machine disturbs least: other processes take wall time, not this process's CPU time)."""
    spec = work / "load.json"
    spec.write_text(
        json.dumps(
            {
                "url": url,
                "requests": [r.hex() for r in requests],
                "concurrency": concurrency,
                "seconds": seconds,
            }
        )
    )
    before = cpu_seconds(server_pid)
    done = subprocess.run(
        [sys.executable, __file__, "load", str(spec)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    result["cpu_us"] = (cpu_seconds(server_pid) - before) / max(1, result["count"]) * 1e6
    return result


# ---------------------------------------------------------------- the bench


def bench_registry(name: str, url: str | None, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    data = work / name
    data.mkdir()
    registry_url = url or f"sqlite:///{data / 'registry.sqlite3'}"
    started = time.perf_counter()
    key, arns, sizes = fill_registry(registry_url, data, args.models)
    took = time.perf_counter() - started
    print(f"\n[{name}] {args.models} models written in {took:.1f} s; answer sizes {sizes}")
    proc, server = start_server(data, registry_url, sizes, work / f"serve-{name}.log")
    rows = []
    try:
        picks = random.Random(1).sample(arns, min(500, len(arns)))
        first = [{"ModelType": RL, "MaxResults": 25}]
        tokens = next_tokens(server, key, 20)
        cases = {
            "GetModel": signed_requests(server, key, "GetModel", [{"ModelArn": a} for a in picks]),
            "ListModels": signed_requests(
                server, key, "ListModels", first + [{**first[0], "NextToken": t} for t in tokens]
            ),
        }
        for op, requests in cases.items():
            floor = signed_requests(server, key, op, [{"ModelArn": picks[0]}], path=f"/floor/{op}")
            for concurrency in args.concurrency:
                real = run_load(server, requests, concurrency, args.seconds, work, proc.pid)
                bare = run_load(server, floor, concurrency, args.seconds, work, proc.pid)
                rows.append({"registry": name, "op": op, "c": concurrency, "real": real, "floor": bare})
                _print_row(rows[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return rows


def next_tokens(server: str, key: Any, count: int, page_size: int = 25) -> list[str]:
    """NextTokens of the first pages, fewer when the models run out (ListModels' later pages cost what
    its first does, by design)."""
    from support.api import Key, deepracer

    client = deepracer(server, Key("", key.access_key_id, key.secret_access_key))
    tokens, token = [], None
    for _ in range(count):
        page = client.list_models(
            ModelType=RL, MaxResults=page_size, **({"NextToken": token} if token else {})
        )
        token = page.get("NextToken")
        if token is None:
            break
        tokens.append(token)
    return tokens


def _print_row(row: dict[str, Any]) -> None:
    real, bare = row["real"], row["floor"]

    def said(r: dict[str, Any]) -> str:
        latency = f"p50 {r['p50_ms']:5.1f} ms p99 {r['p99_ms']:6.1f} ms"
        return f"{r['rps']:6.0f} req/s {latency} {r['cpu_us']:5.0f} us CPU/req"

    print(
        f"{row['registry']:<10} {row['op']:<10} c={row['c']:<3} {said(real)} | floor {said(bare)}"
        f" | ratio {real['rps'] / bare['rps']:.2f}x (CPU {bare['cpu_us'] / real['cpu_us']:.2f}x)"
        f" statuses {real['statuses']}"
    )


def registries(names: str, stack: ExitStack) -> Iterator[tuple[str, str | None]]:
    """(name, URL) of each registry named ("sqlite": None, the caller's own file; "postgresql": a
    throwaway database, dropped when `stack` closes)."""
    for name in names.split(","):
        url = None
        if name == "postgresql":
            from support.import_fixtures import pg_database

            url = stack.enter_context(pg_database())
        yield name, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[32])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--registries", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drm-api-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        rows = []
        for name, url in registries(args.registries, stack):
            rows += bench_registry(name, url, args, work)
        print("\nGoals at 32 clients: GetModel >= 0.5x the floor's requests/s, p99 <= 50 ms")
        for row in rows:
            if row["op"] == "GetModel" and row["c"] == 32:
                ratio = row["real"]["rps"] / row["floor"]["rps"]
                p99 = row["real"]["p99_ms"]
                met = "met" if ratio >= 0.5 and p99 <= 50 else "NOT met"
                print(f"  {row['registry']}: {ratio:.2f}x, p99 {p99:.1f} ms -> {met}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2])
    else:
        main()
