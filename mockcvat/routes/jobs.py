"""/api/jobs: jobs, their data, meta and previews"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.openapi import paginated
from mockcvat.routes import params, tus
from mockcvat.schemas.annotations import (
    AnnotationFile,
    AnnotationsRead,
    JobAnnotationsUpdate,
    LabeledData,
)
from mockcvat.schemas.data import DataMetaRead, RqId
from mockcvat.schemas.jobs import (
    JobDataMetaWrite,
    JobRead,
    JobValidationLayoutRead,
    JobValidationLayoutWrite,
    JobWrite,
)
from mockcvat.services import annotations, datasets, frames, jobs, validation

api = Api("jobs")

JOB_DATA_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
    for name, text, schema in (
        ("index", "A unique number value identifying chunk, starts from 0 for each job",
         {"type": "integer"}),
        ("number", "A unique number value identifying chunk or frame; the task's numbers",
         {"type": "integer"}),
        ("quality", "Specifies the quality level of the requested data",
         {"type": "string", "enum": ["compressed", "original"]}),
        ("type", "Specifies the type of the requested data",
         {"type": "string", "enum": ["chunk", "context_image", "frame"]}),
    )
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
ANNOTATION_MEDIA = ("application/json", "multipart/form-data")


@api.operation(
    "GET", "/api/jobs/{id:pk}/annotations/", "jobs_retrieve_annotations",
    summary="Get job annotations or export them as a dataset in a specific format",
    parameters=params.legacy_export(format_required=False),
    responses={200: Reply(AnnotationsRead, description="Download of file started"),
               201: Reply(description="Output file is ready for downloading"),
               202: Reply(description="Exporting has been started"),
               405: Reply(description="Format is not available")},
)
async def jobs_retrieve_annotations(ctx: Context) -> Any:
    if ctx.params.get("format") is not None:
        return datasets.legacy_export(ctx, "job", ctx.pk(), save_images=False)
    return annotations.retrieve(ctx, "job", ctx.pk())


@api.operation(
    "POST", "/api/jobs/{id:pk}/annotations/", "jobs_create_annotations",
    summary="Import annotations into a job", parameters=params.import_(),
    body=Body(AnnotationFile, media_types=ANNOTATION_MEDIA, required=False),
    responses={201: Reply(description="Uploading has finished"),
               202: Reply(RqId, description="Uploading has been started"),
               405: Reply(description="Format is not available")},
)
async def jobs_create_annotations(ctx: Context) -> Any:
    return await datasets.receive_import(ctx, "job", ctx.pk())


@api.operation(
    "PUT", "/api/jobs/{id:pk}/annotations/", "jobs_update_annotations",
    summary="Replace job annotations / Get annotation import status",
    parameters=params.import_(rq_id=True),
    body=Body(JobAnnotationsUpdate, media_types=ANNOTATION_MEDIA, required=False),
    responses={201: Reply(description="Import has finished"),
               202: Reply(description="Import is in progress"),
               405: Reply(description="Format is not available")},
)
async def jobs_update_annotations(ctx: Context) -> Any:
    if ctx.params.get("format") is not None:
        return await datasets.put_import(ctx, "job", ctx.pk())
    return annotations.replace(ctx, "job", ctx.pk(), await ctx.json())


@api.operation(
    "PATCH", "/api/jobs/{id:pk}/annotations/", "jobs_partial_update_annotations",
    summary="Update job annotations",
    parameters=[params.query("action", {"type": "string",
                                        "enum": ["create", "delete", "update"]},
                             required=True)],
    body=Body(LabeledData, partial=True, media_types=ANNOTATION_MEDIA, required=False),
    responses={200: Reply(description="Annotations successfully uploaded")},
)
async def jobs_partial_update_annotations(ctx: Context) -> Any:
    return annotations.partial_update(ctx, "job", ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/jobs/{id:pk}/annotations/", "jobs_destroy_annotations",
    summary="Delete job annotations", status=204,
    responses={204: Reply(description="The annotation has been deleted")},
)
async def jobs_destroy_annotations(ctx: Context) -> None:
    annotations.destroy(ctx, "job", ctx.pk())


@api.operation(
    "GET", "/api/jobs/{id:pk}/dataset", "jobs_retrieve_dataset",
    summary="Export job as a dataset in a specific format",
    parameters=params.legacy_export(format_required=True),
    responses={200: Reply(schema={"type": "string", "format": "binary"},
                          description="Download of file started"),
               201: Reply(description="Output file is ready for downloading"),
               202: Reply(description="Exporting has been started"),
               405: Reply(description="Format is not available")},
)
async def jobs_retrieve_dataset(ctx: Context) -> Any:
    return datasets.legacy_export(ctx, "job", ctx.pk(), save_images=True)


@api.operation(
    "POST", "/api/jobs/{id:pk}/dataset/export", "jobs_create_dataset_export",
    summary="Initialize process to export resource as a dataset in a specific format",
    parameters=params.export(with_format=True),
    responses={202: Reply(RqId, description="Exporting has been started"),
               405: Reply(description="Format is not available"),
               409: Reply(description="Exporting is already in progress")},
)
async def jobs_create_dataset_export(ctx: Context) -> Any:
    return datasets.start_export(ctx, "job", ctx.pk())



tus.add_file_routes(api, "/api/jobs/{id:pk}/annotations/", "jobs_annotations",
                    lambda ctx: datasets.tus_area(ctx, "job", ctx.pk()))


# CVAT's route also matches without the slash: the export's result_url uses that form
@api.operation("GET", "/api/jobs/{id:pk}/annotations", "jobs_retrieve_annotations_noslash",
               in_schema=False)
async def jobs_retrieve_annotations_noslash(ctx: Context) -> Any:
    return await jobs_retrieve_annotations(ctx)
