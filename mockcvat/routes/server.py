"""/api/server"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Context, Reply
from mockcvat.schemas.server import About, DatasetFormats, FileInfo, Plugins
from mockcvat.services import server

api = Api("server")


@api.operation(
    "GET", "/api/server/about", "server_retrieve_about", summary="Get basic CVAT information",
    public=True, schema_public=False, responses={200: Reply(About)},
)
async def server_retrieve_about(ctx: Context) -> Any:
    return server.about(ctx)


@api.operation(
    "GET", "/api/server/annotation/formats", "server_retrieve_annotation_formats",
    summary="Get supported annotation formats", responses={200: Reply(DatasetFormats)},
)
async def server_retrieve_annotation_formats(ctx: Context) -> Any:
    return server.annotation_formats(ctx)


@api.operation(
    "GET", "/api/server/plugins", "server_retrieve_plugins", summary="Get enabled plugins",
    responses={200: Reply(Plugins)},
)
async def server_retrieve_plugins(ctx: Context) -> Any:
    return server.plugins(ctx)


@api.operation(
    "GET", "/api/server/share", "server_list_share",
    summary="List files/directories in the mounted share",
    parameters=[
        {"in": "query", "name": "directory", "schema": {"type": "string"},
         "description": "Directory to browse"},
        {"in": "query", "name": "search", "schema": {"type": "string"},
         "description": "Search for specific files"},
    ],
    responses={200: Reply(FileInfo, many=True)},
)
async def server_list_share(ctx: Context) -> Any:
    return server.list_share(ctx)
