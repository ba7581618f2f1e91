"""Backups of tasks and projects: ``…/backup/export``, the legacy ``GET …/backup`` (polling and
download) and ``POST /api/{tasks,projects}/backup/`` (restore, with the upload wrapper and TUS).
Two tags, so two ``Api``s (``apis``)."""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.routes import tus
from mockcvat.routes.params import CLOUD_STORAGE_ID, RQ_ID, query
from mockcvat.schemas.annotations import BackupWrite, TaskFile
from mockcvat.schemas.data import RqId
from mockcvat.services import backups

tasks_api = Api("tasks")
projects_api = Api("projects")
apis = [tasks_api, projects_api]

EXPORT_DESCRIPTION = (
    "The request `POST /api/<projects|tasks>/id/backup/export` will initialize\na background "
    "process to backup a resource. To check status of the process\nplease, use `GET "
    "/api/requests/<rq_id>` where **rq_id** is request ID returned in the response for this "
    "endpoint.\n")

BACKUP_FILENAME = query("filename", {"type": "string"}, "Backup file name")
EXPORT_LOCATION = query("location", {"type": "string", "enum": ["cloud_storage", "local"]},
                        "Where need to save downloaded backup")
IMPORT_LOCATION = query(
    "location", {"type": "string", "enum": ["cloud_storage", "local"], "default": "local"},
    "Where to import the backup file from")
DOWNLOAD = query("action", {"type": "string", "enum": ["download"]},
                 "Used to start downloading process after backup file had been created")


def _use_default_location(kind: str) -> dict[str, Any]:
    param = query("use_default_location", {"type": "boolean", "default": True},
                  f"Use the location that was configured in the {kind} to export backup")
    param["deprecated"] = True
    return param


def legacy_parameters(kind: str) -> list[dict[str, Any]]:
    return sorted([DOWNLOAD, CLOUD_STORAGE_ID, BACKUP_FILENAME, EXPORT_LOCATION,
                   _use_default_location(kind)], key=lambda p: p["name"])


EXPORT_PARAMETERS = sorted([CLOUD_STORAGE_ID, BACKUP_FILENAME, EXPORT_LOCATION],
                           key=lambda p: p["name"])
IMPORT_PARAMETERS = [*ORG_PARAMETERS[:1], *sorted(
    [CLOUD_STORAGE_ID, BACKUP_FILENAME, IMPORT_LOCATION, *ORG_PARAMETERS[1:], RQ_ID],
    key=lambda p: p["name"])]
EXPORT_REPLIES = {
    202: Reply(RqId, description="Creating a backup file has been started"),
    400: Reply(description="Wrong query parameters were passed"),
    409: Reply(description="The backup process has already been initiated and is not yet "
                           "finished"),
}
LEGACY_REPLIES = {
    200: Reply(description="Download of file started"),
    201: Reply(description="Output backup file is ready for downloading"),
    202: Reply(description="Creating a backup file has been started"),
}
IMPORT_MEDIA = ("application/json", "multipart/form-data")


# --- tasks ---------------------------------------------------------------------------------------
@tasks_api.operation(
    "GET", "/api/tasks/{id:pk}/backup", "tasks_retrieve_backup", summary="Back up a task",
    parameters=legacy_parameters("task"),
    responses={**LEGACY_REPLIES,
               400: Reply(description="Backup of a task without data is not allowed")},
)
async def tasks_retrieve_backup(ctx: Context) -> Any:
    return backups.legacy_export(ctx, "task", ctx.pk())


@tasks_api.operation(
    "POST", "/api/tasks/{id:pk}/backup/export", "tasks_create_backup_export",
    summary="Initiate process to backup resource", parameters=EXPORT_PARAMETERS, status=202,
    responses=EXPORT_REPLIES,
)
async def tasks_create_backup_export(ctx: Context) -> Any:
    return backups.start_export(ctx, "task", ctx.pk())


@tasks_api.operation(
    "POST", "/api/tasks/backup/", "tasks_create_backup",
    summary="Recreate a task from a backup", parameters=IMPORT_PARAMETERS, status=202,
    body=Body(TaskFile, media_types=IMPORT_MEDIA, required=False),
    responses={201: Reply(description="The task has been imported"),
               202: Reply(RqId, description="Importing a backup file has been started")},
)
async def tasks_create_backup(ctx: Context) -> Any:
    return await backups.receive_restore(ctx, "task")


tus.add_file_routes(tasks_api, "/api/tasks/backup/", "tasks_backup",
                    lambda ctx: backups.tus_area(ctx, "task"))


# --- projects ------------------------------------------------------------------------------------
@projects_api.operation(
    "GET", "/api/projects/{id:pk}/backup", "projects_retrieve_backup",
    summary="Back up a project", parameters=legacy_parameters("project"),
    responses=LEGACY_REPLIES,
)
async def projects_retrieve_backup(ctx: Context) -> Any:
    return backups.legacy_export(ctx, "project", ctx.pk())


@projects_api.operation(
    "POST", "/api/projects/{id:pk}/backup/export", "projects_create_backup_export",
    summary="Initiate process to backup resource", parameters=EXPORT_PARAMETERS, status=202,
    responses=EXPORT_REPLIES,
)
async def projects_create_backup_export(ctx: Context) -> Any:
    return backups.start_export(ctx, "project", ctx.pk())


@projects_api.operation(
    "POST", "/api/projects/backup/", "projects_create_backup",
    summary="Recreate a project from a backup", parameters=IMPORT_PARAMETERS, status=202,
    body=Body(BackupWrite, media_types=IMPORT_MEDIA, required=False),
    responses={201: Reply(description="The project has been imported"),
               202: Reply(RqId, description="Importing a backup file has been started")},
)
async def projects_create_backup(ctx: Context) -> Any:
    return await backups.receive_restore(ctx, "project")


tus.add_file_routes(projects_api, "/api/projects/backup/", "projects_backup",
                    lambda ctx: backups.tus_area(ctx, "project"))
