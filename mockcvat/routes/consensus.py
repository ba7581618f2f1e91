"""/api/consensus: settings and merges (2.80; ``compat.CONSENSUS_API``)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.background import NEW_REQUEST_IDS
from mockcvat.compat import CONSENSUS_API
from mockcvat.openapi import paginated
from mockcvat.routes import params
from mockcvat.schemas.data import RqId
from mockcvat.schemas.quality import ConsensusMergeCreate, ConsensusSettings
from mockcvat.services import consensus

api = Api("consensus")
SETTINGS_ITEM = "/api/consensus/settings/{id:pk}"


FAILED = Reply(description="Invalid or failed request, check the response data for details")


@api.operation("POST", "/api/consensus/merges", "consensus_create_merge", since=CONSENSUS_API,
               until=NEW_REQUEST_IDS, status=202, summary="Create a consensus merge",
               parameters=[params.query("rq_id", {"type": "string"},
                                        "The consensus merge request id. Can be specified to "
                                        "check operation status.")],
               body=Body(ConsensusMergeCreate, required=False),
               responses={201: Reply(description="No response body"), 202: Reply(RqId),
                          400: FAILED})
async def consensus_create_merge(ctx: Context) -> Any:
    return consensus.create_merge(ctx, await ctx.json())


api.operation("POST", "/api/consensus/merges", "consensus_create_merge",
              since=NEW_REQUEST_IDS, status=202, summary="Create a consensus merge",
              body=Body(ConsensusMergeCreate, required=False),
              responses={202: Reply(RqId), 400: FAILED})(consensus_create_merge)


@api.operation("GET", "/api/consensus/settings", "consensus_list_settings",
               since=CONSENSUS_API, summary="List consensus settings instances",
               parameters=consensus.LISTING.parameters(),
               responses={200: Reply(paginated(ConsensusSettings))})
async def consensus_list_settings(ctx: Context) -> Any:
    return consensus.list_settings(ctx)


@api.operation("GET", SETTINGS_ITEM, "consensus_retrieve_settings", since=CONSENSUS_API,
               summary="Get consensus settings instance details",
               responses={200: Reply(ConsensusSettings)})
async def consensus_retrieve_settings(ctx: Context) -> Any:
    return consensus.retrieve_settings(ctx, ctx.pk())


@api.operation("PATCH", SETTINGS_ITEM, "consensus_partial_update_settings",
               since=CONSENSUS_API, summary="Update a consensus settings instance",
               body=Body(ConsensusSettings, partial=True, required=False),
               responses={200: Reply(ConsensusSettings)})
async def consensus_partial_update_settings(ctx: Context) -> Any:
    return consensus.update_settings(ctx, ctx.pk(), await ctx.json())
