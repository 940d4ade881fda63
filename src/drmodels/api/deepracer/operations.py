"""The operations of the DeepRacer service model this server serves, each a function of the caller and
the validated request members, returning the response members."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from starlette.datastructures import URL

from drmodels.api import paging
from drmodels.api.assets import asset_url
from drmodels.bootstrap import Services
from drmodels.errors import InvalidRequest
from drmodels.service.assets import Asset, Parts, export
from drmodels.service.models import ModelService
from drmodels.service.shapes import api_model
from drmodels.service.tags import TagService
from drmodels.service.tasks import IMPORT

PAGE_DEFAULT = PAGE_MAX = 100
"""ListModels' page size when MaxResults is absent, and at most."""

LINKS = {"MODEL_ARTIFACT": Asset.CAR, "COMPLETE_MODEL_ARTIFACT": Asset.VIRTUAL, "LOGS": Asset.LOGS}
EXPORTS = {
    "S3_PKG_MODEL": Parts.MODEL,
    "S3_PKG_MODEL_VIDEOS": Parts.MODEL,
    "S3_PKG_LOGS": Parts.LOGS,
    "S3_PKG_LOGS_VIDEOS": Parts.LOGS,
    "S3_PKG_MODEL_LOGS": Parts.ALL,
    "S3_PKG_MODEL_LOGS_VIDEOS": Parts.ALL,
}
"""GetAssetUrl's copies into the user's bucket; an imported model has no videos, so *_VIDEOS copy the rest."""


@dataclass(frozen=True)
class Caller:
    services: Services
    account_id: str
    base_url: URL

    @cached_property
    def models(self) -> ModelService:
        return ModelService(self.services.deps, self.account_id, self.services.settings.region)


Body = dict[str, Any]


def import_model(c: Caller, body: Body) -> Body:
    location: str = body["ModelArtifactsS3Path"]
    if not location.lower().startswith("s3://"):
        raise InvalidRequest(
            "ModelArtifactsS3Path",
            f"must be an S3 location, s3://BUCKET/PREFIX (the model's prefix root); got {location[:120]!r}",
        )
    accepted = c.models.accept(body["Name"], location, body.get("Description"), body["RoleArn"])
    c.services.deps.runner.submit(IMPORT, accepted.job_id)
    return {"ModelArn": accepted.arn}


def get_model(c: Caller, body: Body) -> Body:
    return {"Model": api_model(c.models.by_arn(body["ModelArn"]))}


def list_models(c: Caller, body: Body) -> Body:
    limit = body.get("MaxResults", PAGE_DEFAULT)
    if limit < 1:
        raise InvalidRequest("MaxResults", f"must be at least 1; got {limit}")
    limit = min(limit, PAGE_MAX)
    descending = body.get("SortOrder") == "DESCENDING"
    after = paging.decode(body.get("NextToken"), descending, "NextToken")
    page, more = paging.split(c.models.page(after, descending, limit + 1), limit)
    answer: Body = {"Models": [api_model(m) for m in page]}
    if more:
        answer["NextToken"] = paging.encode(page[-1], descending)
    return answer


def delete_model(c: Caller, body: Body) -> Body:
    c.models.delete_arn(body["ModelArn"])
    return {}


def get_asset_url(c: Caller, body: Body) -> Body:
    kind: str = body["AssetType"]
    if kind not in LINKS and kind not in EXPORTS:
        served = ", ".join([*LINKS, *EXPORTS])
        raise InvalidRequest(
            "AssetType",
            f"{kind}: this server keeps no videos, CloudWatch logs or RoboMaker metrics (an imported "
            f"model has none); it serves {served}",
        )
    model = c.models.by_arn(body["Arn"])
    if kind in LINKS:
        return {"Url": asset_url(c.services, str(c.base_url), c.account_id, model, LINKS[kind])}
    for needed in ("RoleArn", "ModelArtifactsS3Bucket"):
        if not body.get(needed):
            raise InvalidRequest(
                needed, f"is required for {kind}: the role and bucket to copy the model into"
            )
    prefix = str(body.get("ModelArtifactsS3Prefix") or model.name).strip("/")
    location = f"s3://{body['ModelArtifactsS3Bucket']}/{prefix}"
    count = export(c.services.deps, model, location, body["RoleArn"], EXPORTS[kind])
    return {"ProcessedFileCount": count}


def tag_resource(c: Caller, body: Body) -> Body:
    TagService(c.models).tag(body["ResourceArn"], {t["Key"]: t["Value"] for t in body["Tags"]})
    return {}


def untag_resource(c: Caller, body: Body) -> Body:
    TagService(c.models).untag(body["ResourceArn"], body["TagKeys"])
    return {}


def list_tags_for_resource(c: Caller, body: Body) -> Body:
    tags = TagService(c.models).list(body["ResourceArn"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


OPERATIONS: dict[str, Callable[[Caller, Body], Body]] = {
    "ImportModel": import_model,
    "GetModel": get_model,
    "ListModels": list_models,
    "DeleteModel": delete_model,
    "GetAssetUrl": get_asset_url,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
