"""Shared fixtures: real test servers (tests/servers.py) and generic helpers.

S3 (SeaweedFS `weed mini`), one per test session:
  seaweed        session  servers.Seaweed: .endpoint, .admin / .importer (servers.Keys), .roles
                          (servers.Roles: .read, .list_only, .no_list, .untrusted, .missing ARNs)
  s3_admin       session  boto3 S3 client on it with the admin keys (ignores the environment)
  aws_env        function points the AWS env vars at SeaweedFS with the admin keys; yields the Seaweed
  importer_env   function the same with the importer's keys (no S3 rights of its own: use a role)
  bucket         function a fresh, empty bucket with a unique name (created with admin keys)
  upload         function callable(local_dir, bucket, prefix) -> count: uploads a folder tree
  moto_iam       session  servers.Moto: moto_server holding the same roles and policies as SeaweedFS's
                          iam.json (IAM reads for the doctor, role create / put policy for the repairs)
  iam_env        function importer_env, plus AWS_ENDPOINT_URL_IAM at moto and DRMODELS_SERVICE_PRINCIPAL
                          = the importer (the principal a repaired trust policy names)
Servers that cannot start fail the tests that use them; they are never skipped.

Deep validation: DeepRacer-shaped models written by real TensorFlow.
  tf_models      session  Path of a temporary directory built by support/make_tf_models.py in a SUBPROCESS
                          (this process never imports TensorFlow): <name>/model/... + <name>/model.tar.gz
                          for ppo_discrete, ppo_continuous_stereo_lidar, sac, and manifest.json (what
                          TensorFlow reports for every tensor). DRMODELS_TF_MODELS=<dir> reuses a built dir.
  manifest       session  the parsed manifest.json
Add fixtures for other concerns below, each with a line in this docstring.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import servers

# ---------------------------------------------------------------- S3 (SeaweedFS)

_AWS_VARS_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Seaweed]:
    with servers.seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_admin(seaweed: servers.Seaweed) -> Any:
    return servers.s3_client(seaweed)


def _point_env(monkeypatch: pytest.MonkeyPatch, server: servers.Seaweed, keys: servers.Keys) -> None:
    for name in _AWS_VARS_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env(keys).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws_env(seaweed: servers.Seaweed, monkeypatch: pytest.MonkeyPatch) -> servers.Seaweed:
    """The default AWS chain now resolves to SeaweedFS with the admin keys (~/.aws ignored)."""
    _point_env(monkeypatch, seaweed, seaweed.admin)
    return seaweed


@pytest.fixture
def importer_env(seaweed: servers.Seaweed, monkeypatch: pytest.MonkeyPatch) -> servers.Seaweed:
    """As aws_env, with the importer's keys: it may only assume the roles in seaweed.roles."""
    _point_env(monkeypatch, seaweed, seaweed.importer)
    return seaweed


@pytest.fixture(scope="session")
def moto_iam() -> Iterator[servers.Moto]:
    with servers.moto() as server:
        servers.mirror_roles(server)
        yield server


@pytest.fixture
def iam_env(
    importer_env: servers.Seaweed, moto_iam: servers.Moto, monkeypatch: pytest.MonkeyPatch
) -> servers.Seaweed:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", moto_iam.endpoint)
    monkeypatch.setenv("DRMODELS_SERVICE_PRINCIPAL", servers.IMPORTER_ARN)
    return importer_env


@pytest.fixture
def bucket(s3_admin: Any, request: pytest.FixtureRequest) -> str:
    """A new empty bucket named after the test (unique per call, valid S3 name)."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"drm-{stem}-{uuid.uuid4().hex[:8]}"
    s3_admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def upload(s3_admin: Any) -> Callable[[Path, str, str], int]:
    """upload(local_dir, bucket, prefix) -> number of files put under s3://bucket/prefix/."""

    def _upload(local: Path, bucket: str, prefix: str) -> int:
        return servers.upload_tree(s3_admin, local, bucket, prefix)

    return _upload


# ---------------------------------------------------------------- TensorFlow-built models

MAKE_TF_MODELS = Path(__file__).parent / "support" / "make_tf_models.py"


def build_models(out: Path) -> Path:
    """Run make_tf_models.py into `out` (fails the calling test if TensorFlow is not installed)."""
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail("tensorflow-cpu (a test dependency) is not installed: pip install -e '.[test]'")
    run = subprocess.run(
        [sys.executable, str(MAKE_TF_MODELS), str(out)],
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
