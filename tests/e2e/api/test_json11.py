"""The DeepRacer API's JSON 1.1 face driven by the boto3 `deepracer` client against a real `drmodels serve`,
importing from SeaweedFS through an assumed role."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support import api, servers

pytestmark = pytest.mark.servers

RL = "REINFORCEMENT_LEARNING"
Wait = Callable[[Any, str], dict[str, Any]]


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _members(shape: str) -> set[str]:
    from drmodels.api.deepracer.servicemodel import service_model

    return set(service_model()["shapes"][shape]["members"])


def _import(dr: Any, name: str, location: str, role: str, **extra: Any) -> str:
    arn: str = dr.import_model(Type=RL, Name=name, ModelArtifactsS3Path=location, RoleArn=role, **extra)[
        "ModelArn"
    ]
    return arn


def test_import_get_list_tags_download_export_reimport_delete(
    api_bucket: str,
    api_server: api.Server,
    alice: api.Key,
    seaweed: servers.Seaweed,
    s3_model: Callable[..., str],
    s3_admin: Any,
    wait_ready: Wait,
) -> None:
    dr = api.deepracer(api_server, alice)
    location = s3_model(checkpoints=4)
    arn = _import(dr, "api-model", location, seaweed.roles.read, Description="from the API")
    assert arn.startswith(f"arn:aws:deepracer:us-east-1:{alice.account_id}:model/reinforcement_learning/")
    first = dr.get_model(ModelArn=arn)["Model"]
    assert first["Status"] in ("IMPORTING", "READY")
    model = wait_ready(dr, arn)

    # the service model's Model, exactly: no member it does not declare, its required ones present
    assert model["Status"] == "READY", model
    assert set(model) <= _members("Model")
    assert {
        "ModelType",
        "ModelName",
        "ModelArn",
        "WasImported",
        "CreationTime",
        "ModelFramework",
        "AgentAlgorithm",
        "AgentNetwork",
        "Status",
    } <= set(model)
    assert (model["ModelName"], model["ModelDescription"], model["AgentAlgorithm"]) == (
        "api-model",
        "from the API",
        "PPO",
    )
    assert model["ImportModelS3SrcLocation"] == location and model["ModelPackagingComplete"] is True
    assert model["ModelSizeInGb"] > 0 and "Error" not in model
    car = model["CarConfiguration"]
    assert car["Sensors"] == ["FRONT_FACING_CAMERA"] and car["ActionSpace"]["ActionSpaceType"] == "discrete"
    assert len(car["ActionSpace"]["DiscreteActionSpace"]) == 3

    # the history went IMPORTING -> READY (the CLI shows the same model in the same account)
    shown = api_server.cli("models", "show", "api-model", "--json", "--account", alice.account_id)
    assert [h["Kind"] for h in json.loads(shown.stdout)["History"]] == ["accepted", "import-started", "ready"]

    # tags
    dr.tag_resource(ResourceArn=arn, Tags=[{"Key": "league", "Value": "2026"}, {"Key": "car", "Value": "a"}])
    dr.tag_resource(ResourceArn=arn, Tags=[{"Key": "car", "Value": "b"}])
    dr.untag_resource(ResourceArn=arn, TagKeys=["league", "absent"])
    assert dr.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "car", "Value": "b"}]

    # downloads: the virtual model (re-importable), the car archive, the logs
    urls = {
        t: dr.get_asset_url(Arn=arn, AssetType=t)["Url"]
        for t in ("COMPLETE_MODEL_ARTIFACT", "MODEL_ARTIFACT", "LOGS")
    }
    assert all(u.startswith(api_server.url + "/assets/") for u in urls.values())
    with urllib.request.urlopen(urls["COMPLETE_MODEL_ARTIFACT"]) as resp:
        assert resp.headers["Content-Disposition"] == 'attachment; filename="api-model.tar.gz"'
        virtual = resp.read()
    assert virtual[:2] == b"\x1f\x8b"  # gzip
    names = api.tar_names(virtual)
    assert "reward_function.py" in names and "model/model_metadata.json" in names
    with urllib.request.urlopen(urls["MODEL_ARTIFACT"]) as resp:
        assert api.tar_names(resp.read())
    with urllib.request.urlopen(urls["LOGS"]) as resp:
        assert "metrics/TrainingMetrics.json" in api.tar_names(resp.read())

    # the downloaded virtual model imports again
    with tarfile.open(fileobj=io.BytesIO(virtual), mode="r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    servers.put_objects(s3_admin, api_bucket, "from-download", files)
    again = _import(dr, "api-model-again", f"s3://{api_bucket}/from-download", seaweed.roles.read)
    assert wait_ready(dr, again)["Status"] == "READY"

    # "Copy to S3" into another bucket through a role allowed to write, then import from there
    target = f"drm-api-export-{uuid.uuid4().hex[:8]}"
    s3_admin.create_bucket(Bucket=target)
    try:
        _export_and_reimport(dr, arn, model, target, len(files), seaweed, s3_admin, wait_ready)
    finally:
        api.drop_bucket(s3_admin, target)

    # delete: gone, the link with it, the source untouched
    dr.delete_model(ModelArn=arn)
    with pytest.raises(ClientError) as gone:
        dr.get_model(ModelArn=arn)
    assert _code(gone) == "ResourceDoesNotExistException"
    with pytest.raises(urllib.error.HTTPError) as link:
        urllib.request.urlopen(urls["MODEL_ARTIFACT"])
    assert link.value.code == 404
    dr.delete_model(ModelArn=again)


def _export_and_reimport(
    dr: Any, arn: str, model: dict[str, Any], target: str, files: int, seaweed: servers.Seaweed,
    s3_admin: Any, wait_ready: Wait,
) -> None:  # fmt: skip
    """ "Copy to S3" into `target` through a role allowed to write, then an import from there."""
    copied = dr.get_asset_url(
        Arn=arn,
        AssetType="S3_PKG_MODEL_LOGS",
        RoleArn=seaweed.roles.export,
        ModelArtifactsS3Bucket=target,
        ModelArtifactsS3Prefix="exported/api-model",
    )
    listed = s3_admin.list_objects_v2(Bucket=target, Prefix="exported/api-model/")["Contents"]
    assert copied["ProcessedFileCount"] == len(listed) == files
    exported = _import(dr, "api-model-exported", f"s3://{target}/exported/api-model", seaweed.roles.read)
    assert wait_ready(dr, exported)["ModelSizeInGb"] == model["ModelSizeInGb"]
    model_only = dr.get_asset_url(
        Arn=arn, AssetType="S3_PKG_MODEL", RoleArn=seaweed.roles.export, ModelArtifactsS3Bucket=target
    )
    assert model_only["ProcessedFileCount"] == files - 1  # without metrics/TrainingMetrics.json

    # a role that may not write: refused, with the spec's code and the action to allow
    with pytest.raises(ClientError) as denied:
        dr.get_asset_url(
            Arn=arn, AssetType="S3_PKG_MODEL", RoleArn=seaweed.roles.read, ModelArtifactsS3Bucket=target
        )
    assert _code(denied) == "CustomerAuthorizationFailedException"
    assert "ACCESS_DENIED_TO_BUCKET" in str(denied.value) and "s3:PutObject" in str(denied.value)
    with pytest.raises(ClientError) as no_bucket:
        dr.get_asset_url(Arn=arn, AssetType="S3_PKG_MODEL", ModelArtifactsS3Bucket=target)
    assert _code(no_bucket) == "InvalidRequestException" and "RoleArn" in str(no_bucket.value)
    with pytest.raises(ClientError) as videos:
        dr.get_asset_url(Arn=arn, AssetType="VIDEOS")
    assert _code(videos) == "InvalidRequestException" and "no videos" in str(videos.value)
    dr.delete_model(ModelArn=exported)


def test_list_pages_are_stable_while_models_are_added(
    api_server: api.Server, fresh: api.Key, seaweed: servers.Seaweed, s3_model: Callable[..., str]
) -> None:
    dr = api.deepracer(api_server, fresh)
    location = s3_model(checkpoints=1)
    for i in range(5):
        _import(dr, f"page-{i}", location, seaweed.roles.read)
    first = dr.list_models(ModelType=RL, MaxResults=2)
    assert [m["ModelName"] for m in first["Models"]] == ["page-0", "page-1"]
    _import(dr, "page-5", location, seaweed.roles.read)  # added while paging: lands at the end
    second = dr.list_models(ModelType=RL, MaxResults=2, NextToken=first["NextToken"])
    third = dr.list_models(ModelType=RL, MaxResults=2, NextToken=second["NextToken"])
    assert [m["ModelName"] for m in second["Models"] + third["Models"]] == [f"page-{i}" for i in range(2, 6)]
    assert "NextToken" not in third
    newest = dr.list_models(ModelType=RL, MaxResults=3, SortBy="CREATION_TIME", SortOrder="DESCENDING")
    assert [m["ModelName"] for m in newest["Models"]] == ["page-5", "page-4", "page-3"]
    with pytest.raises(ClientError) as mixed:
        dr.list_models(ModelType=RL, MaxResults=2, NextToken=first["NextToken"], SortOrder="DESCENDING")
    assert _code(mixed) == "InvalidRequestException" and "sort order" in str(mixed.value)
    with pytest.raises(ClientError) as forged:
        dr.list_models(ModelType=RL, NextToken="bm90IGEgdG9rZW4=")
    assert _code(forged) == "InvalidRequestException"


@pytest.fixture
def dr_bob(api_server: api.Server, bob: api.Key) -> Any:
    """bob's boto3 deepracer client."""
    return api.deepracer(api_server, bob)


def test_deepracer_for_cloud_import_sequence(
    dr_bob: Any, seaweed: servers.Seaweed, s3_model: Callable[..., str], wait_ready: Wait
) -> None:
    """DeepRacer-for-Cloud's old import script: page list_models(MaxResults=25) checking that the name is
    free, then import_model with ModelArtifactsS3Path='s3://bucket/prefix'."""
    dr = dr_bob
    location = s3_model(prefix="rl-deepracer-sagemaker", checkpoints=3)
    name = "drfc-model"
    names, token = [], None
    while True:
        kwargs = {"ModelType": RL, "MaxResults": 25, **({"NextToken": token} if token else {})}
        page = dr.list_models(**kwargs)
        names += [m["ModelName"] for m in page["Models"]]
        token = page.get("NextToken")
        if not token:
            break
    assert name not in names
    arn = dr.import_model(
        Type=RL,
        Name=name,
        Description="Imported from DeepRacer-for-Cloud",
        ModelArtifactsS3Path=location,
        RoleArn=seaweed.roles.read,
    )["ModelArn"]
    assert wait_ready(dr, arn)["Status"] == "READY"
    with pytest.raises(ClientError) as taken:
        _import(dr, name, location, seaweed.roles.read)
    assert _code(taken) == "ResourceAlreadyExistsException"


def test_an_errored_import_carries_the_spec_code_and_our_explanation(
    dr_bob: Any, seaweed: servers.Seaweed, s3_model: Callable[..., str], wait_ready: Wait
) -> None:
    dr = dr_bob
    location = s3_model(checkpoints=2)
    cases = {
        "err-no-role": (location, seaweed.roles.missing, "ACCOUNT_RESOURCE_DOES_NOT_EXIST"),
        "err-denied": (location, seaweed.roles.list_only, "ACCESS_DENIED_TO_BUCKET"),
        "err-no-bucket": (
            f"s3://drm-missing-{uuid.uuid4().hex[:8]}/p",
            seaweed.roles.read,
            "SRC_BUCKET_DOES_NOT_EXIST",
        ),
        "err-empty": (location + "-nothing-here", seaweed.roles.read, "FILE_DOES_NOT_EXIST"),
    }
    arns = {name: _import(dr, name, url, role) for name, (url, role, _) in cases.items()}
    for name, (_, _, code) in cases.items():
        model = wait_ready(dr, arns[name])
        assert model["Status"] == "IMPORT_ERROR"
        assert model["Error"]["ErrorCode"] == code, model
        assert set(model["Error"]) == {"ErrorCode", "Details"} and len(model["Error"]["Details"]) > 40
    assert "DrmNoSuchRole" in wait_ready(dr, arns["err-no-role"])["Error"]["Details"]


def test_requests_the_service_model_refuses(api_server: api.Server, bob: api.Key) -> None:
    """Patterns, lengths and enums come from the service model itself; a client that does not validate
    (boto3 with validation off) gets InvalidRequestException naming the member."""
    dr = api.deepracer(api_server, bob, parameter_validation=False)
    role = "arn:aws:iam::123456789012:role/r"
    refused = {
        "Name": dict(Type=RL, Name="bad name!", ModelArtifactsS3Path="s3://b/p", RoleArn=role),
        "RoleArn": dict(Type=RL, Name="ok", ModelArtifactsS3Path="s3://b/p", RoleArn="not-an-arn"),
        "Type": dict(Type="SUPERVISED", Name="ok", ModelArtifactsS3Path="s3://b/p", RoleArn=role),
        "Description": dict(
            Type=RL, Name="ok", ModelArtifactsS3Path="s3://b/p", RoleArn=role, Description="x" * 256
        ),
        "ModelArtifactsS3Path": dict(Type=RL, Name="ok", ModelArtifactsS3Path="/etc/passwd", RoleArn=role),
    }
    for member, kwargs in refused.items():
        with pytest.raises(ClientError) as caught:
            dr.import_model(**kwargs)
        assert _code(caught) == "InvalidRequestException", member
        assert str(caught.value.response["Error"]["Message"]).startswith(member), caught.value
    with pytest.raises(ClientError) as missing:
        dr.get_model()
    assert _code(missing) == "InvalidRequestException" and "ModelArn: is required" in str(missing.value)
    with pytest.raises(ClientError) as tags:
        dr.tag_resource(ResourceArn="arn:aws:deepracer:us-east-1:1:x", Tags=[{"Key": "k"}])
    assert "Tags[0].Value: is required" in str(tags.value)
    with pytest.raises(ClientError) as size:
        dr.list_models(ModelType=RL, MaxResults=0)
    assert _code(size) == "InvalidRequestException"


def test_other_operations_of_the_model_are_not_supported(api_server: api.Server, bob: api.Key) -> None:
    dr = api.deepracer(api_server, bob)
    with pytest.raises(ClientError) as caught:
        dr.list_tracks()
    assert _code(caught) == "UnsupportedOperationException"
    assert "ListTracks" in str(caught.value) and "ImportModel" in str(caught.value)
