"""Deep validation throughput on the largest TF-built fixture, beside `sha256sum` of the same files.

usage: python bench/deep_validate.py [--models DIR] [--runs N]

Builds the fixtures with tests/support/make_tf_models.py (real TensorFlow, in a subprocess, into a
temporary directory) unless --models points at a built directory, picks the largest model, then
times `deep_check` (checkpoint index + streamed .data CRC-32C + .meta + frozen graph + car archive)
and `sha256sum` over exactly the files deep_check reads. Both are warmed once (page cache), then
the median of N runs is reported in MB/s (10^6 bytes). Goal: deep validation >= 2x sha256sum.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from drmodels.service.deep import deep_check  # noqa: E402
from support.deephelpers import METADATA, DirSource, report_for  # noqa: E402

GOAL = 2.0


def _build(out: Path) -> Path:
    script = ROOT / "tests" / "support" / "make_tf_models.py"
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True)
    return out


def _files(model_dir: Path) -> list[Path]:
    model = model_dir / "model"
    files = [*sorted(model.glob("*.ckpt.*")), model / "model_0.pb", model_dir / "model.tar.gz"]
    return [f for f in files if f.exists()]


def _time(fn: object, runs: int) -> float:
    assert callable(fn)
    fn()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(models: Path, runs: int) -> float:
    sizes = {name: sum(f.stat().st_size for f in _files(models / name)) for name in METADATA}
    name = max(sizes, key=lambda n: sizes[n])
    files = _files(models / name)
    total = sizes[name]
    source = DirSource(models / name)
    report = report_for(source, build_car_archive=True)

    def deep() -> None:
        result = deep_check(source, report, METADATA[name])
        assert not result.problems, result.problems

    def sha() -> None:
        subprocess.run(["sha256sum", *map(str, files)], check=True, capture_output=True)

    ckpt_objects = tuple(o for o in report.plan.objects if ".ckpt." in o.key)
    ckpt_report = replace(report, plan=replace(report.plan, objects=ckpt_objects, build_car_archive=False))
    ckpt_total = sum(o.size for o in ckpt_objects)

    def ckpt_only() -> None:
        assert not deep_check(source, ckpt_report, METADATA[name]).problems

    t_ckpt = _time(ckpt_only, runs)
    t_deep = _time(deep, runs)
    t_sha = _time(sha, runs)
    deep_rate, sha_rate = total / t_deep / 1e6, total / t_sha / 1e6
    ratio = deep_rate / sha_rate
    print(
        f"fixture: {name} ({len(files)} files, {total / 1e6:.1f} MB: "
        + ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f}" for f in files)
        + ")"
    )
    print(f"deep validation: {deep_rate:8.1f} MB/s  (median {t_deep * 1000:.0f} ms of {runs})")
    print(f"sha256sum:       {sha_rate:8.1f} MB/s  (median {t_sha * 1000:.0f} ms of {runs})")
    print(
        f"  checkpoint only (.index + .data + .meta, {ckpt_total / 1e6:.1f} MB): "
        f"{ckpt_total / t_ckpt / 1e6:.1f} MB/s (median {t_ckpt * 1000:.0f} ms)"
    )
    print(f"ratio: {ratio:.2f}x  (goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'})")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="a directory built by make_tf_models.py")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.models:
        run(args.models, args.runs)
        return 0
    with tempfile.TemporaryDirectory(prefix="drmodels-bench-") as tmp:
        run(_build(Path(tmp)), args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
