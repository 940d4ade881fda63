"""The DeepRacer-on-AWS style REST face, signed for `execute-api`, against a real `drmodels serve`: imports
from the server's upload bucket with its own credentials (as DeepRacer on AWS does) or through a role."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support import api, servers
from support.import_fixtures import write_model

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def upload_bucket(api_bucket: str) -> str:
    """The module's bucket serves as the server's upload bucket."""
    return api_bucket


@pytest.fixture(scope="module")
def own_creds_server(
    seaweed: servers.Seaweed, upload_bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[api.Server]:
    """A server reading S3 with its own (admin) credentials, from its upload bucket."""
    data = tmp_path_factory.mktemp("api-upload") / "data"
    env = api.server_env(data, seaweed.env(seaweed.admin), import_deep="false", upload_bucket=upload_bucket)
    with api.serve(data, env) as server:
        yield server


def _wait(session: requests.Session, url: str, timeout_s: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        model: dict[str, Any] = session.get(url, timeout=30).json()["model"]
        if model["status"] != "IMPORTING" or time.monotonic() > deadline:
            return model
        time.sleep(0.2)


def _upload(s3_admin: Any, bucket: str, prefix: str, tmp_path: Path, **kwargs: Any) -> int:
    return servers.upload_tree(
        s3_admin, write_model(tmp_path / uuid.uuid4().hex[:8], **kwargs), bucket, prefix
    )


def test_import_from_the_upload_bucket_get_list_assets_delete(
    own_creds_server: api.Server, upload_bucket: str, s3_admin: Any, tmp_path: Path
) -> None:
    server = own_creds_server
    key = api.account_in(server, f"rest-{uuid.uuid4().hex[:6]}")
    http = api.rest(key)
    prefix = f"uploads/models/{uuid.uuid4()}"
    _upload(s3_admin, upload_bucket, prefix, tmp_path, checkpoints=3)
    made = http.post(
        server.url + "/importmodel",
        json={
            "s3Bucket": upload_bucket,
            "s3Path": prefix,
            "modelName": "rest-model",
            "modelDescription": "from REST",
        },
        timeout=30,
    )
    assert made.status_code == 200, made.text
    model_id = made.json()["modelId"]
    model = _wait(http, f"{server.url}/models/{model_id}")
    assert (model["status"], model["name"], model["description"]) == ("READY", "rest-model", "from REST")
    assert model["fileSizeInBytes"] > 0 and model["packagingStatus"] == "READY"
    assert model["metadata"]["agentAlgorithm"] == "PPO" and model["metadata"]["sensors"] == {
        "camera": "FRONT_FACING_CAMERA"
    }
    assert len(model["metadata"]["actionSpace"]["discrete"]) == 3
    assert model["modelArn"].endswith(model_id) and model["checkpoints"]

    listed = http.get(server.url + "/models", timeout=30).json()
    assert [m["modelId"] for m in listed["models"]] == [model_id] and "token" not in listed

    for asset, member in (
        ("VIRTUAL_MODEL", "reward_function.py"),
        ("TRAINING_LOGS", "metrics/TrainingMetrics.json"),
        ("PHYSICAL_CAR_MODEL", None),
    ):
        link = http.get(f"{server.url}/models/{model_id}/getasset", params={"assetType": asset}, timeout=30)
        assert link.status_code == 200 and link.json()["status"] == "READY", link.text
        body = requests.get(link.json()["url"], timeout=30).content
        names = api.tar_names(body)
        assert member is None or member in names, (asset, names)
    videos = http.get(f"{server.url}/models/{model_id}/getasset", params={"assetType": "VIDEOS"}, timeout=30)
    assert videos.status_code == 400 and "no videos" in videos.json()["message"]

    # outside the upload bucket, the server's own credentials are not used
    other = http.post(
        server.url + "/importmodel",
        json={"s3Bucket": "drm-someone-elses", "s3Path": "p", "modelName": "elsewhere"},
        timeout=30,
    )
    assert other.status_code == 400 and upload_bucket in other.json()["message"]

    assert http.delete(f"{server.url}/models/{model_id}", timeout=30).json() == {}
    gone = http.get(f"{server.url}/models/{model_id}", timeout=30)
    assert gone.status_code == 404 and set(gone.json()) == {"message"}
    assert http.delete(f"{server.url}/models/{model_id}", timeout=30).status_code == 404


def test_pages_by_token_and_errors_in_the_model(own_creds_server: api.Server, upload_bucket: str) -> None:
    server = own_creds_server
    http = api.rest(api.account_in(server, f"pages-{uuid.uuid4().hex[:6]}"))
    ids = []
    for i in range(52):  # nothing under the prefix: each import ends at once with FILE_DOES_NOT_EXIST
        made = http.post(
            server.url + "/importmodel",
            json={"s3Bucket": upload_bucket, "s3Path": f"nothing/{i}", "modelName": f"empty-{i}"},
            timeout=30,
        )
        ids.append(made.json()["modelId"])
    first = http.get(server.url + "/models", timeout=30).json()
    second = http.get(server.url + "/models", params={"token": first["token"]}, timeout=30).json()
    assert [m["modelId"] for m in first["models"] + second["models"]] == ids and "token" not in second
    failed = _wait(http, f"{server.url}/models/{ids[0]}")
    assert failed["status"] == "ERROR" and failed["importErrorCode"] == "FILE_DOES_NOT_EXIST"
    assert failed["importErrorMessage"] and failed["problems"][0]["code"] == "FILE_DOES_NOT_EXIST"
    bad_token = http.get(server.url + "/models", params={"token": "garbage!"}, timeout=30)
    assert bad_token.status_code == 400 and "token" in bad_token.json()["message"]


def test_import_through_a_role_and_request_validation(
    api_server: api.Server, seaweed: servers.Seaweed, s3_model: Callable[..., str]
) -> None:
    http = api.rest(api.account_in(api_server, f"role-{uuid.uuid4().hex[:6]}"))
    bucket, _, prefix = s3_model(checkpoints=2).removeprefix("s3://").partition("/")
    made = http.post(
        api_server.url + "/importmodel",
        json={"s3Bucket": bucket, "s3Path": prefix, "modelName": "via-role", "roleArn": seaweed.roles.read},
        timeout=30,
    )
    assert _wait(http, f"{api_server.url}/models/{made.json()['modelId']}")["status"] == "READY"
    no_upload = http.post(
        api_server.url + "/importmodel",
        json={"s3Bucket": bucket, "s3Path": prefix, "modelName": "no-role"},
        timeout=30,
    )
    assert no_upload.status_code == 400 and "roleArn" in no_upload.json()["message"]
    for body, field in (
        ({"s3Bucket": bucket, "s3Path": prefix, "modelName": "bad name"}, "modelName"),
        ({"s3Bucket": bucket, "modelName": "x"}, "s3Path"),
        ({"s3Bucket": bucket, "s3Path": prefix, "modelName": "x", "roleArn": "nope"}, "roleArn"),
    ):
        refused = http.post(api_server.url + "/importmodel", json=body, timeout=30)
        assert refused.status_code == 400 and field in refused.json()["message"], refused.text
    taken = http.post(
        api_server.url + "/importmodel",
        json={"s3Bucket": bucket, "s3Path": prefix, "modelName": "via-role", "roleArn": seaweed.roles.read},
        timeout=30,
    )
    assert taken.status_code == 409 and "already exists" in taken.json()["message"]
