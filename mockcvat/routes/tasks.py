"""/api/tasks, their data (upload, chunks, frames, meta) and previews"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.openapi import paginated
from mockcvat.routes import annotation_routes, params, tus
from mockcvat.schemas.annotations import (
    LabeledData,
    TaskAnnotationsUpdate,
    TaskAnnotationsWrite,
)
from mockcvat.schemas.data import Data, DataMetaRead, DataMetaWrite, DataResponse
from mockcvat.schemas.rq_status import RqStatus
from mockcvat.schemas.tasks import (
    TaskRead,
    TaskValidationLayoutRead,
    TaskValidationLayoutWrite,
    TaskWrite,
)
from mockcvat.services import frames, task_data, tasks, validation

api = Api("tasks")

DATA_PARAMETERS = [
    *({"name": name, "in": "query", "required": False, "description": text, "schema": schema}
      for name, text, schema in (
          ("number", "A unique number value identifying chunk or frame",
           {"type": "integer"}),
          ("quality", "Specifies the quality level of the requested data",
           {"type": "string", "enum": ["compressed", "original"]}),
      )),
    *params.data_type(),
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
    parameters=[params.PREFER],
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
annotation_routes.add_annotation_routes(api, "task", annotation_routes.Variant(
    import_body=TaskAnnotationsWrite, update_body=TaskAnnotationsUpdate,
    update_parameters=[params.format_param(), params.RQ_ID],
    patch_reply=Reply(LabeledData),
    no_data_reply={400: Reply(description="Exporting without data is not allowed")},
))
