"""/api/users"""

from __future__ import annotations

from typing import Any

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply, versioned
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.schemas.users import MetaUser, User
from mockcvat.services import users

api = Api("users")


@api.operation(
    "GET", "/api/users", "users_list", summary="List users",
    parameters=users.LISTING.parameters(),
    responses={200: Reply(paginated(MetaUser))},
)
async def users_list(ctx: Context) -> Any:
    return users.list_users(ctx)


# registered before /api/users/{id}, as CVAT's router lists the `self` action first
@api.operation(
    "GET", "/api/users/self", "users_retrieve_self", summary="Get details of the current user",
    responses={200: Reply(MetaUser)},
)
async def users_retrieve_self(ctx: Context) -> Any:
    return users.retrieve(ctx, None)


@api.operation(
    "GET", "/api/users/{id:pk}", "users_retrieve", summary="Get user details",
    # cvat-sdk 2.80 documents the org context (which the view's permission check always read)
    parameters=[versioned(p, since=compat.RELEASE_2_80) for p in ORG_PARAMETERS],
    responses={200: Reply(MetaUser)},
)
async def users_retrieve(ctx: Context) -> Any:
    return users.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/users/{id:pk}", "users_partial_update", summary="Update a user",
    body=Body(User, partial=True),
    responses={200: Reply(MetaUser)},
)
async def users_partial_update(ctx: Context) -> Any:
    return users.update(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/users/{id:pk}", "users_destroy", summary="Delete a user", status=204,
    responses={204: Reply(description="The user has been deleted")},
)
async def users_destroy(ctx: Context) -> None:
    users.destroy(ctx, ctx.pk())
