"""/api/projects"""

from __future__ import annotations

from typing import Any

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply, versioned
from mockcvat.errors import gone_for_export_api
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.routes import params, tus
from mockcvat.schemas.annotations import AnnotationsRead, DatasetFile, DatasetWrite
from mockcvat.schemas.data import RqId
from mockcvat.schemas.projects import ProjectRead, ProjectWrite
from mockcvat.services import datasets, frames, projects

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
    parameters=[params.PREFER],
    responses={200: Reply(description="Project image preview"),
               404: Reply(description="Project image preview not found")},
)
async def projects_retrieve_preview(ctx: Context) -> Any:
    return frames.project_preview(ctx, ctx.pk())


# --- dataset export and import ------------------------------------------------------------------
@api.operation(
    "GET", "/api/projects/{id:pk}/annotations", "projects_retrieve_annotations",
    summary="Export project annotations as a dataset",
    parameters=params.legacy_export(format_required=True),
    responses={200: Reply(AnnotationsRead, description="Download of file started"),
               201: Reply(description="Annotations file is ready to download"),
               202: Reply(description="Dump of annotations has been started"),
               401: Reply(description="Format is not specified"),
               405: Reply(description="Format is not available")},
    until=compat.EXPORT_DOWNLOAD_ENDPOINT,
)
async def projects_retrieve_annotations(ctx: Context) -> Any:
    return datasets.project_annotations(ctx, ctx.pk())


@api.operation("GET", "/api/projects/{id:pk}/annotations", "projects_retrieve_annotations_gone",
               in_schema=False, since=compat.EXPORT_DOWNLOAD_ENDPOINT)
async def projects_retrieve_annotations_gone(ctx: Context) -> Any:
    # PR 9075: an action without get_object(), so no lookup (and no 404) first
    raise gone_for_export_api("/api/projects/id/dataset/export?save_images=False")


# ``GET …/dataset/``: the legacy export and import status check until 2.32; then only the
# (deprecated) status check, and from 2.38 (out of the schema) 410s for both
_IMPORT_STATUS = params.query("action", {"type": "string", "enum": ["import_status"]},
                              "Used to check the import status")
_LEGACY_DATASET_QUERY = [
    *params.until([p for p in params.legacy_export(format_required=False)
                   if p["name"] != "action"]
                  + [params.query("action", {"type": "string",
                                             "enum": ["download", "import_status"]},
                                  "Used to start downloading process locally after "
                                  "annotation file has been created"), params.RQ_ID],
                  compat.EXPORT_DOWNLOAD_ENDPOINT),
    *params.since([params.CLOUD_STORAGE_ID, params.FILENAME, params.format_param(),
                   params.LOCATION, _IMPORT_STATUS,
                   params.query("rq_id", {"type": "string"}, "rq id", required=True)],
                  compat.EXPORT_DOWNLOAD_ENDPOINT),
]


@api.operation(
    "GET", "/api/projects/{id:pk}/dataset/", "projects_retrieve_dataset",
    summary="Export a project as a dataset / Check dataset import status",
    parameters=params.by_name(_LEGACY_DATASET_QUERY),
    responses={200: Reply(schema={"type": "string", "format": "binary"},
                          description="Download of file started",
                          until=compat.EXPORT_DOWNLOAD_ENDPOINT),
               201: Reply(description="Output file is ready for downloading"),
               202: Reply(description="Exporting has been started"),
               405: Reply(description="Format is not available")},
    until=compat.NO_LEGACY_IMPORTS,
)
async def projects_retrieve_dataset(ctx: Context) -> Any:
    return datasets.project_dataset(ctx, ctx.pk())


# CVAT's route also matches without the slash: the export's result_url uses that form
@api.operation("GET", "/api/projects/{id:pk}/dataset", "projects_retrieve_dataset_noslash",
               in_schema=False)
async def projects_retrieve_dataset_noslash(ctx: Context) -> Any:
    return datasets.project_dataset(ctx, ctx.pk())


@api.operation("GET", "/api/projects/{id:pk}/dataset/", "projects_retrieve_dataset_gone",
               in_schema=False, since=compat.NO_LEGACY_IMPORTS)
async def projects_retrieve_dataset_gone(ctx: Context) -> Any:
    return datasets.project_dataset(ctx, ctx.pk())


@api.operation(
    "POST", "/api/projects/{id:pk}/dataset/", "projects_create_dataset",
    summary="Import a dataset into a project",
    parameters=[p if p["name"] != "use_default_location" else
                versioned(p, until=compat.NO_LEGACY_IMPORTS) for p in params.import_()],
    body=(Body(DatasetWrite, media_types=("application/json", "multipart/form-data"),
               required=False, until=compat.NO_LEGACY_IMPORTS),
          Body(DatasetFile, media_types=("application/json", "multipart/form-data"),
               required=False)),
    status=202,
    responses={202: Reply(RqId, description="Importing has been started"),
               400: Reply(description="Failed to import dataset"),
               405: Reply(description="Format is not available")},
)
async def projects_create_dataset(ctx: Context) -> Any:
    return await datasets.receive_project_import(ctx, ctx.pk())


tus.add_file_routes(api, "/api/projects/{id:pk}/dataset/", "projects_dataset",
                    lambda ctx: datasets.project_tus_area(ctx, ctx.pk()))


@api.operation(
    "POST", "/api/projects/{id:pk}/dataset/export", "projects_create_dataset_export",
    summary="Initialize process to export resource as a dataset in a specific format",
    parameters=params.export(with_format=True),
    responses={202: Reply(RqId, description="Exporting has been started"),
               405: Reply(description="Format is not available"),
               409: Reply(description="Exporting is already in progress")},
)
async def projects_create_dataset_export(ctx: Context) -> Any:
    return datasets.start_export(ctx, "project", ctx.pk())


# private (excluded from CVAT's schema): the result_url of exports from 2.32
@api.operation("GET", "/api/projects/{id:pk}/dataset/download", "projects_download_dataset",
               in_schema=False, since=compat.EXPORT_DOWNLOAD_ENDPOINT)
async def projects_download_dataset(ctx: Context) -> Any:
    return datasets.download(ctx, "project", ctx.pk())
