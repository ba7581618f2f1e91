"""/api/tasks, their data (upload, chunks, frames, meta) and previews"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.routes import params, tus
from mockcvat.schemas.annotations import (
    AnnotationsRead,
    LabeledData,
    TaskAnnotationsUpdate,
    TaskAnnotationsWrite,
)
from mockcvat.schemas.data import Data, DataMetaRead, DataMetaWrite, DataResponse, RqId
from mockcvat.schemas.rq_status import RqStatus
from mockcvat.schemas.tasks import (
    TaskRead,
    TaskValidationLayoutRead,
    TaskValidationLayoutWrite,
    TaskWrite,
)
from mockcvat.services import annotations, datasets, frames, task_data, tasks, validation

api = Api("tasks")

DATA_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
    for name, text, schema in (
        ("number", "A unique number value identifying chunk or frame",
         {"type": "integer"}),
        ("quality", "Specifies the quality level of the requested data",
         {"type": "string", "enum": ["compressed", "original"]}),
        ("type", "Specifies the type of the requested data",
         {"type": "string", "enum": ["chunk", "context_image", "frame"]}),
    )
]
UPLOAD_HEADERS = [
    {"name": name, "in": "header", "description": text, "schema": {"type": "boolean"}}
    for name, text in (
        ("Upload-Finish", "Finishes data upload"),
        ("Upload-Multiple", "Data with this request are files to attach to the task"),
        ("Upload-Start", "Initializes data upload"),
    )
]


@api.operation(
    "GET", "/api/tasks", "tasks_list", summary="List tasks",
    parameters=tasks.LISTING.parameters(),
    responses={200: Reply(paginated(TaskRead))},
)
async def tasks_list(ctx: Context) -> Any:
    return tasks.list_tasks(ctx)


@api.operation(
    "POST", "/api/tasks", "tasks_create", summary="Create a task",
    parameters=ORG_PARAMETERS, body=Body(TaskWrite), status=201,
    responses={201: Reply(TaskRead)},
)
async def tasks_create(ctx: Context) -> Any:
    return tasks.create(ctx, await ctx.json())


@api.operation(
    "GET", "/api/tasks/{id:pk}", "tasks_retrieve", summary="Get task details",
    responses={200: Reply(TaskRead)},
)
async def tasks_retrieve(ctx: Context) -> Any:
    return tasks.retrieve(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/tasks/{id:pk}", "tasks_partial_update", summary="Update a task",
    body=Body(TaskWrite, partial=True),
    responses={200: Reply(TaskRead)},
)
async def tasks_partial_update(ctx: Context) -> Any:
    return tasks.update(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/tasks/{id:pk}", "tasks_destroy", summary="Delete a task", status=204,
    responses={204: Reply(description="The task has been deleted")},
)
async def tasks_destroy(ctx: Context) -> None:
    tasks.destroy(ctx, ctx.pk())


@api.operation(
    "GET", "/api/tasks/{id:pk}/data/", "tasks_retrieve_data", summary="Get data of a task",
    parameters=DATA_PARAMETERS,
    responses={200: Reply(description="Data of a specific type")},
)
async def tasks_retrieve_data(ctx: Context) -> Any:
    return frames.read_task_data(ctx, ctx.pk())


@api.operation(
    "POST", "/api/tasks/{id:pk}/data/", "tasks_create_data", summary="Attach data to a task",
    parameters=UPLOAD_HEADERS, status=202,
    body=Body(Data, media_types=("application/json", "multipart/form-data"),
              required=False),
    responses={202: Reply(DataResponse, description="Request to attach a data to a task has "
                                                    "been accepted")},
)
async def tasks_create_data(ctx: Context) -> Any:
    return await task_data.receive(ctx, ctx.pk())


tus.add_file_routes(api, "/api/tasks/{id:pk}/data/", "tasks_data",
                    lambda ctx: task_data.tus_area(ctx, ctx.pk()))


@api.operation(
    "GET", "/api/tasks/{id:pk}/data/meta", "tasks_retrieve_data_meta",
    summary="Get metainformation for media files in a task",
    responses={200: Reply(DataMetaRead)},
)
async def tasks_retrieve_data_meta(ctx: Context) -> Any:
    return frames.task_meta(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/tasks/{id:pk}/data/meta", "tasks_partial_update_data_meta",
    summary="Update metainformation for media files in a task",
    body=Body(DataMetaWrite, partial=True),
    responses={200: Reply(DataMetaRead)},
)
async def tasks_partial_update_data_meta(ctx: Context) -> Any:
    return frames.patch_task_meta(ctx, ctx.pk(), await ctx.json())


@api.operation(
    "GET", "/api/tasks/{id:pk}/preview", "tasks_retrieve_preview",
    summary="Get a preview image for a task",
    responses={200: Reply(description="Task image preview"),
               404: Reply(description="Task image preview not found")},
)
async def tasks_retrieve_preview(ctx: Context) -> Any:
    return frames.task_preview(ctx, ctx.pk())


@api.operation(
    "GET", "/api/tasks/{id:pk}/status", "tasks_retrieve_status",
    summary="Get the creation status of a task", deprecated=True,
    responses={200: Reply(RqStatus)},
)
async def tasks_retrieve_status(ctx: Context) -> Any:
    return task_data.status(ctx, ctx.pk())


@api.operation(
    "GET", "/api/tasks/{id:pk}/validation_layout", "tasks_retrieve_validation_layout",
    summary="Allows getting current validation configuration",
    responses={200: Reply(TaskValidationLayoutRead)},
)
async def tasks_retrieve_validation_layout(ctx: Context) -> Any:
    return validation.task_layout(ctx, ctx.pk())


@api.operation(
    "PATCH", "/api/tasks/{id:pk}/validation_layout", "tasks_partial_update_validation_layout",
    summary="Allows updating current validation configuration",
    body=Body(TaskValidationLayoutWrite, partial=True),
    responses={200: Reply(TaskValidationLayoutRead)},
)
async def tasks_partial_update_validation_layout(ctx: Context) -> Any:
    return validation.patch_task_layout(ctx, ctx.pk(), await ctx.json())


# --- annotations, dataset export and annotation import ------------------------------------------
ANNOTATION_MEDIA = ("application/json", "multipart/form-data")


@api.operation(
    "GET", "/api/tasks/{id:pk}/annotations/", "tasks_retrieve_annotations",
    summary="Get task annotations or export them as a dataset in a specific format",
    parameters=params.legacy_export(format_required=False),
    responses={200: Reply(AnnotationsRead, description="Download of file started"),
               201: Reply(description="Output file is ready for downloading"),
               202: Reply(description="Exporting has been started"),
               400: Reply(description="Exporting without data is not allowed"),
               405: Reply(description="Format is not available")},
)
async def tasks_retrieve_annotations(ctx: Context) -> Any:
    if ctx.params.get("format") is not None:
        return datasets.legacy_export(ctx, "task", ctx.pk(), save_images=False)
    return annotations.retrieve(ctx, "task", ctx.pk())


@api.operation(
    "POST", "/api/tasks/{id:pk}/annotations/", "tasks_create_annotations",
    summary="Import annotations into a task", parameters=params.import_(),
    body=Body(TaskAnnotationsWrite, media_types=ANNOTATION_MEDIA, required=False),
    responses={201: Reply(description="Uploading has finished"),
               202: Reply(RqId, description="Uploading has been started"),
               405: Reply(description="Format is not available")},
)
async def tasks_create_annotations(ctx: Context) -> Any:
    return await datasets.receive_import(ctx, "task", ctx.pk())


@api.operation(
    "PUT", "/api/tasks/{id:pk}/annotations/", "tasks_update_annotations",
    summary="Replace task annotations / Get annotation import status",
    parameters=[params.format_param(), params.RQ_ID],
    body=Body(TaskAnnotationsUpdate, media_types=ANNOTATION_MEDIA, required=False),
    responses={201: Reply(description="Import has finished"),
               202: Reply(description="Import is in progress"),
               405: Reply(description="Format is not available")},
)
async def tasks_update_annotations(ctx: Context) -> Any:
    if ctx.params.get("format") is not None:
        return await datasets.put_import(ctx, "task", ctx.pk())
    return annotations.replace(ctx, "task", ctx.pk(), await ctx.json())


@api.operation(
    "PATCH", "/api/tasks/{id:pk}/annotations/", "tasks_partial_update_annotations",
    summary="Update task annotations",
    parameters=[params.query("action", {"type": "string",
                                        "enum": ["create", "delete", "update"]},
                             required=True)],
    body=Body(LabeledData, partial=True, media_types=ANNOTATION_MEDIA, required=False),
    responses={200: Reply(LabeledData)},
)
async def tasks_partial_update_annotations(ctx: Context) -> Any:
    return annotations.partial_update(ctx, "task", ctx.pk(), await ctx.json())


@api.operation(
    "DELETE", "/api/tasks/{id:pk}/annotations/", "tasks_destroy_annotations",
    summary="Delete task annotations", status=204,
    responses={204: Reply(description="The annotation has been deleted")},
)
async def tasks_destroy_annotations(ctx: Context) -> None:
    annotations.destroy(ctx, "task", ctx.pk())


@api.operation(
    "GET", "/api/tasks/{id:pk}/dataset", "tasks_retrieve_dataset",
    summary="Export task as a dataset in a specific format",
    parameters=params.legacy_export(format_required=True),
    responses={200: Reply(schema={"type": "string", "format": "binary"},
                          description="Download of file started"),
               201: Reply(description="Output file is ready for downloading"),
               202: Reply(description="Exporting has been started"),
               400: Reply(description="Exporting without data is not allowed"),
               405: Reply(description="Format is not available")},
)
async def tasks_retrieve_dataset(ctx: Context) -> Any:
    return datasets.legacy_export(ctx, "task", ctx.pk(), save_images=True)


@api.operation(
    "POST", "/api/tasks/{id:pk}/dataset/export", "tasks_create_dataset_export",
    summary="Initialize process to export resource as a dataset in a specific format",
    parameters=params.export(with_format=True),
    responses={202: Reply(RqId, description="Exporting has been started"),
               405: Reply(description="Format is not available"),
               409: Reply(description="Exporting is already in progress")},
)
async def tasks_create_dataset_export(ctx: Context) -> Any:
    return datasets.start_export(ctx, "task", ctx.pk())



tus.add_file_routes(api, "/api/tasks/{id:pk}/annotations/", "tasks_annotations",
                    lambda ctx: datasets.tus_area(ctx, "task", ctx.pk()))


# CVAT's route also matches without the slash: the export's result_url uses that form
@api.operation("GET", "/api/tasks/{id:pk}/annotations", "tasks_retrieve_annotations_noslash",
               in_schema=False)
async def tasks_retrieve_annotations_noslash(ctx: Context) -> Any:
    return await tasks_retrieve_annotations(ctx)
