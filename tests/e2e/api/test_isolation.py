"""One account never reaches another's models: every operation of both faces on a foreign model gets the
answer an unknown model gets, and nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from support import api, servers

pytestmark = pytest.mark.servers

RL = "REINFORCEMENT_LEARNING"


def _answer(call: Callable[[], Any], arn: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"]).replace(arn, "<ARN>")


@pytest.fixture
def alices_model(
    api_server: api.Server,
    alice: api.Key,
    seaweed: servers.Seaweed,
    s3_model: Callable[..., str],
    wait_ready: Callable[[Any, str], dict[str, Any]],
) -> tuple[str, str]:
    """(name, ARN) of a READY model of alice's."""
    owner = api.deepracer(api_server, alice)
    name = f"private-{uuid.uuid4().hex[:6]}"
    arn = owner.import_model(
        Type=RL, Name=name, ModelArtifactsS3Path=s3_model(checkpoints=2), RoleArn=seaweed.roles.read
    )["ModelArn"]
    assert wait_ready(owner, arn)["Status"] == "READY"
    return name, arn


def test_json11_operations_on_another_accounts_model(
    api_server: api.Server,
    alice: api.Key,
    bob: api.Key,
    seaweed: servers.Seaweed,
    alices_model: tuple[str, str],
) -> None:
    owner, other = api.deepracer(api_server, alice), api.deepracer(api_server, bob)
    name, arn = alices_model
    owner.tag_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}])
    unknown = arn.rsplit("/", 1)[0] + "/" + uuid.uuid4().hex
    # the same ARN with bob's account id in it is not his model either
    relabelled = arn.replace(f":{alice.account_id}:", f":{bob.account_id}:")
    calls: dict[str, Callable[[str], Any]] = {
        "GetModel": lambda a: other.get_model(ModelArn=a),
        "DeleteModel": lambda a: other.delete_model(ModelArn=a),
        "GetAssetUrl": lambda a: other.get_asset_url(Arn=a, AssetType="COMPLETE_MODEL_ARTIFACT"),
        "GetAssetUrl S3_PKG": lambda a: other.get_asset_url(
            Arn=a,
            AssetType="S3_PKG_MODEL",
            RoleArn=seaweed.roles.export,
            ModelArtifactsS3Bucket="drm-x-bucket",
        ),
        "TagResource": lambda a: other.tag_resource(ResourceArn=a, Tags=[{"Key": "owner", "Value": "bob"}]),
        "UntagResource": lambda a: other.untag_resource(ResourceArn=a, TagKeys=["owner"]),
        "ListTagsForResource": lambda a: other.list_tags_for_resource(ResourceArn=a),
    }
    for operation, call in calls.items():
        foreign = _answer(lambda c=call: c(arn), arn)  # type: ignore[misc]
        assert foreign[0] == "ResourceDoesNotExistException", operation
        assert foreign == _answer(lambda c=call: c(unknown), unknown), operation  # type: ignore[misc]
        assert foreign == _answer(lambda c=call: c(relabelled), relabelled), operation  # type: ignore[misc]
    assert arn not in [m["ModelArn"] for m in other.list_models(ModelType=RL)["Models"]]
    # the name is per account: bob may use it, and his model is another one
    assert (
        other.import_model(
            Type=RL, Name=name, ModelArtifactsS3Path="s3://drm-none/p", RoleArn=seaweed.roles.read
        )["ModelArn"]
        != arn
    )
    # alice's model is untouched
    assert owner.get_model(ModelArn=arn)["Model"]["Status"] == "READY"
    assert owner.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "alice"}]
    # the CLI's --account keeps to its account too
    shown = api_server.cli("models", "show", name, "--json", "--account", bob.account_id)
    assert alice.account_id not in shown.stdout
    retried = api_server.cli("models", "retry", name, "--account", alice.account_id)
    assert retried.returncode == 2 and "READY" in retried.stderr
    no_such = api_server.cli("models", "list", "--account", "123456789012")
    assert no_such.returncode == 2 and "no account 123456789012" in no_such.stderr


def test_rest_operations_on_another_accounts_model(
    api_server: api.Server, alice: api.Key, bob: api.Key, alices_model: tuple[str, str]
) -> None:
    owner = api.deepracer(api_server, alice)
    arn = alices_model[1]
    model_id = arn.rsplit("/", 1)[1]
    other, url = api.rest(bob), api_server.url
    calls: dict[str, Callable[[str], requests.Response]] = {
        "GET": lambda i: other.get(f"{url}/models/{i}", timeout=30),
        "getasset": lambda i: other.get(
            f"{url}/models/{i}/getasset", params={"assetType": "VIRTUAL_MODEL"}, timeout=30
        ),
        "DELETE": lambda i: other.delete(f"{url}/models/{i}", timeout=30),
    }
    unknown = uuid.uuid4().hex
    for operation, call in calls.items():
        foreign, missing = call(model_id), call(unknown)
        assert foreign.status_code == missing.status_code == 404, operation
        assert foreign.json()["message"].replace(model_id, "<ID>") == missing.json()["message"].replace(
            unknown, "<ID>"
        )
    assert model_id not in [m["modelId"] for m in other.get(f"{url}/models", timeout=30).json()["models"]]
    assert api.rest(alice).get(f"{url}/models/{model_id}", timeout=30).json()["model"]["status"] == "READY"
    # a download link is the owner's: altering it does not reach anything
    link = owner.get_asset_url(Arn=arn, AssetType="MODEL_ARTIFACT")["Url"]
    token = link.rsplit("/", 1)[1]
    forged = f"{url}/assets/{token[:-8]}{'A' * 8}"
    refused = requests.get(forged, timeout=30)
    assert refused.status_code == 403 and "not one this server made" in refused.json()["message"]
    assert requests.get(link, timeout=30).status_code == 200
