"""Fixtures of the API tests: a real `drmodels serve` per test module, and accounts on it.

api          module   support.api.Server reading S3 (SeaweedFS) with the importer's keys: it may only
                      assume the roles in seaweed.roles; deep checks off (the models are synthetic)
alice, bob   module   support.api.Key: two accounts made with `drmodels account create --json`
fresh        function support.api.Key: a new account of its own (made in-process)
s3_model     function callable(name) -> s3://bucket/prefix of a fresh model uploaded to a fresh bucket
wait_ready   function callable(client, arn) -> the Model once its import has ended
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import api, servers
from support.import_fixtures import write_model


@pytest.fixture(scope="module")
def api_server(seaweed: servers.Seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[api.Server]:
    data = tmp_path_factory.mktemp("api") / "data"
    env = api.server_env(data, seaweed.env(seaweed.importer), import_deep="false")
    with api.serve(data, env) as server:
        yield server


@pytest.fixture(scope="module")
def alice(api_server: api.Server) -> api.Key:
    return api.new_account(api_server, f"alice-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def bob(api_server: api.Server) -> api.Key:
    return api.new_account(api_server, f"bob-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def fresh(api_server: api.Server) -> api.Key:
    return api.account_in(api_server, f"fresh-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def api_bucket(s3_admin: Any) -> Iterator[str]:
    name = f"drm-api-{uuid.uuid4().hex[:10]}"
    s3_admin.create_bucket(Bucket=name)
    yield name
    api.drop_bucket(s3_admin, name)


@pytest.fixture
def s3_model(s3_admin: Any, api_bucket: str, tmp_path: Path) -> Callable[..., str]:
    def make(prefix: str = "models/m", **kwargs: Any) -> str:
        local = write_model(tmp_path / uuid.uuid4().hex[:8], **kwargs)
        where = f"{uuid.uuid4().hex[:8]}/{prefix}"
        servers.upload_tree(s3_admin, local, api_bucket, where)
        return f"s3://{api_bucket}/{where}"

    return make


def wait_until_imported(client: Any, arn: str, timeout_s: float = 90.0) -> dict[str, Any]:
    """The model once it is no longer IMPORTING (its import ended, well or not)."""
    deadline = time.monotonic() + timeout_s
    while True:
        model: dict[str, Any] = client.get_model(ModelArn=arn)["Model"]
        if model["Status"] != "IMPORTING" or time.monotonic() > deadline:
            return model
        time.sleep(0.2)


@pytest.fixture
def wait_ready() -> Callable[[Any, str], dict[str, Any]]:
    return wait_until_imported
