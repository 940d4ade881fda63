"""The console's "Your models" page with 1,000 models, beside the API's ListModels for the same page size.

Per registry (SQLite in a temporary data dir; PostgreSQL in a throwaway database on 127.0.0.1:5432):
- writes N READY models into one account straight into the registry (as api_load.py does), and gives the
  account a password;
- starts the server as `drmodels serve` runs it (api_load.py's child: the same factory, gate, uvicorn
  options and request log), signs in through `/console/login` (its CSRF cookie and field, as a browser);
- sends, one connection at a time (keep-alive), GET `/console/models?page=P` for every page P, and the
  API's `ListModels` (SigV4-signed JSON 1.1, MaxResults = the console's page size) for the same pages
  (the first, then with each NextToken), back to back for S seconds each, alternating R times;
- prints per operation the server time per request (the gate's own `ms=` of each request in the server's
  log: from the first byte in to the last byte out, inside the server), the client's latency, the
  server's CPU per request (/proc), bytes per page (as sent, and gzip -6 for reference), and the ratio
  page / API. Goal: the page within 2x the API call.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import api_load  # bench/ is the script's folder: the server child, signing and the load generator

PASSWORD = "bench-console-password-1"
ROWS = 25
"""The console's page size (checked against web/views/models.py's PAGE_SIZE at start)."""
LOG_LINE = re.compile(r" (GET|POST) (\S+) account=\S+ status=(\d+) ms=([0-9.]+)$")


def fill(url: str, data_dir: Path, count: int) -> Any:
    """N READY models (api_load's rows) in the account `bench`, which gets a console password."""
    from drmodels.bootstrap import accounts, build
    from drmodels.config import Settings

    key, _arns, _sizes = api_load.fill_registry(url, data_dir, count)
    settings = Settings(data_dir=data_dir, registry_url=url)
    deps = build(settings)
    service = accounts(settings, deps)
    account = next(a for a in service.list() if a.name == api_load.ACCOUNT_NAME)
    service.set_password(account.account_id, PASSWORD)
    deps.registry.close()
    return key


def sign_in(server: str) -> str:
    """The session cookie, got as a browser gets it: the form's CSRF cookie and field, then the POST."""
    host = urllib.parse.urlsplit(server).netloc
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("GET", "/console/login")
    answer = conn.getresponse()
    body = answer.read().decode()
    assert answer.status == 200, (answer.status, body[:300])
    csrf_cookie = _cookie(answer, "drmodels_login_csrf")
    field = re.search(r'name="csrf" value="([^"]+)"', body)
    assert field is not None, "no csrf field in the sign-in form"
    form = urllib.parse.urlencode(
        {"account": api_load.ACCOUNT_NAME, "password": PASSWORD, "csrf": field.group(1), "next": ""}
    )
    conn.request(
        "POST",
        "/console/login",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"drmodels_login_csrf={csrf_cookie}",
        },
    )
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 303, f"sign-in answered {answer.status}"
    conn.close()
    return _cookie(answer, "drmodels_session")


def _cookie(answer: http.client.HTTPResponse, name: str) -> str:
    for header in answer.headers.get_all("Set-Cookie") or []:
        if header.startswith(name + "="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise SystemExit(f"no {name} cookie in the answer")


def page_requests(server: str, session: str, pages: int) -> list[bytes]:
    host = urllib.parse.urlsplit(server).netloc
    return [
        (
            f"GET /console/models?page={p} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n"
            f"Cookie: drmodels_session={session}\r\n\r\n"
        ).encode()
        for p in range(1, pages + 1)
    ]


def sizes(server: str, requests: list[bytes]) -> tuple[list[int], list[int]]:
    """The body size of each answer (one request each, in order), checked to be 200."""
    host, port = urllib.parse.urlsplit(server).netloc.split(":")
    out = []
    for request in requests:
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        status = int(head[9:12])
        assert status == 200, (status, body[:300])
        if request.startswith(b"GET /console/models"):  # a page of the list, not the sign-in form
            assert body.count(b'<a href="/console/models/model-') == ROWS, body[:500]
        out.append(body)
    return [len(b) for b in out], [len(gzip.compress(b, 6)) for b in out]


def log_times(log: Path, start: int, operation: str) -> list[float]:
    """The gate's ms= of each request of `operation` logged after byte `start` of the server's log."""
    with log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode(errors="replace").splitlines()
    out = []
    for line in lines:
        match = LOG_LINE.search(line)
        if match and match.group(2) == operation and match.group(3) == "200":
            out.append(float(match.group(4)))
    return out


def measure(
    name: str,
    requests: list[bytes],
    operation: str,
    server: str,
    args: argparse.Namespace,
    work: Path,
    pid: int,
) -> dict[str, Any]:
    log = work / f"serve-{args.current}.log"
    start = log.stat().st_size
    result = api_load.run_load(server, requests, 1, args.seconds, work, pid)
    time.sleep(0.3)  # the last log lines
    times = sorted(log_times(log, start, operation))
    assert set(result["statuses"]) == {"200"}, result["statuses"]
    return {
        "name": name,
        "server_p50_ms": statistics.median(times),
        "server_p90_ms": times[int(len(times) * 0.9) - 1],
        "client_p50_ms": result["p50_ms"],
        "rps": result["rps"],
        "cpu_us": result["cpu_us"],
        "count": len(times),
    }


def bench_registry(name: str, url: str | None, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = work / name
    data.mkdir()
    registry_url = url or f"sqlite:///{data / 'registry.sqlite3'}"
    started = time.perf_counter()
    key = fill(registry_url, data, args.models)
    print(f"\n[{name}] {args.models} models written in {time.perf_counter() - started:.1f} s")
    args.current = name
    proc, server = api_load.start_server(data, registry_url, {}, work / f"serve-{name}.log")
    try:
        from drmodels.web.views.models import PAGE_SIZE

        assert PAGE_SIZE == ROWS, PAGE_SIZE
        assert args.models % ROWS == 0, "--models: a multiple of the page size (every page full)"
        pages = args.models // PAGE_SIZE
        session = sign_in(server)
        console = page_requests(server, session, pages)
        first = [{"ModelType": api_load.RL, "MaxResults": PAGE_SIZE}]
        tokens = api_load.next_tokens(server, key, pages - 1, PAGE_SIZE)
        api = api_load.signed_requests(
            server, key, "ListModels", first + [{**first[0], "NextToken": t} for t in tokens]
        )
        page_bytes, page_gzip = sizes(server, console)
        api_bytes, api_gzip = sizes(server, api)
        rows = []
        for _ in range(args.runs):  # alternate, so a busy moment hurts both
            rows.append(measure("page", console, "/console/models", server, args, work, proc.pid))
            rows.append(measure("api", api, "ListModels", server, args, work, proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    result = {
        "registry": name,
        "page_size": PAGE_SIZE,
        "pages": pages,
        "page": _merge([r for r in rows if r["name"] == "page"]),
        "api": _merge([r for r in rows if r["name"] == "api"]),
        "page_bytes": statistics.median(page_bytes),
        "page_gzip": statistics.median(page_gzip),
        "api_bytes": statistics.median(api_bytes),
        "api_gzip": statistics.median(api_gzip),
    }
    _print(result)
    return result


def _merge(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "name"}


def _print(r: dict[str, Any]) -> None:
    page, api = r["page"], r["api"]
    for label, row, size, packed in (
        (f"GET /console/models (page of {r['page_size']})", page, r["page_bytes"], r["page_gzip"]),
        (f"ListModels (MaxResults {r['page_size']})", api, r["api_bytes"], r["api_gzip"]),
    ):
        print(
            f"  {label:<34} server p50 {row['server_p50_ms']:6.2f} ms p90 {row['server_p90_ms']:6.2f} ms"
            f" | client p50 {row['client_p50_ms']:6.2f} ms | {row['cpu_us']:6.0f} us CPU/req"
            f" | {size:7.0f} B ({packed:6.0f} B gzip) | {row['count']:.0f} requests"
        )
    ratio = page["server_p50_ms"] / api["server_p50_ms"]
    client = page["client_p50_ms"] / api["client_p50_ms"]
    print(
        f"  ratio page / API: server time {ratio:.2f}x, client {client:.2f}x,"
        f" CPU {page['cpu_us'] / api['cpu_us']:.2f}x, bytes {r['page_bytes'] / r['api_bytes']:.2f}x"
        f" -> goal (<= 2x server time) {'met' if ratio <= 2 else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--registries", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drm-console-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        results = [
            bench_registry(name, url, args, work) for name, url in api_load.registries(args.registries, stack)
        ]
        print("\nGoal: the page's server time within 2x ListModels' for the same page size")
        for r in results:
            ratio = r["page"]["server_p50_ms"] / r["api"]["server_p50_ms"]
            print(f"  {r['registry']}: {ratio:.2f}x -> {'met' if ratio <= 2 else 'NOT met'}")
        print(json.dumps(results, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
