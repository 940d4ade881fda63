"""DeepRacer on AWS's model routes: POST /importmodel, GET /models, GET|DELETE /models/{modelId},
GET /models/{modelId}/getasset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from drmodels.api import paging
from drmodels.api.assets import asset_url
from drmodels.api.errors import AnsweredRoute
from drmodels.api.rest.auth import Caller, caller
from drmodels.api.rest.schemas import (
    AssetType,
    GetAssetUrlOutput,
    GetModelOutput,
    ImportModelInput,
    ImportModelOutput,
    ListModelsOutput,
)
from drmodels.errors import InvalidRequest
from drmodels.service.assets import Asset
from drmodels.service.shapes import rest_model
from drmodels.service.tasks import IMPORT

PAGE = 50
"""Models per page of GET /models."""
ASSETS = {
    "VIRTUAL_MODEL": Asset.VIRTUAL,
    "PHYSICAL_CAR_MODEL": Asset.CAR,
    "TRAINING_LOGS": Asset.LOGS,
    "EVALUATION_LOGS": Asset.LOGS,
}
"""An imported model's logs are the ones it came with: both log types give them."""

ModelId = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,64}$", description="The model's id.")]
Signed = Annotated[Caller, Depends(caller)]

router = APIRouter(tags=["models"], route_class=AnsweredRoute)


@router.post("/importmodel", operation_id="ImportModel", response_model_exclude_none=True)
async def import_model(body: ImportModelInput, c: Signed) -> ImportModelOutput:
    """Import a model from s3://s3Bucket/s3Path: through `roleArn` when given, else with the server's own
    credentials from its upload bucket (DRMODELS_UPLOAD_BUCKET)."""

    def run() -> str:
        if body.roleArn is None:
            upload = c.services.settings.upload_bucket
            if upload is None:
                raise InvalidRequest(
                    "roleArn", "this server has no upload bucket (DRMODELS_UPLOAD_BUCKET): give roleArn"
                )
            if body.s3Bucket != upload:
                raise InvalidRequest(
                    "s3Bucket", f"without roleArn, models are read from the upload bucket {upload!r} only"
                )
        source = f"s3://{body.s3Bucket}/{body.s3Path.lstrip('/')}"
        accepted = c.models.accept(body.modelName, source, body.modelDescription, body.roleArn)
        c.services.deps.runner.submit(IMPORT, accepted.job_id)
        return accepted.model_id

    return ImportModelOutput(modelId=await run_in_threadpool(run))


@router.get("/models", operation_id="ListModels", response_model_exclude_none=True)
async def list_models(
    c: Signed, token: Annotated[str | None, Query(max_length=2000, description="The page to read.")] = None
) -> ListModelsOutput:
    """The account's models, oldest first, a page at a time."""

    def run() -> ListModelsOutput:
        after = paging.decode(token, False, "token")
        page, more = paging.split(c.models.page(after, False, PAGE + 1), PAGE)
        return ListModelsOutput.model_validate(
            {
                "models": [rest_model(m) for m in page],
                "token": paging.encode(page[-1], False) if more else None,
            }
        )

    return await run_in_threadpool(run)


@router.get("/models/{modelId}", operation_id="GetModel", response_model_exclude_none=True)
async def get_model(modelId: ModelId, c: Signed) -> GetModelOutput:
    return await run_in_threadpool(
        lambda: GetModelOutput.model_validate({"model": rest_model(c.models.by_id(modelId))})
    )


@router.delete("/models/{modelId}", operation_id="DeleteModel", status_code=200)
async def delete_model(modelId: ModelId, c: Signed) -> dict[str, str]:
    """Delete the model and its stored files (refused while its import runs)."""

    def run() -> None:
        c.models.delete_arn(c.models.by_id(modelId).arn)

    await run_in_threadpool(run)
    return {}


@router.get("/models/{modelId}/getasset", operation_id="GetAssetUrl", response_model_exclude_none=True)
async def get_asset_url(
    modelId: ModelId,
    assetType: Annotated[AssetType, Query(description="What to download.")],
    c: Signed,
    request: Request,
    evaluationId: Annotated[str | None, Query(max_length=64)] = None,
) -> GetAssetUrlOutput:
    """A time-limited link to download the asset."""
    if assetType not in ASSETS:
        raise InvalidRequest(
            "assetType", f"{assetType}: this server keeps no videos (an imported model has none)"
        )

    def run() -> str:
        model = c.models.by_id(modelId)
        return asset_url(c.services, str(request.base_url), c.account_id, model, ASSETS[assetType])

    return GetAssetUrlOutput(url=await run_in_threadpool(run), status="READY")
