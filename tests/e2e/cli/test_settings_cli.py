"""Settings the CLI cannot use: one line on stderr naming the variable, exit 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.import_fixtures import write_model

DRMODELS = str(Path(sys.executable).parent / "drmodels")


def _run(tmp_path: Path, extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRMODELS_")}
    env.update({"DRMODELS_DATA_DIR": str(tmp_path / "data"), **extra})
    return subprocess.run(
        [DRMODELS, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


@pytest.mark.parametrize(
    ("extra", "args", "said"),
    [
        ({"DRMODELS_MODEL_TAR_MAX_BYTES": "abc"}, ("check", "src"), "DRMODELS_MODEL_TAR_MAX_BYTES=abc: "),
        (
            {"DRMODELS_CHECKPOINT_FILE_MAX_BYTES": "-1"},
            ("import", "src", "--name", "m"),
            "cannot be negative",
        ),
        ({"DRMODELS_MODEL_TAR_MAX_BYTES": "10MB/s"}, ("check", "src"), "not a size"),
        ({"DRMODELS_IMPORT_DEEP": "maybe"}, ("models", "list"), "DRMODELS_IMPORT_DEEP=maybe: "),
        (
            {"DRMODELS_STORE_URL": "ftp://host/models"},
            ("import", "src", "--name", "m"),
            "unknown scheme ftp://",
        ),
    ],
    ids=[
        "size-not-a-number",
        "negative-limit",
        "size-with-a-bad-unit",
        "bad-boolean",
        "unknown-store-scheme",
    ],
)
def test_bad_settings_are_one_line(
    tmp_path: Path, extra: dict[str, str], args: tuple[str, ...], said: str
) -> None:
    write_model(tmp_path / "src", checkpoints=2)
    done = _run(tmp_path, extra, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "ftp:").exists() and not (tmp_path / "data").exists()
