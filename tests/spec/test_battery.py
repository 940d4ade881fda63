"""The hostile-input battery: `check --json`, `fix`, `import --wait` and `models download` driven over
generated bad inputs. For each: no traceback, no hang, nothing written outside the data dir (or, for
fix, outside the folder), no code of the model executed, and a precise code (the same from check and
from the import; never SERVICE_ERROR, which would tell the user to retry).

Deterministic: the generated cases come from a seeded generator; every run tries the same inputs.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from drmodels.cli.app import app
from drmodels.rules.problems import Code
from support.import_fixtures import METADATA, write_model

runner = CliRunner()
SEED = 14
HANG_S = 60
"""A case taking longer than this is a hang (each takes well under a second)."""
BIG = "7" * 4400
MARK = "EXECUTED"
PAYLOAD = f"""import pathlib
pathlib.Path(__file__).resolve().parents[1].joinpath({MARK!r}).write_text("the model's code ran")


def reward_function(params):
    pathlib.Path(__file__).resolve().parents[1].joinpath({MARK!r}).write_text("the model's code ran")
    return 1.0
"""
"""A reward function that leaves a mark beside the model if anything imports or runs it."""

MVSE, FDNE, CCDNE = (
    Code.MODEL_VALIDATION_SERVICE_ERROR,
    Code.FILE_DOES_NOT_EXIST,
    Code.COACH_CHECKPOINT_DOES_NOT_EXIST,
)


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path], Path]
    """Changes the model folder; returns what to import (the folder, or an archive made of it)."""
    code: Code | None
    """The first error's code; None when the model stays importable (warnings at most)."""
    may_pass: bool = False
    """A generated value the simulation app may accept (a null, a version < 2): importable, or `code`."""


def write(key: str, data: bytes | str) -> Callable[[Path], Path]:
    def mutate(root: Path) -> Path:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return root

    return mutate


def coach(data: bytes | str) -> Callable[[Path], Path]:
    """Write .coach_checkpoint, the pointer the import reads once deepracer_checkpoints.json is gone."""

    def mutate(root: Path) -> Path:
        (root / "model" / "deepracer_checkpoints.json").unlink()
        return write("model/.coach_checkpoint", data)(root)

    return mutate


def metadata_with(**changes: object) -> str:
    return json.dumps({**METADATA, **changes})


def replaced(key: str, make: Callable[[Path], None]) -> Callable[[Path], Path]:
    """Put at `key` what `make` creates there (a link, a FIFO) instead of a regular file."""

    def mutate(root: Path) -> Path:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        make(path)
        return root

    return mutate


def link(key: str, target: str) -> Callable[[Path], Path]:
    return replaced(key, lambda path: path.symlink_to(target))


def fifo(key: str) -> Callable[[Path], Path]:
    return replaced(key, os.mkfifo)


def archive(*members: tuple[tarfile.TarInfo, bytes], cut: int = 0) -> Callable[[Path], Path]:
    """The model packed as .tar.gz with hostile members added (and its last `cut` bytes cut off)."""

    def mutate(root: Path) -> Path:
        path = root.parent / "model.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            tar.add(root, arcname=".")
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if data else None)
        if cut:
            path.write_bytes(path.read_bytes()[:-cut])
        return path

    return mutate


def member(
    name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", data: bytes = b""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    return info, data


def zipped(*extra: tuple[zipfile.ZipInfo | str, bytes]) -> Callable[[Path], Path]:
    def mutate(root: Path) -> Path:
        path = root.parent / "model.zip"
        with zipfile.ZipFile(path, "w") as z:
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                z.write(file, file.relative_to(root).as_posix())
            for info, data in extra:
                z.writestr(info, data)
        return path

    return mutate


def _zip_symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("model/evil")
    info.external_attr = 0o120777 << 16
    return info


HUGE_METADATA = metadata_with()[:-1] + f', "x": {BIG}}}'
NAN_METADATA = metadata_with().replace('"steering_angle": -30.0', '"steering_angle": NaN')
INF_METADATA = metadata_with().replace('"speed": 2.0', '"speed": 1e999')
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
NUL_REWARD = b"def reward_function(params):\x00\n    return 1\n"
ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 4)}]\n" for i in range(9)
)
INNER_LINK = member("logs/again.json", tarfile.LNKTYPE, "./metrics/TrainingMetrics.json")

FIXED: list[Case] = [
    # control files: numbers past the digit limit, nesting past the stack, NaN, NUL bytes, BOMs, YAML
    Case("metadata-huge-number", write("model/model_metadata.json", HUGE_METADATA), MVSE),
    Case("hyperparameters-huge-number", write("ip/hyperparameters.json", f'{{"lr": {BIG}}}'), MVSE),
    Case("pointer-json-huge-number", write("model/deepracer_checkpoints.json", f"[{BIG}]"), MVSE),
    Case("coach-huge-checkpoint", coach(f"{BIG}_Step-1.ckpt"), MVSE),
    Case("metrics-huge-number", write("metrics/TrainingMetrics.json", f'{{"metrics": [{BIG}]}}'), None),
    Case("params-huge-number", write("training_params.yaml", f"A: {BIG}\n"), None),
    Case("metadata-deep-nesting", write("model/model_metadata.json", DEEP_JSON), MVSE),
    Case("hyperparameters-deep-nesting", write("ip/hyperparameters.json", DEEP_OBJECT), MVSE),
    Case("metadata-nan", write("model/model_metadata.json", NAN_METADATA), MVSE),
    Case("metadata-infinity", write("model/model_metadata.json", INF_METADATA), MVSE),
    Case("reward-nul-bytes", write("reward_function.py", NUL_REWARD), MVSE),
    Case("metadata-nul-bytes", write("model/model_metadata.json", b'{"action_space": "\x00"}'), MVSE),
    Case("coach-nul-bytes", coach(b"\x00\x00\x00"), MVSE),
    Case(
        "metadata-bom", write("model/model_metadata.json", b"\xef\xbb\xbf" + metadata_with().encode()), MVSE
    ),
    Case("coach-bom", coach(b"\xef\xbb\xbf1_Step-162.ckpt"), MVSE),
    Case("params-alias-bomb", write("training_params.yaml", ALIAS_BOMB), None),
    Case(
        "params-python-tag",
        write("training_params.yaml", "X: !!python/object/apply:os.system [touch x]\n"),
        None,
    ),
    Case("params-impossible-date", write("training_params.yaml", "DATE: 2001-02-30\n"), None),
    # files that are there but cannot be used, and names no store can hold
    Case("reward-links-out", link("reward_function.py", "/etc/passwd"), FDNE),
    Case("logs-link-to-root", link("logs/everything", "/"), None),
    Case("log-fifo", fifo("logs/pipe.log"), None),
    Case("coach-fifo", lambda root: fifo("model/.coach_checkpoint")(coach("")(root)), CCDNE),
    Case("long-log-name", write("logs/" + "n" * 250 + ".log", b"log"), None),
    Case("non-utf8-log-name", write(os.fsdecode(b"logs/\xff\xfe.log"), b"log"), None),
    Case("control-char-log-name", write("logs/line\nbreak.log", b"log"), None),
    Case("backslash-log-name", write("logs/back\\slash.log", b"log"), None),
    # hostile archives
    Case("tar-traversal", archive(member("../../evil", data=b"x")), MVSE),
    Case("tar-absolute", archive(member("/tmp/evil", data=b"x")), MVSE),
    Case("tar-symlink", archive(member("model/evil", tarfile.SYMTYPE, "/etc/passwd")), MVSE),
    Case("tar-hard-link-out", archive(member("model/evil", tarfile.LNKTYPE, "/etc/passwd")), MVSE),
    Case("tar-device", archive(member("model/dev", tarfile.CHRTYPE)), MVSE),
    Case("tar-truncated", archive(cut=8), MVSE),
    Case("tar-inner-hard-link", archive(INNER_LINK), None),
    Case("zip-slip", zipped(("../../evil", b"x")), MVSE),
    Case("zip-symlink", zipped((_zip_symlink(), b"/etc/passwd")), MVSE),
]


def _generated(count: int) -> list[Case]:
    """Seeded mutations of model_metadata.json: one field replaced by a hostile value."""
    rng = random.Random(SEED)
    values: list[object] = [
        -1,
        0,
        10**30,
        1e308,
        "",
        "\x00",
        "x" * 10_000,
        [],
        {},
        [[[[[[]]]]]],
        None,
        True,
        {"low": {}},
    ]
    fields = [
        *("action_space", "sensor", "neural_network", "training_algorithm", "action_space_type"),
        *("version", "lidar_config"),
    ]
    cases = []
    for i in range(count):
        field, value = rng.choice(fields), rng.choice(values)
        text = metadata_with(**{field: value})
        cases.append(Case(f"generated-{i}-{field}", write("model/model_metadata.json", text), MVSE, True))
    return cases


CASES = FIXED + _generated(8)


@contextmanager
def no_hang(what: str) -> Iterator[None]:
    def fail(*_: object) -> None:
        raise AssertionError(f"{what} took over {HANG_S} s: a hang")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(HANG_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def files(root: Path, *skip: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if not any(p == s or s in p.parents for s in skip) and not p.is_dir()
    }


def answered(result: Result) -> None:
    """One of the CLI's exits, never a traceback."""
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRMODELS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DRMODELS_IMPORT_DEEP", "0")
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    root = write_model(tmp_path / "m", checkpoints=2)
    (root / "reward_function.py").write_text(PAYLOAD)
    source = case.mutate(root)
    before = files(tmp_path, tmp_path / "data", tmp_path / "out")

    with no_hang(f"check {case.name}"):
        result = runner.invoke(app, ["check", str(source), "--json", "--no-deep"])
    answered(result)
    report = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in check --json"))
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    expected = None if report["importable"] and case.may_pass else case.code
    assert report["importable"] is (expected is None), report["problems"]
    if expected is not None:
        assert errors[0]["code"] == expected, errors

    with no_hang(f"import {case.name}"):
        result = runner.invoke(app, ["import", str(source), "--name", "hostile", "--wait"])
    answered(result)
    models = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    if models:  # refused at accept (a file that is no model) registers nothing
        [model] = models
        assert model["Status"] == ("READY" if expected is None else "IMPORT_ERROR"), model
        assert (model["Error"] or {}).get("ErrorCode") == (expected and expected.value)
        if expected is None:
            with no_hang(f"download {case.name}"):
                result = runner.invoke(app, ["models", "download", "hostile", "-o", str(tmp_path / "out")])
            answered(result)
            with tarfile.open(tmp_path / "out" / "hostile.tar.gz") as tar:
                assert all(m.isfile() or m.isdir() for m in tar.getmembers())

    assert files(tmp_path, tmp_path / "data", tmp_path / "out") == before  # check, import, download
    if source.is_dir():
        outside = files(tmp_path, tmp_path / "data", tmp_path / "out", source)
        with no_hang(f"fix {case.name}"):
            result = runner.invoke(app, ["fix", str(source), "--no-deep"])
        answered(result)
        assert files(tmp_path, tmp_path / "data", tmp_path / "out", source) == outside
        assert result.exit_code != 0 or expected is None or "✔ Importable" in result.output
    assert not (tmp_path / MARK).exists() and not (tmp_path / "x").exists(), "the model's code ran"
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
