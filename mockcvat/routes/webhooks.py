"""/api/webhooks"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS, VersionedChoices
from mockcvat.openapi import paginated
from mockcvat.routes import params
from mockcvat.schemas.webhooks import (
    REQUEST_EVENTS,
    SERVER_WEBHOOKS,
    EventsGrouped,
    EventsPlain,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookWrite,
    webhook_types,
)
from mockcvat.services import webhooks

api = Api("webhooks")


class DigitsConvertor(Convertor[str]):
    """An ``@action`` url_path group ``(?P<x>\\d+)``: anything else matches no route."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("digits", DigitsConvertor())
ITEM = "/api/webhooks/{id:pk}"
DELIVERY = ITEM + "/deliveries/{delivery_id:digits}"


# the events' ``type`` parameter lists its values from the release with server webhooks
TYPE_PARAMETER = params.query("type", {"type": "string", "enum": VersionedChoices(
    lambda: (*webhook_types(), "all") if compat.current().has(since=SERVER_WEBHOOKS) else ())},
    "Type of webhook")


def delivery_id(ctx: Context) -> str:
    return str(ctx.request.path_params["delivery_id"])


@api.operation(
    "GET", "/api/webhooks", "webhooks_list", summary="List webhooks",
    parameters=webhooks.LISTING.parameters(),
    responses={200: Reply(paginated(WebhookRead))},
)
async def webhooks_list(ctx: Context) -> Any:
    return webhooks.list_webhooks(ctx)


@api.operation(
    "POST", "/api/webhooks", "webhooks_create", summary="Create a webhook",
    parameters=ORG_PARAMETERS, body=Body(WebhookWrite), status=201,
    responses={201: Reply(WebhookRead)},
)
async def webhooks_create(ctx: Context) -> Any:
    return webhooks.create(ctx, await ctx.json())


@api.operation(
    "GET", "/api/webhooks/events", "webhooks_retrieve_events",
    summary="List available webhook events",
    parameters=[TYPE_PARAMETER],
    responses={200: Reply(EventsPlain)}, until=REQUEST_EVENTS,
)
async def webhooks_retrieve_events(ctx: Context) -> Any:
    return webhooks.events(ctx)


api.operation(
    "GET", "/api/webhooks/events", "webhooks_retrieve_events",
    summary="List available webhook events",
    parameters=[TYPE_PARAMETER],
    responses={200: Reply(EventsGrouped)}, since=REQUEST_EVENTS,
)(webhooks_retrieve_events)


@api.operation(
    "GET", ITEM, "webhooks_retrieve", summary="Get webhook details",
    responses={200: Reply(WebhookRead)},
)
async def webhooks_retrieve(ctx: Context) -> Any:
    return webhooks.retrieve(ctx, ctx.pk())


@api.operation(
    "PUT", ITEM, "webhooks_update", summary="Replace a webhook", body=Body(WebhookWrite),
    responses={200: Reply(WebhookRead)},
)
async def webhooks_update(ctx: Context) -> Any:
    return webhooks.update(ctx, ctx.pk(), await ctx.json(), partial=False)


@api.operation(
    "PATCH", ITEM, "webhooks_partial_update", summary="Update a webhook",
    body=Body(WebhookWrite, partial=True), responses={200: Reply(WebhookRead)},
)
async def webhooks_partial_update(ctx: Context) -> Any:
    return webhooks.update(ctx, ctx.pk(), await ctx.json(), partial=True)


@api.operation(
    "DELETE", ITEM, "webhooks_destroy", summary="Delete a webhook", status=204,
    responses={204: Reply(description="The webhook has been deleted")},
)
async def webhooks_destroy(ctx: Context) -> None:
    webhooks.destroy(ctx, ctx.pk())


@api.operation(
    "GET", ITEM + "/deliveries", "webhooks_list_deliveries",
    summary="List deliveries for a webhook",
    parameters=webhooks.DELIVERIES.parameters(),
    responses={200: Reply(paginated(WebhookDeliveryRead))},
)
async def webhooks_list_deliveries(ctx: Context) -> Any:
    return webhooks.list_deliveries(ctx, ctx.pk())


@api.operation(
    "GET", DELIVERY, "webhooks_retrieve_deliveries",
    summary="Get details of a webhook delivery",
    responses={200: Reply(WebhookDeliveryRead)},
)
async def webhooks_retrieve_deliveries(ctx: Context) -> Any:
    return webhooks.retrieve_delivery(ctx, ctx.pk(), delivery_id(ctx))


@api.operation(
    "POST", DELIVERY + "/redelivery", "webhooks_create_deliveries_redelivery",
    summary="Redeliver a webhook delivery",
    responses={200: Reply(description="No response body")},
)
async def webhooks_create_deliveries_redelivery(ctx: Context) -> Any:
    return webhooks.redeliver(ctx, ctx.pk(), delivery_id(ctx))


@api.operation(
    "POST", ITEM + "/ping", "webhooks_create_ping", summary="Send a ping webhook",
    responses={200: Reply(WebhookDeliveryRead)},
)
async def webhooks_create_ping(ctx: Context) -> Any:
    # the POST to the receiver must not stall the server's event loop
    return await run_in_threadpool(webhooks.ping, ctx, ctx.pk())
