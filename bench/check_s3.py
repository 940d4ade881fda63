"""Benchmark `drmodels check s3://...` on a 10,000-object model prefix against `s5cmd ls` (SeaweedFS).

Usage: python bench/check_s3.py [--objects 10000] [--runs 5]
Starts `weed mini` through tests/support/servers.py, uploads a valid-looking DeepRacer model folder plus
sim-trace / log objects with s5cmd, then times, alternating in each run, the subprocess
`drmodels check s3://bucket/prefix --json` and the baseline `s5cmd ls 's3://bucket/prefix/*'`.
Finally runs the check once in-process and prints the S3 requests it made against the goal
(<= 1 LIST per 1,000 keys + 1 GET per control file, wall <= 1 s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import servers  # noqa: E402

BUCKET = "drm-bench-models"
PREFIX = "models/bench-model-1"
WALL_GOAL_S = 1.0

METADATA = {
    "action_space": [
        {"steering_angle": a, "speed": s, "index": i}
        for i, (a, s) in enumerate((a, s) for a in (-30, -15, 0, 15, 30) for s in (1.0, 2.0))
    ],
    "sensor": ["FRONT_FACING_CAMERA"],
    "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    "training_algorithm": "clipped_ppo",
    "action_space_type": "discrete",
    "version": "5",
}
HYPERPARAMETERS = {
    "batch_size": 64,
    "beta_entropy": 0.01,
    "discount_factor": 0.999,
    "e_greedy_value": 0.05,
    "epsilon_steps": 10000,
    "exploration_type": "categorical",
    "loss_type": "huber",
    "lr": 0.0003,
    "num_episodes_between_training": 20,
    "num_epochs": 10,
    "stack_size": 1,
    "term_cond_avg_score": 350.0,
    "term_cond_max_episodes": 1000,
    "sac_alpha": 0.2,
}
REWARD = '''def reward_function(params):
    """Stay near the centre line."""
    distance = params["distance_from_center"]
    width = params["track_width"]
    if distance <= 0.1 * width:
        return 1.0
    if distance <= 0.25 * width:
        return 0.5
    return 1e-3
'''
CHECKPOINTS = [(10, 14517), (11, 16032), (12, 17404)]  # (iteration, steps)


def model_files(total: int) -> dict[str, bytes]:
    """A DeepRacer model prefix (control files, 3 checkpoints, graphs) padded with sim-traces to `total`."""
    best, last = CHECKPOINTS[1], CHECKPOINTS[-1]

    def name(c: tuple[int, int]) -> str:
        return f"{c[0]}_Step-{c[1]}.ckpt"

    files: dict[str, bytes] = {
        "reward_function.py": REWARD.encode(),
        "ip/hyperparameters.json": json.dumps(HYPERPARAMETERS, indent=2).encode(),
        "model/model_metadata.json": json.dumps(METADATA, indent=2).encode(),
        "model/deepracer_checkpoints.json": json.dumps(
            {
                "best_checkpoint": {"name": name(best), "avg_eval_metric": 71.5, "time_stamp": 1790.2},
                "last_checkpoint": {"name": name(last), "avg_eval_metric": 64.0, "time_stamp": 2105.9},
            }
        ).encode(),
        "model/.coach_checkpoint": f"{name(last)}\n".encode(),
    }
    for c in CHECKPOINTS:
        for suffix, size in ((".index", 1192), (".meta", 4096), (".data-00000-of-00001", 8192)):
            files[f"model/{name(c)}{suffix}"] = bytes(size)
        files[f"model/model_{c[0]}.pb"] = bytes(2048)
    i = 0
    while len(files) < total:
        if i % 10 == 9:
            files[f"logs/training/training-{i:05d}-robomaker.log"] = f"episode {i} done\n".encode()
        else:
            row = f"{i},0,1.5,0.3,-0.1,15.0,1.0,0,1.0,False,True,3.2,12,17.7,1790.2,in_progress,0\n"
            files[f"sim-trace/training/training-simtrace/{i:05d}-iteration.csv"] = row.encode()
        i += 1
    return files


def write_tree(files: dict[str, bytes], root: Path) -> None:
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def s5cmd(server: servers.Seaweed, *args: str) -> list[str]:
    return [servers.find_binary("s5cmd"), "--endpoint-url", server.endpoint, *args]


def timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start, proc


def stats(label: str, values: list[float]) -> str:
    return (
        f"{label:<22} median {statistics.median(values):6.3f} s   min {min(values):6.3f} s   "
        f"max {max(values):6.3f} s   ({len(values)} runs)"
    )


def upload(server: servers.Seaweed, files: dict[str, bytes], env: dict[str, str]) -> float:
    servers.s3_client(server).create_bucket(Bucket=BUCKET)
    with tempfile.TemporaryDirectory(prefix="drm-bench-") as tmp:
        write_tree(files, Path(tmp))
        start = time.perf_counter()
        subprocess.run(
            s5cmd(server, "--log", "error", "cp", f"{tmp}/*", f"s3://{BUCKET}/{PREFIX}/"),
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def in_process(url: str, objects: int) -> bool:
    """One check in this process: the S3 requests it made, against the goal. True if within it."""
    try:
        from drmodels.adapters.sources.s3 import S3Source
        from drmodels.config import load_settings
        from drmodels.rules.inspect import control_keys
        from drmodels.service.check import check_source
    except ImportError as exc:
        print(f"in-process check unavailable ({exc}); skipped")
        return False
    limits = load_settings().limits()
    start = time.perf_counter()
    source = S3Source.from_url(url)
    report = check_source(source, limits)
    wall = time.perf_counter() - start
    requests = dict(source.requests)
    control = control_keys(list(S3Source.from_url(url).list()), limits)
    lists, gets = requests.get("ListObjectsV2", 0), requests.get("GetObject", 0)
    list_goal = math.ceil(objects / 1000)
    others = {k: v for k, v in requests.items() if k not in {"ListObjectsV2", "GetObject"}}
    ok = lists <= list_goal and gets <= len(control) and not others
    errors = len(report.errors)
    print(
        f"\nin-process check_source: importable={report.importable}, {errors} errors, "
        f"{len(report.problems) - errors} warnings, wall {wall:.3f} s"
    )
    for p in report.problems:
        print(f"  {p.severity.value:7} {p.code.value} {p.path}: {p.explanation[:100]}")
    print(f"S3 requests: {requests}")
    print(f"  LIST  {lists:3d}  goal <= {list_goal} (1 per 1,000 of {objects} keys)")
    print(f"  GET   {gets:3d}  goal <= {len(control)} (1 per control file: {', '.join(control)})")
    if others:
        print(f"  other {others}  goal: none")
    print(
        f"requests {'within' if ok else 'OVER'} goal; in-process wall {wall:.3f} s "
        f"{'<=' if wall <= WALL_GOAL_S else '>'} {WALL_GOAL_S:.0f} s goal"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=10_000, help="objects under the prefix")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    args = parser.parse_args(argv)

    files = model_files(args.objects)
    url = f"s3://{BUCKET}/{PREFIX}"
    drmodels = str(Path(sys.executable).parent / "drmodels")
    with servers.seaweed() as server:
        env = {**os.environ, **server.env()}
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS"):
            env.pop(name, None)
        print(f"weed mini at {server.endpoint}; uploading {len(files)} objects to {url}/ ...")
        print(f"upload (s5cmd cp): {upload(server, files, env):.1f} s")
        os.environ.update(env)

        commands: dict[str, list[str]] = {
            "drmodels check --json": [drmodels, "check", url, "--json"],
            "s5cmd ls (baseline)": s5cmd(server, "ls", f"{url}/*"),
        }
        print(f"timing `drmodels check {url} --json` against `s5cmd ls '{url}/*'`")
        times: dict[str, list[float]] = {label: [] for label in commands}
        for run in range(args.runs):
            for label, cmd in commands.items():
                elapsed, proc = timed(cmd, env)
                times[label].append(elapsed)
                if run == 0:
                    summary = (
                        _check_summary(proc)
                        if cmd[0] == drmodels
                        else f"{len(proc.stdout.splitlines())} lines"
                    )
                    print(f"first run of {label}: exit {proc.returncode}, {summary}")
                    if proc.returncode not in (0, 1):
                        print(proc.stderr.decode(errors="replace")[-2000:])
        print()
        for label, values in times.items():
            print(stats(label, values))
        check_label, base_label = list(commands)
        ratio = statistics.median(times[check_label]) / statistics.median(times[base_label])
        print(
            f"ratio drmodels / s5cmd (medians): {ratio:.2f}x; "
            f"drmodels median {'<=' if statistics.median(times[check_label]) <= WALL_GOAL_S else '>'} "
            f"{WALL_GOAL_S:.0f} s goal"
        )
        in_process(url, args.objects)
    return 0


def _check_summary(proc: subprocess.CompletedProcess[bytes]) -> str:
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        return f"no JSON on stdout ({proc.stderr.decode(errors='replace').strip()[-300:]})"
    problems = report.get("problems", [])
    codes = sorted({p["code"] for p in problems})
    return f"importable={report.get('importable')}, {len(problems)} problems {codes}"


if __name__ == "__main__":
    raise SystemExit(main())
