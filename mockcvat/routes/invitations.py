"""/api/invitations (looked up by their string key)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.schemas.organizations import AcceptInvitationRead, InvitationRead, InvitationWrite
from mockcvat.services import invitations

api = Api("invitations")
KEY = "/api/invitations/{key:str}"


def key(ctx: Context) -> str:
    return str(ctx.request.path_params["key"])


@api.operation(
    "GET", "/api/invitations", "invitations_list", summary="List invitations",
    parameters=invitations.INVITATIONS.parameters(),
    responses={200: Reply(paginated(InvitationRead))},
)
async def invitations_list(ctx: Context) -> Any:
    return invitations.list_invitations(ctx)


@api.operation(
    "POST", "/api/invitations", "invitations_create", summary="Create an invitation",
    parameters=ORG_PARAMETERS, body=Body(InvitationWrite), status=201,
    responses={201: Reply(InvitationRead)},
)
async def invitations_create(ctx: Context) -> Any:
    return invitations.create_invitation(ctx, await ctx.json())


@api.operation(
    "GET", KEY, "invitations_retrieve", summary="Get invitation details",
    responses={200: Reply(InvitationRead)},
)
async def invitations_retrieve(ctx: Context) -> Any:
    return invitations.retrieve_invitation(ctx, key(ctx))


@api.operation(
    "PATCH", KEY, "invitations_partial_update", summary="Update an invitation",
    body=Body(InvitationWrite, partial=True),
    responses={200: Reply(InvitationRead)},
    until="2.70.0",  # cvat-sdk 2.70 has no such operation
)
async def invitations_partial_update(ctx: Context) -> Any:
    return invitations.update_invitation(ctx, key(ctx), await ctx.json())


@api.operation(
    "DELETE", KEY, "invitations_destroy", summary="Delete an invitation", status=204,
    responses={204: Reply(description="The invitation has been deleted")},
)
async def invitations_destroy(ctx: Context) -> None:
    invitations.destroy_invitation(ctx, key(ctx))


@api.operation(
    "POST", KEY + "/accept", "invitations_accept", summary="Accept an invitation",
    responses={
        200: Reply(AcceptInvitationRead, description="The invitation is accepted"),
        400: Reply(description="The invitation is expired or already accepted"),
    },
)
async def invitations_accept(ctx: Context) -> Any:
    return invitations.accept_invitation(ctx, key(ctx))


@api.operation(
    "POST", KEY + "/decline", "invitations_decline", summary="Decline an invitation",
    status=204,
    responses={204: Reply(description="The invitation has been declined")},
)
async def invitations_decline(ctx: Context) -> None:
    invitations.decline_invitation(ctx, key(ctx))


@api.operation(
    "POST", KEY + "/resend", "invitations_resend", summary="Resend an invitation", status=204,
    responses={
        204: Reply(description="Invitation has been sent"),
        400: Reply(description="The invitation is already accepted"),
    },
)
async def invitations_resend(ctx: Context) -> None:
    invitations.resend_invitation(ctx, key(ctx))
