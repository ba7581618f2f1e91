"""/api/projects"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.schemas.projects import ProjectRead, ProjectWrite
from mockcvat.services import frames, projects

api = Api("projects")


@api.operation(
    "GET", "/api/projects", "projects_list", summary="List projects",
    parameters=projects.LISTING.parameters(),
    responses={200: Reply(paginated(ProjectRead))},
)
async def projects_list(ctx: Context) -> Any:
    return projects.list_projects(ctx)


@api.operation(
    "POST", "/api/projects", "projects_create", summary="Create a project",
    parameters=ORG_PARAMETERS, body=Body(ProjectWrite), status=201,
    responses={201: Reply(ProjectRead)},
)
async def projects_create(ctx: Context) -> Any:
    return projects.create(ctx, await ctx.json())


@api.operation(
    "GET", "/api/projects/{id:pk}", "projects_retrieve", summary="Get project details",
    responses={200: Reply(ProjectRead)},
)
async def projects_retrieve(ctx: Context) -> Any:
    return projects.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/projects/{id:pk}", "projects_partial_update", summary="Update a project",
    body=Body(ProjectWrite, partial=True),
    responses={200: Reply(ProjectRead)},
)
async def projects_partial_update(ctx: Context) -> Any:
    return projects.update(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/projects/{id:pk}", "projects_destroy", summary="Delete a project",
    status=204, responses={204: Reply(description="The project has been deleted")},
)
async def projects_destroy(ctx: Context) -> None:
    projects.destroy(ctx, ctx.pk())


@api.operation(
    "GET", "/api/projects/{id:pk}/preview", "projects_retrieve_preview",
    summary="Get a preview image for a project",
    responses={200: Reply(description="Project image preview"),
               404: Reply(description="Project image preview not found")},
)
async def projects_retrieve_preview(ctx: Context) -> Any:
    return frames.project_preview(ctx, ctx.pk())
