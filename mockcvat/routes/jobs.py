"""/api/jobs: jobs, their data, meta and previews"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply, versioned
from mockcvat.openapi import paginated
from mockcvat.routes import annotation_routes, params
from mockcvat.schemas.annotations import (
    AnnotationFile,
    JobAnnotationsUpdate,
)
from mockcvat.schemas.data import DataMetaRead
from mockcvat.schemas.jobs import (
    JobDataMetaWrite,
    JobRead,
    JobValidationLayoutRead,
    JobValidationLayoutWrite,
    JobWrite,
)
from mockcvat.services import frames, jobs, validation

api = Api("jobs")

JOB_DATA_PARAMETERS = [
    *({"name": name, "in": "query", "required": False, "description": text, "schema": schema}
      for name, text, schema in (
          ("index", "A unique number value identifying chunk, starts from 0 for each job",
           {"type": "integer"}),
          ("number", "A unique number value identifying chunk or frame; the task's numbers",
           {"type": "integer"}),
          ("quality", "Specifies the quality level of the requested data",
           {"type": "string", "enum": ["compressed", "original"]}),
      )),
    *params.data_type(),
]


@api.operation(
    "GET", "/api/jobs", "jobs_list", summary="List jobs",
    parameters=jobs.LISTING.parameters(),
    responses={200: Reply(paginated(JobRead))},
)
async def jobs_list(ctx: Context) -> Any:
    return jobs.list_jobs(ctx)


@api.operation(
    "GET", "/api/jobs/{id:pk}", "jobs_retrieve", summary="Get job details",
    responses={200: Reply(JobRead)},
)
async def jobs_retrieve(ctx: Context) -> Any:
    return jobs.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/jobs/{id:pk}", "jobs_partial_update", summary="Update a job",
    body=Body(JobWrite, partial=True),
    responses={200: Reply(JobRead)},
)
async def jobs_partial_update(ctx: Context) -> Any:
    return jobs.update(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/jobs/{id:pk}", "jobs_destroy", summary="Delete a job", status=204,
    responses={204: Reply(description="The job has been deleted")},
)
async def jobs_destroy(ctx: Context) -> None:
    jobs.destroy(ctx, ctx.pk())


@api.operation(
    "GET", "/api/jobs/{id:pk}/data", "jobs_retrieve_data", summary="Get data of a job",
    parameters=JOB_DATA_PARAMETERS,
    responses={200: Reply(schema={"type": "string", "format": "binary"},
                          description="Data of a specific type")},
)
async def jobs_retrieve_data(ctx: Context) -> Any:
    return frames.read_job_data(ctx, ctx.pk())


@api.operation(
    "GET", "/api/jobs/{id:pk}/data/meta", "jobs_retrieve_data_meta",
    summary="Get metainformation for media files in a job",
    responses={200: Reply(DataMetaRead)},
)
async def jobs_retrieve_data_meta(ctx: Context) -> Any:
    return frames.job_meta(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/jobs/{id:pk}/data/meta", "jobs_partial_update_data_meta",
    summary="Update metainformation for media files in a job",
    body=Body(JobDataMetaWrite, partial=True),
    responses={200: Reply(DataMetaRead)},
)
async def jobs_partial_update_data_meta(ctx: Context) -> Any:
    return frames.patch_job_meta(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "GET", "/api/jobs/{id:pk}/preview", "jobs_retrieve_preview",
    summary="Get a preview image for a job",
    parameters=[params.PREFER],
    responses={200: Reply(description="Job image preview")},
)
async def jobs_retrieve_preview(ctx: Context) -> Any:
    return frames.job_preview(ctx, ctx.pk())


@api.operation(
    "POST", "/api/jobs", "jobs_create", summary="Create a job", status=201,
    body=Body(JobWrite),
    responses={201: Reply(JobRead)},
)
async def jobs_create(ctx: Context) -> Any:
    return validation.create_job(ctx, await ctx.json())


@api.operation(
    "GET", "/api/jobs/{id:pk}/validation_layout", "jobs_retrieve_validation_layout",
    summary="Allows getting current validation configuration",
    responses={200: Reply(JobValidationLayoutRead)},
)
async def jobs_retrieve_validation_layout(ctx: Context) -> Any:
    return validation.job_layout(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/jobs/{id:pk}/validation_layout", "jobs_partial_update_validation_layout",
    summary="Allows updating current validation configuration",
    body=Body(JobValidationLayoutWrite, partial=True),
    responses={200: Reply(JobValidationLayoutRead)},
)
async def jobs_partial_update_validation_layout(ctx: Context) -> Any:
    return validation.patch_job_layout(ctx, ctx.pk(), await ctx.json())


# --- annotations, dataset export and annotation import ------------------------------------------
annotation_routes.add_annotation_routes(api, "job", annotation_routes.Variant(
    import_body=AnnotationFile, update_body=JobAnnotationsUpdate,
    # cvat-sdk 2.31: the PUT loses use_default_location (its import never read it)
    update_parameters=[p if p["name"] != "use_default_location" else
                       versioned(p, until="2.31.0") for p in params.import_(rq_id=True)],
    patch_reply=Reply(description="Annotations successfully uploaded"),
    no_data_reply={},
))
