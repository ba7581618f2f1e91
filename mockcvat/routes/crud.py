"""The list/create/retrieve/partial_update/destroy operations of a plain CVAT model viewset
(issues, comments, guides), registered once for any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS, Listing
from mockcvat.openapi import paginated
from mockcvat.schemas.fields import Serializer


@dataclass(frozen=True)
class Model:
    """One viewset: its names (``issue``/``issues``), serializers and service functions; a
    ``listing`` adds the list operation; ``org_create``: the create documents the org
    parameters (CVAT's ``ORGANIZATION_OPEN_API_PARAMETERS``; guides have none)."""

    noun: str
    plural: str
    read: type[Serializer]
    write: type[Serializer]
    create: Callable[[Context, Any], Any]
    retrieve: Callable[[Context, int], Any]
    update: Callable[[Context, int, Any], Any]
    destroy: Callable[[Context, int], None]
    listing: Listing | None = None
    list_: Callable[[Context], Any] | None = None
    org_create: bool = True

    @property
    def a(self) -> str:
        return "an" if self.noun[0] in "aeiou" else "a"


def _has_required(serializer: type[Serializer]) -> bool:
    """drf-spectacular marks a request body required when its serializer has a required
    field (a guide's has none)."""
    return any(f.required and not f.read_only for f in serializer.fields.values())


def add_crud_routes(api: Api, path: str, model: Model) -> None:
    tag, item = api.tag, path + "/{id:pk}"
    if model.listing is not None and model.list_ is not None:
        list_ = model.list_

        @api.operation("GET", path, f"{tag}_list", summary=f"List {model.plural}",
                       parameters=model.listing.parameters(),
                       responses={200: Reply(paginated(model.read))})
        async def list_handler(ctx: Context) -> Any:
            return list_(ctx)

    @api.operation("POST", path, f"{tag}_create", summary=f"Create {model.a} {model.noun}",
                   parameters=ORG_PARAMETERS if model.org_create else [],
                   body=Body(model.write, required=_has_required(model.write)), status=201,
                   responses={201: Reply(model.read)})
    async def create(ctx: Context) -> Any:
        return model.create(ctx, await ctx.json())

    @api.operation("GET", item, f"{tag}_retrieve", summary=f"Get {model.noun} details",
                   responses={200: Reply(model.read)})
    async def retrieve(ctx: Context) -> Any:
        return model.retrieve(ctx, ctx.pk())

    @api.operation("PATCH", item, f"{tag}_partial_update",
                   summary=f"Update {model.a} {model.noun}",
                   body=Body(model.write, partial=True), responses={200: Reply(model.read)})
    async def partial_update(ctx: Context) -> Any:
        return model.update(ctx, ctx.pk(), await ctx.json())

    @api.operation("DELETE", item, f"{tag}_destroy", summary=f"Delete {model.a} {model.noun}",
                   status=204,
                   responses={204: Reply(description=f"The {model.noun} has been deleted")})
    async def destroy(ctx: Context) -> None:
        model.destroy(ctx, ctx.pk())
