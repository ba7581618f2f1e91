"""/api/cloudstorages"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.compat import NO_GOOGLE_DRIVE
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.routes.params import query
from mockcvat.schemas.cloudstorages import (
    PROVIDER_TYPES,
    CloudStorageContent,
    CloudStorageRead,
    CloudStorageWrite,
)
from mockcvat.services import cloudstorages

api = Api("cloudstorages")
FORMS = ("application/json", "multipart/form-data")  # key_file is a file field
STRING = {"type": "string"}


async def cloudstorages_list(ctx: Context) -> Any:
    return cloudstorages.list_storages(ctx)


# the provider_type filter's enum follows ProviderTypeEnum, which lost GOOGLE_DRIVE
for since, until, choices in ((None, NO_GOOGLE_DRIVE, [v for v, _ in PROVIDER_TYPES]),
                              (NO_GOOGLE_DRIVE, None, [v for v, _ in PROVIDER_TYPES
                                                       if v != "GOOGLE_DRIVE"])):
    api.operation(
        "GET", "/api/cloudstorages", "cloudstorages_list", summary="List cloud storages",
        parameters=cloudstorages.listing_of(choices).parameters(), since=since, until=until,
        responses={200: Reply(paginated(CloudStorageRead))},
    )(cloudstorages_list)


@api.operation(
    "POST", "/api/cloudstorages", "cloudstorages_create", summary="Create a cloud storage",
    parameters=ORG_PARAMETERS, body=Body(CloudStorageWrite, media_types=FORMS), status=201,
    responses={201: Reply(CloudStorageRead)},
)
async def cloudstorages_create(ctx: Context) -> Any:
    return await cloudstorages.create(ctx)


@api.operation(
    "GET", "/api/cloudstorages/{id:pk}", "cloudstorages_retrieve",
    summary="Get cloud storage details", responses={200: Reply(CloudStorageRead)},
)
async def cloudstorages_retrieve(ctx: Context) -> Any:
    return cloudstorages.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/cloudstorages/{id:pk}", "cloudstorages_partial_update",
    summary="Update a cloud storage",
    body=Body(CloudStorageWrite, partial=True, media_types=FORMS, required=False),
    responses={200: Reply(CloudStorageRead)},
)
async def cloudstorages_partial_update(ctx: Context) -> Any:
    return await cloudstorages.partial_update(ctx, ctx.pk())


@api.operation(
    "DELETE", "/api/cloudstorages/{id:pk}", "cloudstorages_destroy",
    summary="Delete a cloud storage", status=204,
    responses={204: Reply(description="The cloud storage has been removed")},
)
async def cloudstorages_destroy(ctx: Context) -> None:
    cloudstorages.destroy(ctx, ctx.pk())


@api.operation(
    "GET", "/api/cloudstorages/{id:pk}/actions", "cloudstorages_retrieve_actions",
    summary="Get allowed actions for a cloud storage",
    responses={200: Reply(schema=STRING,
                          description="Cloud Storage actions (GET | PUT | DELETE)")},
)
async def cloudstorages_retrieve_actions(ctx: Context) -> Any:
    return cloudstorages.actions(ctx, ctx.pk())


@api.operation(
    "GET", "/api/cloudstorages/{id:pk}/content-v2", "cloudstorages_retrieve_content_v2",
    summary="Get cloud storage content",
    parameters=[
        query("manifest_path", STRING, "Path to the manifest file in a cloud storage"),
        query("next_token", STRING, "Used to continue listing files in the bucket"),
        query("page_size", {"type": "integer"}),
        query("prefix", STRING, "Prefix to filter data"),
    ],
    responses={200: Reply(CloudStorageContent, description="A manifest content")},
)
async def cloudstorages_retrieve_content_v2(ctx: Context) -> Any:
    return cloudstorages.content(ctx, ctx.pk())


@api.operation(
    "GET", "/api/cloudstorages/{id:pk}/preview", "cloudstorages_retrieve_preview",
    summary="Get a preview image for a cloud storage",
    responses={200: Reply(description="Cloud Storage preview"),
               400: Reply(description="Failed to get cloud storage preview"),
               404: Reply(description="Cloud Storage preview not found")},
)
async def cloudstorages_retrieve_preview(ctx: Context) -> Any:
    return cloudstorages.preview(ctx, ctx.pk())


@api.operation(
    "GET", "/api/cloudstorages/{id:pk}/status", "cloudstorages_retrieve_status",
    summary="Get the status of a cloud storage",
    responses={200: Reply(schema=STRING,
                          description="Cloud Storage status (AVAILABLE | NOT_FOUND | FORBIDDEN)")},
)
async def cloudstorages_retrieve_status(ctx: Context) -> Any:
    return cloudstorages.status(ctx, ctx.pk())
