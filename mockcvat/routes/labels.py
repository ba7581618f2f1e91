"""/api/labels (labels are created through their project or task)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.schemas.labels import Label, LocalLabel
from mockcvat.services import labels

api = Api("labels")


@api.operation(
    "GET", "/api/labels", "labels_list", summary="List labels",
    parameters=sorted(labels.LISTING.parameters() + labels.OWNER_PARAMETERS,
                      key=lambda p: p["name"]),
    responses={200: Reply(paginated(Label))},
)
async def labels_list(ctx: Context) -> Any:
    return labels.list_labels(ctx)


@api.operation(
    "GET", "/api/labels/{id:pk}", "labels_retrieve", summary="Get label details",
    responses={200: Reply(Label)},
)
async def labels_retrieve(ctx: Context) -> Any:
    return labels.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/labels/{id:pk}", "labels_partial_update", summary="Update a label",
    body=Body(LocalLabel, partial=True),
    responses={200: Reply(Label)},
)
async def labels_partial_update(ctx: Context) -> Any:
    return labels.update(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/labels/{id:pk}", "labels_destroy", summary="Delete a label", status=204,
    responses={204: Reply(description="The label has been deleted")},
)
async def labels_destroy(ctx: Context) -> None:
    labels.destroy(ctx, ctx.pk())
