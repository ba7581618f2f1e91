"""/api/growth (CVAT 2.74+; the id is documented as a string)"""

from __future__ import annotations

from typing import Any

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.schemas.growth import UserGrowthData
from mockcvat.services import growth

api = Api("growth")
ITEM = "/api/growth/{id}"


def id_of(ctx: Context) -> str:
    return str(ctx.request.path_params["id"])


@api.operation(
    "GET", "/api/growth", "growth_list", summary="List growth data",
    parameters=growth.LISTING.parameters(), responses={200: Reply(paginated(UserGrowthData))},
    since=compat.GROWTH,
)
async def growth_list(ctx: Context) -> Any:
    return growth.list_growth(ctx)


@api.operation(
    "GET", ITEM, "growth_retrieve", summary="Get growth data",
    responses={200: Reply(UserGrowthData)}, since=compat.GROWTH,
)
async def growth_retrieve(ctx: Context) -> Any:
    return growth.retrieve(ctx, id_of(ctx))


@api.operation(
    "PATCH", ITEM, "growth_partial_update", summary="Update growth data",
    body=Body(UserGrowthData, partial=True), responses={200: Reply(UserGrowthData)},
    since=compat.GROWTH,
)
async def growth_partial_update(ctx: Context) -> Any:
    return growth.update(ctx, id_of(ctx), await ctx.json())
