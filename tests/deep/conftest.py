"""Fixtures for deep validation: DeepRacer-shaped models written by real TensorFlow.

tf_models   session  Path of a temporary directory built by make_tf_models.py in a SUBPROCESS
                     (this process never imports TensorFlow): <name>/model/... + <name>/model.tar.gz
                     for ppo_discrete, ppo_continuous_stereo_lidar, sac, and manifest.json (what
                     TensorFlow reports for every tensor). DRMODELS_TF_MODELS=<dir> reuses a built dir.
manifest    session  the parsed manifest.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


def build_models(out: Path) -> Path:
    """Run make_tf_models.py into `out` (fails the calling test if TensorFlow is not installed)."""
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail("tensorflow-cpu (a test dependency) is not installed: pip install -e '.[test]'")
    run = subprocess.run(
        [sys.executable, str(HERE / "make_tf_models.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return out


@pytest.fixture(scope="session")
def tf_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("DRMODELS_TF_MODELS")
    if reuse and (Path(reuse) / "manifest.json").exists():
        return Path(reuse)
    return build_models(tmp_path_factory.mktemp("tf_models"))


@pytest.fixture(scope="session")
def manifest(tf_models: Path) -> dict[str, Any]:
    return json.loads((tf_models / "manifest.json").read_text())  # type: ignore[no-any-return]
