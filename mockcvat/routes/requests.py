"""/api/requests (looked up by their rq_id string)"""

from __future__ import annotations

from typing import Any

from starlette.convertors import Convertor, register_url_convertor

from mockcvat.api import Api, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.schemas.requests import RequestRead
from mockcvat.services import requests

api = Api("requests")


class RqIdConvertor(Convertor[str]):
    """DRF's default lookup (``[^/.]+``), as a string path parameter: an rq_id (percent-decoded
    by the server) never holds ``/`` or ``.``; a path that does is Django's 404 page."""

    regex = "[^/.]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("rqid", RqIdConvertor())
ITEM = "/api/requests/{id:rqid}"


def rq_id(ctx: Context) -> str:
    return str(ctx.request.path_params["id"])


@api.operation(
    "GET", "/api/requests", "requests_list", summary="List requests",
    parameters=requests.REQUESTS.parameters(),
    responses={200: Reply(paginated(RequestRead))},
)
async def requests_list(ctx: Context) -> Any:
    return requests.list_requests(ctx)


@api.operation(
    "GET", ITEM, "requests_retrieve", summary="Get request details",
    responses={200: Reply(RequestRead)},
)
async def requests_retrieve(ctx: Context) -> Any:
    return requests.retrieve_request(ctx, rq_id(ctx))


@api.operation(
    "POST", ITEM + "/cancel", "requests_create_cancel", summary="Cancel request",
    responses={200: Reply(description="The request has been cancelled")},
)
async def requests_create_cancel(ctx: Context) -> Any:
    return requests.cancel_request(ctx, rq_id(ctx))
