"""The TUS file endpoints (``PATCH``/``HEAD <upload endpoint>/<uuid>``) CVAT serves next to
every endpoint that takes uploads, outside its schema. One registration serves them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockcvat import uploads
from mockcvat.api import Api, Context

AreaOf = Callable[[Context], uploads.UploadArea]


def add_file_routes(api: Api, endpoint: str, name: str, area_of: AreaOf) -> None:
    """``endpoint`` is the upload endpoint's path template (ending in ``/``); ``area_of``
    checks the caller's permission and returns the upload area the files go to."""
    path = endpoint + "{file_id:uuid}"

    async def patch(ctx: Context) -> Any:
        return await uploads.tus_patch(ctx.request, area_of(ctx), _file_id(ctx))

    async def head(ctx: Context) -> Any:
        return uploads.tus_head(area_of(ctx), _file_id(ctx))

    api.operation("PATCH", path, f"{name}_tus_patch", in_schema=False, negotiate=False)(patch)
    api.operation("HEAD", path, f"{name}_tus_head", in_schema=False, negotiate=False)(head)


def _file_id(ctx: Context) -> str:
    return str(ctx.request.path_params["file_id"])
