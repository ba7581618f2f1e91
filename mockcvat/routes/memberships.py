"""/api/memberships (made by creating organizations and by invitations; no POST)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.schemas.organizations import MembershipRead, MembershipWrite
from mockcvat.services import organizations

api = Api("memberships")


@api.operation(
    "GET", "/api/memberships", "memberships_list", summary="List memberships",
    parameters=organizations.MEMBERSHIPS.parameters(),
    responses={200: Reply(paginated(MembershipRead))},
)
async def memberships_list(ctx: Context) -> Any:
    return organizations.list_memberships(ctx)


@api.operation(
    "GET", "/api/memberships/{id:pk}", "memberships_retrieve", summary="Get membership details",
    responses={200: Reply(MembershipRead)},
)
async def memberships_retrieve(ctx: Context) -> Any:
    return organizations.retrieve_membership(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/memberships/{id:pk}", "memberships_partial_update",
    summary="Update a membership",
    body=Body(MembershipWrite, partial=True),
    responses={200: Reply(MembershipRead)},
)
async def memberships_partial_update(ctx: Context) -> Any:
    return organizations.update_membership(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/memberships/{id:pk}", "memberships_destroy", summary="Delete a membership",
    status=204,
    responses={204: Reply(description="The membership has been deleted")},
)
async def memberships_destroy(ctx: Context) -> None:
    organizations.destroy_membership(ctx, ctx.pk())
