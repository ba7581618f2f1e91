"""/api/organizations"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.schemas.organizations import OrganizationRead, OrganizationWrite
from mockcvat.services import organizations

api = Api("organizations")


@api.operation(
    "GET", "/api/organizations", "organizations_list", summary="List organizations",
    parameters=organizations.ORGANIZATIONS.parameters(),
    responses={200: Reply(paginated(OrganizationRead))},
)
async def organizations_list(ctx: Context) -> Any:
    return organizations.list_organizations(ctx)


@api.operation(
    "POST", "/api/organizations", "organizations_create", summary="Create an organization",
    body=Body(OrganizationWrite), status=201,
    responses={201: Reply(OrganizationRead)},
)
async def organizations_create(ctx: Context) -> Any:
    return organizations.create_organization(ctx, await ctx.json())


@api.operation(
    "GET", "/api/organizations/{id:pk}", "organizations_retrieve",
    summary="Get organization details",
    responses={200: Reply(OrganizationRead)},
)
async def organizations_retrieve(ctx: Context) -> Any:
    return organizations.retrieve_organization(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/organizations/{id:pk}", "organizations_partial_update",
    summary="Update an organization",
    body=Body(OrganizationWrite, partial=True),
    responses={200: Reply(OrganizationRead)},
)
async def organizations_partial_update(ctx: Context) -> Any:
    return organizations.update_organization(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/organizations/{id:pk}", "organizations_destroy",
    summary="Delete an organization", status=204,
    responses={204: Reply(description="The organization has been deleted")},
)
async def organizations_destroy(ctx: Context) -> None:
    organizations.destroy_organization(ctx, ctx.pk())
