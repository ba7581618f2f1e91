"""/api/assets (files of annotation guides, looked up by uuid)"""

from __future__ import annotations

from typing import Any

from starlette.convertors import register_url_convertor

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.http import PkConvertor
from mockcvat.schemas.guides import ASSET_FORM, ASSET_FORM_WITH_GUIDE, AssetRead
from mockcvat.services import guides

api = Api("assets")

# DRF's lookup pattern, so a malformed uuid reaches the view (a JSON 404, as in CVAT)
register_url_convertor("uuidpk", PkConvertor())
ITEM = "/api/assets/{uuid:uuidpk}"


def uuid_of(ctx: Context) -> str:
    return str(ctx.request.path_params["uuid"])


async def assets_create(ctx: Context) -> Any:
    return await guides.create_asset(ctx)


for form, bounds in ((ASSET_FORM, {"until": compat.ASSET_FORM_GUIDE_ID}),
                     (ASSET_FORM_WITH_GUIDE, {"since": compat.ASSET_FORM_GUIDE_ID})):
    api.operation(
        "POST", "/api/assets", "assets_create", summary="Create an asset", status=201,
        body=Body(schema=form, media_types=("multipart/form-data",),
                  required="required" in form),
        responses={201: Reply(AssetRead)}, **bounds,
    )(assets_create)


@api.operation(
    "GET", ITEM, "assets_retrieve", summary="Get an asset",
    responses={200: Reply(description="Asset file")},
    public=True, schema_public=False,  # anonymous callers get 401, or the file of a public guide
)
async def assets_retrieve(ctx: Context) -> Any:
    return guides.retrieve_asset(ctx, uuid_of(ctx))


@api.operation(
    "DELETE", ITEM, "assets_destroy", summary="Delete an asset", status=204,
    responses={204: Reply(description="The asset has been deleted")},
)
async def assets_destroy(ctx: Context) -> None:
    guides.destroy_asset(ctx, uuid_of(ctx))
