"""Backups of tasks and projects: ``…/backup/export``, the legacy ``GET …/backup`` (polling and
download) and ``POST /api/{tasks,projects}/backup/`` (restore, with the upload wrapper and TUS).
Two tags, so two ``Api``s (``apis``)."""

from __future__ import annotations

from typing import Any

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply, versioned
from mockcvat.errors import gone_for_export_api
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.routes import tus
from mockcvat.routes.params import CLOUD_STORAGE_ID, RQ_ID, query
from mockcvat.schemas.annotations import BackupWrite, ProjectFile, TaskFile
from mockcvat.schemas.data import RqId
from mockcvat.schemas.fields import Serializer
from mockcvat.services import backups

tasks_api = Api("tasks")
projects_api = Api("projects")
apis = [tasks_api, projects_api]

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


EXPORT_PARAMETERS = sorted(
    [CLOUD_STORAGE_ID, BACKUP_FILENAME, EXPORT_LOCATION,
     versioned(query("lightweight", {"type": "boolean", "default": True},
                     "Makes a lightweight backup (without media files) for tasks whose media "
                     "is located in cloud storage"), since=compat.LIGHTWEIGHT_BACKUPS)],
    key=lambda p: p["name"])
IMPORT_PARAMETERS = [*ORG_PARAMETERS[:1], *sorted(
    [CLOUD_STORAGE_ID, BACKUP_FILENAME, IMPORT_LOCATION, *ORG_PARAMETERS[1:],
     versioned(RQ_ID, until=compat.NO_LEGACY_IMPORTS)],
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


def add_backup_routes(api: Api, kind: str, restore_bodies: tuple[type[Serializer], ...],
                      no_data_reply: dict[int, Reply]) -> None:
    """The three backup operations of one kind (and the TUS file endpoints of its restore
    uploads); tasks differ from projects only in the restore body (until 2.38, then the
    second one) and a documented 400."""

    async def retrieve_backup(ctx: Context) -> Any:
        return backups.legacy_export(ctx, kind, ctx.pk())

    async def retrieve_backup_gone(ctx: Context) -> Any:
        # PR 9075: an action without get_object(), so no lookup (and no 404) first
        raise gone_for_export_api(f"/api/{kind}s/id/backup/export")

    async def create_backup_export(ctx: Context) -> Any:
        return backups.start_export(ctx, kind, ctx.pk())

    async def create_backup(ctx: Context) -> Any:
        return await backups.receive_restore(ctx, kind)

    async def download_backup(ctx: Context) -> Any:
        return backups.download(ctx, kind, ctx.pk())

    api.operation(
        "GET", f"/api/{kind}s/{{id:pk}}/backup", f"{kind}s_retrieve_backup",
        summary=f"Back up a {kind}", parameters=legacy_parameters(kind),
        responses={**LEGACY_REPLIES, **no_data_reply}, until=compat.EXPORT_DOWNLOAD_ENDPOINT,
    )(retrieve_backup)
    api.operation("GET", f"/api/{kind}s/{{id:pk}}/backup", f"{kind}s_retrieve_backup_gone",
                  in_schema=False, since=compat.EXPORT_DOWNLOAD_ENDPOINT)(retrieve_backup_gone)
    # private (excluded from CVAT's schema): the result_url of backups from 2.32
    api.operation("GET", f"/api/{kind}s/{{id:pk}}/backup/download", f"{kind}s_download_backup",
                  in_schema=False, since=compat.EXPORT_DOWNLOAD_ENDPOINT)(download_backup)
    api.operation(
        "POST", f"/api/{kind}s/{{id:pk}}/backup/export", f"{kind}s_create_backup_export",
        summary="Initiate process to backup resource", parameters=EXPORT_PARAMETERS,
        status=202, responses=EXPORT_REPLIES,
    )(create_backup_export)
    api.operation(
        "POST", f"/api/{kind}s/backup/", f"{kind}s_create_backup",
        summary=f"Recreate a {kind} from a backup", parameters=IMPORT_PARAMETERS, status=202,
        body=(Body(restore_bodies[0], media_types=IMPORT_MEDIA, required=False,
                   until=compat.NO_LEGACY_IMPORTS),
              Body(restore_bodies[-1], media_types=IMPORT_MEDIA, required=False)),
        responses={201: Reply(description=f"The {kind} has been imported",
                              until=compat.NO_LEGACY_IMPORTS),
                   202: Reply(RqId, description="Importing a backup file has been started")},
    )(create_backup)
    tus.add_file_routes(api, f"/api/{kind}s/backup/", f"{kind}s_backup",
                        lambda ctx: backups.tus_area(ctx, kind))


add_backup_routes(tasks_api, "task", (TaskFile,),
                  {400: Reply(description="Backup of a task without data is not allowed")})
add_backup_routes(projects_api, "project", (BackupWrite, ProjectFile), {})
