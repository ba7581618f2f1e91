"""Task and project backups (CVAT 2.26's ``cvat/apps/engine/backup.py``, ``background.py:
BackupExportManager`` and the ``export_backup``/``import_backup`` views).

Export is a background request that writes CVAT's archive (``task.json``, ``annotations.json``,
``data/``; projects: ``project.json`` and ``task_<i>/``) into a cache file per object and user;
``result_url`` is the legacy ``GET …/backup`` with ``action=download``, which serves the file
once, to the user who asked, then forgets the request (CVAT deletes the RQ job). The legacy GET
without ``action`` keeps CVAT's polling protocol (202 while running, 201 when ready).

Restore is a background request (``import:<task|project>-<uuid>-backup``) that reads the archive,
creates the task (or the project and its tasks) with its labels, runs the normal data
processing (``task_data.process``) with the saved parameters, then puts back the GT job, the
jobs' ``status`` and the annotations. Anything that fails deletes what the request created.
The archive is never trusted: entry names are checked (no absolute paths, no ``..``), sizes
and counts are capped, and the JSON files are validated before anything is written.

Annotation guides travel as CVAT's do: ``annotation_guide.md`` (asset links rewritten to
archive paths) and ``assets/`` beside the task's or project's manifest. Issues and comments do
not: CVAT's backups leave them out.

Not reproduced: cloud-storage locations, GT pools (the mock refuses them at task creation),
and CVAT's single transaction — a restored task exists,
without data, while its media is processed (it is deleted again if the restore fails).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from mockcvat import background, compat, iam, uploads
from mockcvat.errors import (
    APIError,
    BadRequestBody,
    ValidationFailed,
    gone_when_checking_process_status,
)
from mockcvat.http import CvatJSONResponse, PlainResponse, content_disposition
from mockcvat.media.model import RAW_DIR
from mockcvat.models import AnnotationGuide, Data, Job, Label, Project, Segment, Task
from mockcvat.models.users import utcnow
from mockcvat.services import (
    annotations,
    cloudstorages,
    exports,
    guides,
    labels,
    projects,
    task_data,
    tasks,
    validation,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

VERSION = "1.0"
TASK_MANIFEST = "task.json"
PROJECT_MANIFEST = "project.json"
ANNOTATIONS_FILE = "annotations.json"
DATA_DIR = "data"
MEDIA_MANIFEST_INDEX = "index.json"  # never exported, ignored on restore
TASK_DIR_RE = re.compile(r"task_(\d+)/")

# what a restore accepts from an archive (CVAT has no caps; a test fake must not be a zip bomb)
MAX_ENTRIES = 100_000
MAX_TOTAL_BYTES = 4 << 30  # uncompressed, all entries
MAX_JSON_BYTES = 256 << 20  # one task.json / annotations.json / project.json

NO_SUCH_EXPORT = ("Unknown export request id. Please request export first by sending a request "
                  "without the action=download parameter.")
EXPORT_CONFLICT = "Export request is being processed"  # _handle_rq_job_v2 (2.26)
NO_DATA = "Backup of a task without data is not allowed"


class UnsupportedByMock(APIError):
    status_code = 400


# --- where things live ---------------------------------------------------------------------------
def export_key(kind: str, pk: int, user_id: int) -> str:
    """The finished backup of one object for one user (the rq_id names both), in the media
    store."""
    return f"backups/{kind}-{pk}-backup-by-{user_id}.zip"


def upload_area(mock: MockCVAT, kind: str, user_id: int) -> uploads.UploadArea:
    """Where a user's backup uploads arrive (CVAT: its tmp dir, names made unique)."""
    return mock.upload_area(f"{kind}-backup-by-{user_id}")


# --- export ---------------------------------------------------------------------------------------
def _load(ctx: Context, db: Session, kind: str, pk: int, scope: str) -> Task | Project:
    if kind == "task":
        return tasks.load(ctx, db, pk, scope)
    return projects.load(ctx, db, pk, scope)


def _check_location(ctx: Context) -> str:
    location = ctx.params.get("location") or "local"
    if location == "cloud_storage":
        raise UnsupportedByMock(
            ["Exporting a backup to a cloud storage is not supported by mockcvat"])
    return location


def _result_url(ctx: Context, kind: str, pk: int) -> str:
    """``make_result_url``: the legacy GET with the request's query and ``action=download``."""
    query = [(k, v) for k, v in ctx.params.multi_items() if k != "action"]
    return (ctx.absolute(f"/api/{kind}s/{pk}/backup") + "?"
            + urlencode([*query, ("action", "download")]))


def _export_work(ctx: Context, kind: str, obj: Task | Project,
                 cloud: int | None = None) -> background.Work:
    """``cloud``: the storage the backup goes to (under ``filename``, or its generated name)."""
    pk, user_id = obj.id or 0, ctx.user.id or 0
    name = ctx.params.get("filename") or backup_file_name(kind, obj)  # fixed at enqueue
    return background.Work(
        action="export", target=kind, target_id=pk, subresource="backup",
        owner_id=user_id, organization_id=obj.organization_id,
        project_id=obj.project_id if isinstance(obj, Task) else pk,
        task_id=pk if kind == "task" else None,
        lightweight=_lightweight(ctx), conflict_message=EXPORT_CONFLICT,
        job="backups.export", args={"ctx": ctx.freeze(), "kind": kind, "pk": pk,
                                    "cloud": cloud, "name": name})


@background.job("backups.export")
def _export(mock: MockCVAT, reporter: background.Reporter, ctx: dict[str, Any], kind: str,
            pk: int, cloud: int | None, name: str) -> background.Result:
    context = background.thaw(mock, ctx)
    result_url = exports.result_url_maker(context, kind, pk, "backup",
                                          lambda: _result_url(context, kind, pk))
    with mock.temp_dir() as tmp:
        archive = Path(tmp) / "backup.zip"
        write_backup(mock, kind, pk, archive)
        if cloud is not None:
            cloudstorages.upload(mock, cloud, name, archive)
            return background.Result(result_url=None)
        exports.store(mock, export_key(kind, pk, context.user.id or 0), archive, name)
    return background.Result(result_url=result_url(reporter.rq_id))


def _lightweight(ctx: Context) -> bool | None:
    """``?lightweight=`` (2.44+; unknown before): no media of tasks whose data is in a cloud
    storage. mockcvat has no such tasks, so it changes the request, not the archive."""
    raw = ctx.params.get("lightweight")
    if raw is None or not ctx.mock.compat.has(since=compat.LIGHTWEIGHT_BACKUPS):
        return None
    return raw.strip().lower() in ("true", "yes", "on", "1", "t", "y")


def start_export(ctx: Context, kind: str, pk: int) -> Any:
    """``POST /api/{tasks,projects}/{id}/backup/export``: 202 ``{rq_id}``; 409 while the same
    user's export of the object is queued or started. No check for a task without data: the
    request fails in the worker, as in CVAT."""
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "export:backup")
        bucket = cloudstorages.location(ctx, db, obj.target_storage_id, obj.organization_id,
                                        source=False)
    rq_id = ctx.mock.background.submit(
        _export_work(ctx, kind, obj, bucket.id if bucket is not None else None))
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


def download(ctx: Context, kind: str, pk: int) -> Any:
    """``GET /api/{tasks,projects}/{id}/backup/download?rq_id=`` (2.32+)."""
    with ctx.mock.db.session() as db:
        _load(ctx, db, kind, pk, "export:backup")

    def locate(view: Any) -> str:
        return export_key(kind, pk, view.owner_id)

    return exports.download(ctx, "backup", exports.is_export_of(kind, pk, ("backup",)), locate)


def legacy_export(ctx: Context, kind: str, pk: int) -> Any:
    """``GET /api/{tasks,projects}/{id}/backup``: start, poll (202/201) or download."""
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "export:backup")
        if kind == "task" and not obj.data_id:  # type: ignore[union-attr]
            return PlainResponse(NO_DATA, 400)
        name = backup_file_name(kind, obj)
    action = ctx.params.get("action")
    if action not in (None, "download"):
        raise ValidationFailed([f"Unexpected action '{action}' specified for the request"])
    location = ctx.params.get("location") or "local"
    work = _export_work(ctx, kind, obj)
    engine = ctx.mock.background
    rq_id = engine.rq_id_for(work)
    view = engine.get(rq_id, poll=True)
    if view is None:
        if action == "download":
            return PlainResponse(NO_SUCH_EXPORT, 400)
        _check_location(ctx)
        return CvatJSONResponse({"rq_id": engine.submit(work)}, status_code=202)
    if action == "download":
        if location != "local":
            return PlainResponse(
                'Action "download" is only supported for a local backup location', 400)
        if view.status in background.ACTIVE:
            return PlainResponse("Backup export has not been finished yet", 400)
    if view.status == "failed":
        engine.forget(rq_id)
        return CvatJSONResponse(view.message, status_code=500)
    if view.status in background.ACTIVE:
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
    key = export_key(kind, pk, ctx.user.id or 0)
    if not ctx.mock.media.exists(key):
        return CvatJSONResponse("The export result is not found", status_code=500)
    if action != "download":
        return Response(status_code=201)
    # served once: the next download finds no request, as in CVAT
    answer = exports.serve_once(ctx.mock, key, lambda _stored: content_disposition(
        ctx.params.get("filename") or name))
    engine.forget(rq_id)
    return answer


def backup_file_name(kind: str, obj: Task | Project) -> str:
    """``build_backup_file_name``: ``{task|project}_{name}_backup_{updated}.zip``, lowercase."""
    stamp = obj.updated_date.strftime("%Y_%m_%d_%H_%M_%S")
    return f"{kind}_{obj.name}_backup_{stamp}.zip".lower()


# --- writing the archive ------------------------------------------------------------------------
def write_backup(mock: MockCVAT, kind: str, pk: int, target: Path) -> None:
    """Writes the archive next to ``target``, then moves it there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mock.tmp_dir.mkdir(parents=True, exist_ok=True)  # a killed process leaves nothing beside
    handle, temporary = tempfile.mkstemp(dir=mock.tmp_dir, suffix=".part")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:  # ZIP_STORED, as CVAT writes it
            if kind == "task":
                _write_task(mock, archive, pk, prefix="")
            else:
                _write_project(mock, archive, pk)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _compact(value: Any) -> bytes:
    """DRF's ``JSONRenderer``: compact separators, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _labels_meta(db: Session, owner_condition: Any) -> list[dict[str, Any]]:
    """Top-level labels as ``_prepare_label_meta`` keeps them (sublabels nested; skeleton
    drawings with ``data-label-name``)."""
    rows = list(db.execute(select(Label).where(owner_condition, Label.parent_id.is_(None))
                           .order_by(Label.id)).scalars())
    out = []
    for payload in labels.payloads(db, rows):
        svg = payload.get("svg") or ""
        sublabels = []
        for sub in payload.get("sublabels") or []:
            svg = svg.replace(f'data-label-id="{sub["id"]}"', f'data-label-name="{sub["name"]}"')
            sublabels.append({"name": sub["name"], "color": sub["color"],
                              "attributes": [_attribute_meta(a) for a in sub["attributes"]],
                              "type": sub["type"]})
        out.append({"name": payload["name"], "color": payload["color"],
                    "attributes": [_attribute_meta(a) for a in payload["attributes"]],
                    "type": payload["type"], "svg": svg, "sublabels": sublabels})
    return out


def _attribute_meta(attribute: dict[str, Any]) -> dict[str, Any]:
    return {key: attribute[key] for key in
            ("name", "mutable", "input_type", "default_value", "values")}


def _write_task(mock: MockCVAT, archive: zipfile.ZipFile, task_id: int, prefix: str) -> None:
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        if task is None:
            raise background.RequestFailed(
                "rest_framework.exceptions.ValidationError: "
                "[ErrorDetail(string='Such a task does not exist', code='invalid')]\n")
        data = db.get(Data, task.data_id) if task.data_id else None
        if data is None:  # TaskExporter.export_to reads task.data.storage_method
            raise AttributeError("'NoneType' object has no attribute 'storage_method'")
        if data.storage == "cloud_storage":
            raise NotImplementedError(
                "We don't currently support backing up tasks with data from cloud storage")
        if data.storage_method == "file_system" and data.storage == "share":
            raise Exception(  # noqa: TRY002 (CVAT's own exception type)
                "The task cannot be exported because it does not contain any raw data")
        owner = (Label.project_id == task.project_id) if task.project_id else (
            Label.task_id == task.id)
        meta: dict[str, Any] = {
            "name": task.name, "bug_tracker": task.bug_tracker, "status": task.status,
            "subset": task.subset, "labels": _labels_meta(db, owner)}
        if task.consensus_replicas > 0:
            meta["consensus_replicas"] = task.consensus_replicas
        meta["version"] = VERSION
        rows = db.execute(
            select(Job, Segment).join(Segment, Segment.id == Job.segment_id)
            .where(Job.task_id == task_id).order_by(Job.id)).all()
        manifest = task_data.frame_store(mock, data.id or 0).manifest \
            if data.size else None
        frame_names = [f.name for f in manifest.frames] if manifest is not None else []
        data_meta: dict[str, Any] = {
            "chunk_size": data.chunk_size, "image_quality": data.image_quality,
            "start_frame": data.start_frame, "stop_frame": data.stop_frame,
            "frame_filter": data.frame_filter, "storage_method": data.storage_method,
            "storage": data.storage, "sorting_method": data.sorting_method,
            "chunk_type": data.compressed_chunk_type,
            "deleted_frames": list(data.deleted_frames or [])}
        if not data_meta["frame_filter"]:
            del data_meta["frame_filter"]
        custom = task.segment_size == 0
        if custom:
            data_meta["custom_segments"] = True
        meta["data"] = data_meta
        jobs_meta = []
        for job, segment in rows:
            entry: dict[str, Any] = {
                "status": job.status, "type": job.type, "start_frame": segment.start_frame,
                "stop_frame": segment.stop_frame, "frames": list(segment.frames or [])}
            if custom and segment.type == "range":
                entry["files"] = frame_names[segment.start_frame:segment.stop_frame + 1]
            jobs_meta.append(entry)
        meta["jobs"] = jobs_meta
        book = annotations.LabelBook(db, task)
        names = _names(db, book)
        job_annotations = [_named(annotations.read_job(db, job.id or 0, book), names)
                           for job, _ in rows]
    _write_media(mock, archive, data.id or 0, manifest, prefix)
    archive.writestr(prefix + TASK_MANIFEST, _compact(meta))
    archive.writestr(prefix + ANNOTATIONS_FILE, _compact(job_annotations))
    with mock.db.session() as db:
        guides.write_to_backup(mock, db, archive, AnnotationGuide.task_id == task_id, prefix)


def _write_media(mock: MockCVAT, archive: zipfile.ZipFile, data_id: int, manifest: Any,
                 prefix: str) -> None:
    """``data/``: the media as received (archives extracted), the task's frames first in frame
    order (so a restore with predefined or random sorting gets the same order back), then the
    other files (frames outside start/stop/step, context images). Nothing derived."""
    raw = f"{task_data.data_key(data_id)}{RAW_DIR}/"
    present = sorted(key[len(raw):] for key in mock.media.walk(raw))
    first = [n for n in dict.fromkeys(manifest.source_paths if manifest is not None else [])
             if n in set(present)]
    for name in [*first, *(n for n in present if n not in set(first))]:
        info = mock.media.head(raw + name)
        stamp = (info.last_modified or dt.datetime.now(dt.UTC)).astimezone()
        entry = zipfile.ZipInfo(f"{prefix}{DATA_DIR}/{name}", stamp.timetuple()[:6])
        with archive.open(entry, "w") as out:
            for piece in mock.media.iter_bytes(raw + name):
                out.write(piece)


def _names(db: Session, book: annotations.LabelBook) -> dict[str, dict[int, str]]:
    """Label id -> name and attribute spec id -> name (``_get_label_mapping``)."""
    return {
        "labels": {pk: label.name for pk, label in book.labels.items()},
        "specs": {spec.id or 0: spec.name for specs in book.specs.values() for spec in specs},
    }


KEPT = ("type", "occluded", "outside", "z_order", "rotation", "points", "frame", "group",
        "source", "attributes", "shapes", "elements",
        "score", "start", "stop")  # shapes' score (2.56+), intervals (2.66+)


def _named(data: dict[str, Any], names: dict[str, dict[int, str]]) -> dict[str, Any]:
    """``_prepare_annotations``: ids dropped, ``label_id`` -> ``label`` (name), attribute
    ``spec_id`` -> ``name``."""

    def item(obj: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in KEPT:
            if key not in obj:
                continue
            value = obj[key]
            if key == "attributes":
                value = [{"value": a["value"], "name": names["specs"].get(a["spec_id"], "")}
                         for a in value]
            elif key in ("shapes", "elements"):
                value = [item(child) for child in value]
            out[key] = value
        if "label_id" in obj:
            out["label"] = names["labels"].get(obj["label_id"], "")
        return out

    return {"version": 0, **{kind: [item(obj) for obj in data.get(kind, [])]
                             for kind in annotations.kinds()}}


def _write_project(mock: MockCVAT, archive: zipfile.ZipFile, project_id: int) -> None:
    with mock.db.session() as db:
        project = db.get(Project, project_id)
        if project is None:
            raise background.RequestFailed(
                "rest_framework.exceptions.ValidationError: "
                "[ErrorDetail(string='Such a project does not exist', code='invalid')]\n")
        meta = {"name": project.name, "bug_tracker": project.bug_tracker,
                "status": project.status,
                "labels": _labels_meta(db, Label.project_id == project_id),
                "version": VERSION}
        task_rows = list(db.execute(select(Task.id, Task.data_id).where(
            Task.project_id == project_id).order_by(Task.id)))
        guides.write_to_backup(mock, db, archive, AnnotationGuide.project_id == project_id, "")
    archive.writestr(PROJECT_MANIFEST, _compact(meta))
    for index, (task_id, data_id) in enumerate(task_rows):
        if data_id is not None:  # tasks without data are skipped but keep their index
            _write_task(mock, archive, task_id, prefix=f"task_{index}/")


# --- restore: receiving the file ------------------------------------------------------------------
async def receive_restore(ctx: Context, kind: str) -> Any:
    """``POST /api/{tasks,projects}/backup/``: a multipart ``task_file``/``project_file``, or
    the Upload-Start → TUS → Upload-Finish?filename= flow; answers 202 ``{rq_id}``."""
    organization = ctx.org.organization
    policy = iam.engine(ctx)
    policy.check(policy.allow_create(organization.id if organization else None, ctx.org.role))
    legacy = await _legacy_poll(ctx, kind)
    if legacy is not None:
        return legacy
    area = upload_area(ctx.mock, kind, ctx.user.id or 0)
    if (ctx.params.get("location") or "local") == "cloud_storage":  # the key ``filename``
        with ctx.mock.db.session() as db:
            organization = ctx.org.organization
            bucket = cloudstorages.location(ctx, db, None, organization.id if organization
                                            else None, source=True)
        key = ctx.params.get("filename")
        if not key or bucket is None:
            raise ValidationFailed(["The filename was not specified"])
        area.start()
        target = area.key(f"cloud-{uuid.uuid4().hex}.zip")
        cloudstorages.fetch(ctx.mock, bucket, key, target)
        return _start_restore(ctx, kind, target)
    endpoint = ctx.absolute(f"/api/{kind}s/backup/")

    async def finish() -> Any:
        name = ctx.params.get("filename")
        if not name:
            return await _from_form(ctx, kind, area)
        key = area.uploaded(name)
        if key is None:
            return CvatJSONResponse("No such file were uploaded", status_code=400)
        return _start_restore(ctx, kind, key)

    if uploads.wants(ctx.request, "upload-length") and not uploads.wants(
            ctx.request, "upload-finish") and not uploads.wants(ctx.request, "upload-start"):
        return _tus_create(ctx, area, endpoint)
    answer = await uploads.dispatch(ctx.request, area, endpoint, finish)
    if answer is not None:
        return answer
    return await _from_form(ctx, kind, area)


def _tus_create(ctx: Context, area: uploads.UploadArea, endpoint: str) -> Response:
    """A TUS upload whose file gets a unique name (CVAT renames backup uploads so that two
    uploads of one file do not clash); the client echoes it in Upload-Finish."""
    import base64

    metadata = uploads.parse_metadata(ctx.request.headers.get("upload-metadata") or "")
    client_name = uploads.safe_name(metadata.get("filename", ""))
    stem, extension = os.path.splitext(client_name)
    unique = f"cvat-backup-{stem}-by-{ctx.user.username}{uuid.uuid4().hex[:8]}{extension}"
    metadata["filename"] = unique
    header = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}"
                      for key, value in metadata.items())
    file_id, name = area.tus_create(ctx.request.headers.get("upload-length"), header)
    return uploads.tus_created(endpoint, file_id, name)


async def _from_form(ctx: Context, kind: str, area: uploads.UploadArea) -> Any:
    from mockcvat.schemas.annotations import ProjectFile, TaskFile

    field_name = f"{kind}_file"
    serializer = TaskFile if kind == "task" else ProjectFile
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raw = await ctx.json() if content_type.startswith("application/json") else {}
        serializer.validate(raw if isinstance(raw, dict) else {})
        raise ValidationFailed({field_name: ["No file was submitted."]})
    form = await ctx.request.form()
    try:
        values = {key: value for key, value in form.multi_items() if key == field_name}
        serializer.validate(values)
        upload = values[field_name]
        assert isinstance(upload, UploadFile)
        target = await area.store_stream(f"cvat_{uuid.uuid4().hex}", upload.file)
    finally:
        await form.close()
    return _start_restore(ctx, kind, target)


async def _legacy_poll(ctx: Context, kind: str) -> Any | None:
    """Re-POSTing with the ``rq_id`` (query or body) polls the request (CVAT's ``_import``):
    running → 202 ``{rq_id}``, finished → 201 ``{"id": <new id>}`` and the request goes,
    failed → 400 with its message; someone else's request → 403. From 2.38 (PR 9230) an
    ``rq_id`` in the query is a 410 and one in the body is not read."""
    rq_id = ctx.params.get("rq_id")
    if rq_id is not None and ctx.mock.compat.has(since=compat.NO_LEGACY_IMPORTS):
        raise gone_when_checking_process_status("import")
    if ctx.mock.compat.has(since=compat.NO_LEGACY_IMPORTS):
        return None
    if rq_id is None and ctx.request.headers.get("content-type", "").startswith(
            "application/json"):
        body = await ctx.json()
        if isinstance(body, dict) and isinstance(body.get("rq_id"), str):
            rq_id = body["rq_id"]
    if not rq_id:
        return None
    engine = ctx.mock.background
    view = engine.get(rq_id, poll=True)
    if view is None:
        return None  # CVAT enqueues a new import under that id; the file decides
    if view.owner_id != ctx.user.id:
        return Response(status_code=403)
    if view.status == "finished":
        engine.forget(rq_id)
        return CvatJSONResponse({"id": view.result_id}, status_code=201)
    if view.status == "failed":
        engine.forget(rq_id)
        raise BadRequestBody(view.message)
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


def _start_restore(ctx: Context, kind: str, key: str) -> Any:
    """``key``: the received archive in the media store."""
    mock = ctx.mock
    owner_id = ctx.user.id or 0
    organization = ctx.org.organization
    org_id = organization.id if organization else None
    # the work owns the file from here: CVAT's import_resource_with_clean_up_after
    holding = f"{key.rpartition('/')[0]}/restore-{uuid.uuid4().hex}.zip"
    mock.media.rename(key, holding)
    work = background.Work(action="import", target=kind, target_id=0, subresource="backup",
                           owner_id=owner_id, organization_id=org_id, job="backups.restore",
                           args={"kind": kind, "key": holding, "owner_id": owner_id,
                                 "org_id": org_id})
    try:
        rq_id = mock.background.submit(work)
    except Exception:
        mock.media.delete(holding)
        raise
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


@background.job("backups.restore")
def _restore(mock: MockCVAT, reporter: background.Reporter, kind: str, key: str,
             owner_id: int, org_id: int | None) -> background.Result:
    try:
        with mock.temp_dir() as tmp:
            restore = restore_task_archive if kind == "task" else restore_project_archive
            new_id = restore(mock, mock.media.local_file(key, Path(tmp)), owner_id, org_id,
                             reporter)
    finally:
        mock.media.delete(key)
    return background.Result(result_id=new_id)


# --- restore: reading the archive -----------------------------------------------------------------
def _failure(kind: str, message: str) -> background.RequestFailed:
    """The request's message as CVAT's worker formats the exception it raised."""
    return background.RequestFailed(f"{kind}: {message}\n")


def _drf_failure(message: str) -> background.RequestFailed:
    """DRF's ``ErrorDetail.__repr__`` (``%r``: double quotes when the text has single ones)."""
    return background.RequestFailed(
        "rest_framework.exceptions.ValidationError: "
        f"[ErrorDetail(string={message!r}, code='invalid')]\n")


def _safe_entry(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (not name or name.startswith("/") or "\\" in name or "\x00" in name
            or ".." in path.parts or re.match(r"^[A-Za-z]:", name)):
        raise _failure("ValueError", f"The backup contains an unsafe file path: {name!r}")
    return path


def _open(path: Path) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _failure("zipfile.BadZipFile", str(exc)) from None
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        archive.close()
        raise _failure("ValueError", f"The backup has more than {MAX_ENTRIES} files")
    if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
        archive.close()
        raise _failure("ValueError", "The backup is too large to be restored")
    try:
        for info in infos:
            _safe_entry(info.filename)
    except background.RequestFailed:
        archive.close()
        raise
    return archive


def _read_json(archive: zipfile.ZipFile, name: str) -> Any:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _failure("KeyError", f"\"There is no item named '{name}' in the archive\"") from None
    if info.file_size > MAX_JSON_BYTES:
        raise _failure("ValueError", f"{name} is too large")
    try:
        raw = archive.read(info)
        return json.loads(raw.decode("utf-8"))
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise _failure("zipfile.BadZipFile", str(exc)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _failure("rest_framework.exceptions.ParseError",
                       f"JSON parse error - {exc}") from None


def _check_version(manifest: dict[str, Any]) -> None:
    if "version" not in manifest:
        raise _failure("KeyError", "'version'")
    if manifest["version"] != VERSION:
        raise _failure("ValueError", f"{manifest['version']} version is not supported")


def _extract(archive: zipfile.ZipFile, prefix: str, target: Path) -> list[str]:
    """``data/`` entries (under ``prefix``) into ``target``; returns their relative names in
    archive order. Sizes are counted as the bytes come, not taken from the headers."""
    names, written = [], 0
    start = f"{prefix}{DATA_DIR}/"
    for info in archive.infolist():
        if info.is_dir() or not info.filename.startswith(start):
            continue
        relative = info.filename[len(start):]
        if not relative or relative == MEDIA_MANIFEST_INDEX:
            continue
        destination = target / relative
        if not uploads.is_inside(target, destination.parent) and destination.parent != target:
            raise _failure("ValueError", f"The backup contains an unsafe file path: "
                                         f"{info.filename!r}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as source, destination.open("wb") as out:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_TOTAL_BYTES:
                        raise _failure("ValueError", "The backup is too large to be restored")
                    out.write(chunk)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
            raise _failure("zipfile.BadZipFile", str(exc)) from None
        names.append(relative)
    return names


# --- restore: checking what was read -------------------------------------------------------------
def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _drf_failure(f"{what} must be a string")
    return value


def _int(value: Any, what: str, *, minimum: int = 0, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _drf_failure(f"{what} must be an integer >= {minimum}")
    return value


def _label_specs(raw: Any, *, nested: bool = False) -> list[dict[str, Any]]:
    """``labels`` of a manifest, as ``labels.create_labels`` takes them."""
    if not isinstance(raw, list):
        raise _drf_failure("labels must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise _drf_failure("a label must be an object")
        name = _str(item.get("name"), "label name")
        if not name or len(name) > 64:
            raise _drf_failure("Ensure this field has no more than 64 characters.")
        attributes = item.get("attributes") or []
        if not isinstance(attributes, list):
            raise _drf_failure("attributes must be a list")
        specs = []
        for attribute in attributes:
            if not isinstance(attribute, dict):
                raise _drf_failure("an attribute must be an object")
            values = attribute.get("values") or []
            if not isinstance(values, list):
                raise _drf_failure("attribute values must be a list")
            input_type = attribute.get("input_type", "select")
            if input_type not in ("checkbox", "radio", "number", "text", "select"):
                raise _drf_failure(f'"{input_type}" is not a valid choice.')
            specs.append({
                "name": _str(attribute.get("name"), "attribute name"),
                "mutable": bool(attribute.get("mutable", False)), "input_type": input_type,
                "default_value": str(attribute.get("default_value", "")),
                "values": [str(v) for v in values]})
        label_type = item.get("type") or "any"
        if label_type not in ("any", "bbox", "cuboid", "ellipse", "mask", "points", "polygon",
                              "polyline", "rectangle", "skeleton", "tag"):
            raise _drf_failure(f'"{label_type}" is not a valid choice.')
        color = item.get("color") or ""
        spec: dict[str, Any] = {"name": name, "color": _str(color, "color"),
                                "type": label_type, "attributes": specs}
        if not nested:
            spec["svg"] = _str(item.get("svg") or "", "svg")
            spec["sublabels"] = _label_specs(item.get("sublabels") or [], nested=True)
        out.append(spec)
    return out


@dataclass
class TaskManifest:
    name: str
    bug_tracker: str
    status: str
    subset: str
    consensus_replicas: int
    labels: list[dict[str, Any]]
    data: dict[str, Any]
    jobs: list[dict[str, Any]]
    annotations: list[Any] = field(default_factory=list)
    guide: tuple[str | None, list[tuple[str, bytes]]] = (None, [])


def _task_manifest(archive: zipfile.ZipFile, prefix: str, *, with_labels: bool
                   ) -> TaskManifest:
    manifest = _read_json(archive, prefix + TASK_MANIFEST)
    if not isinstance(manifest, dict):
        raise _failure("rest_framework.exceptions.ParseError",
                       "JSON parse error - task.json is not an object")
    _check_version(manifest)
    job_annotations = _read_json(archive, prefix + ANNOTATIONS_FILE)
    if not isinstance(job_annotations, list):
        raise _drf_failure("annotations.json must be a list")
    for key in ("data", "jobs") + (("labels",) if with_labels else ()):
        if key not in manifest:
            raise _failure("KeyError", f"'{key}'")
    data, jobs = manifest["data"], manifest["jobs"]
    if not isinstance(data, dict) or not isinstance(jobs, list) or not jobs or not all(
            isinstance(j, dict) for j in jobs):
        raise _drf_failure("task.json: data must be an object and jobs a non-empty list")
    for job in jobs:
        _int(job.get("start_frame"), "start_frame")
        _int(job.get("stop_frame"), "stop_frame")
        if job.get("type", "annotation") not in ("annotation", "ground_truth",
                                                 "consensus_replica", "replica"):
            raise _drf_failure(f"Unexpected job type {job.get('type')}")
        if job.get("status", "annotation") not in ("annotation", "validation", "completed"):
            raise _drf_failure(f'"{job.get("status")}" is not a valid choice.')
    status = manifest.get("status", "annotation")
    if status not in ("annotation", "validation", "completed"):
        raise _drf_failure(f'"{status}" is not a valid choice.')
    name = _str(manifest.get("name"), "name")
    if not name or len(name) > 256:
        raise _drf_failure("Ensure this field has no more than 256 characters.")
    return TaskManifest(
        name=name, bug_tracker=_str(manifest.get("bug_tracker") or "", "bug_tracker"),
        status=status, subset=_str(manifest.get("subset") or "", "subset"),
        consensus_replicas=_int(manifest.get("consensus_replicas", 0),
                                "consensus_replicas") or 0,
        labels=_label_specs(manifest["labels"]) if with_labels else [],
        data=data, jobs=jobs, annotations=job_annotations, guide=_read_guide(archive, prefix))


def _read_guide(archive: zipfile.ZipFile, prefix: str) -> tuple[str | None,
                                                               list[tuple[str, bytes]]]:
    try:
        return guides.read_from_backup(archive, prefix)
    except ValidationFailed as exc:
        raise _drf_failure(_first_message(exc.detail)) from None
    except UnicodeDecodeError as exc:
        raise _failure("UnicodeDecodeError", str(exc)) from None
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise _failure("zipfile.BadZipFile", str(exc)) from None


def _restore_guide(mock: MockCVAT, db: Session, guide: tuple[str | None, list[tuple[str, bytes]]],
                   owner_id: int, **target: int) -> None:
    markdown, assets = guide
    if markdown is not None:
        guides.restore_from_backup(mock, db, markdown, assets, owner_id, **target)


# --- restore: one task ----------------------------------------------------------------------------
def restore_task_archive(mock: MockCVAT, path: Path, owner_id: int, org_id: int | None,
                         reporter: background.Reporter) -> int:
    with _open(path) as archive:
        manifest = _task_manifest(archive, "", with_labels=True)
        return _restore_task(mock, archive, "", manifest, owner_id, org_id, None, reporter)


def _restore_task(mock: MockCVAT, archive: zipfile.ZipFile, prefix: str, manifest: TaskManifest,
                  owner_id: int, org_id: int | None, project_id: int | None,
                  reporter: background.Reporter) -> int:
    data_meta, jobs = manifest.data, manifest.jobs
    annotation_jobs = [j for j in jobs if j.get("type", "annotation") == "annotation"]
    custom = bool(data_meta.get("custom_segments"))
    if custom:
        mapping = []
        for index, job in enumerate(annotation_jobs):
            files = job.get("files")
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise _failure("KeyError", "'files'")
            if len(files) != job["stop_frame"] - job["start_frame"] + 1:
                raise _drf_failure(f"segment {index}: segment files do not match segment size")
            mapping.append(files)
        segment_size, overlap = 0, 0
    else:
        mapping = None
        if not annotation_jobs:
            raise _failure("IndexError", "list index out of range")
        first = annotation_jobs[0]
        segment_size = first["stop_frame"] - first["start_frame"] + 1
        overlap = 0 if len(annotation_jobs) == 1 else (
            first["stop_frame"] - annotation_jobs[1]["start_frame"] + 1)
        overlap = max(overlap, 0)
    image_quality = _int(data_meta.get("image_quality", 70), "image_quality", minimum=0)
    if image_quality is None or not 0 <= image_quality <= 100:
        raise _drf_failure("Ensure this value is less than or equal to 100.")
    chunk_size = _int(data_meta.get("chunk_size"), "chunk_size", minimum=1, optional=True)
    start_frame = _int(data_meta.get("start_frame", 0), "start_frame") or 0
    stop_frame = _int(data_meta.get("stop_frame", 0), "stop_frame") or 0
    frame_filter = _str(data_meta.get("frame_filter") or "", "frame_filter")
    sorting = data_meta.get("sorting_method", "lexicographical")
    if sorting not in ("lexicographical", "natural", "predefined", "random"):
        raise _drf_failure(f'"{sorting}" is not a valid choice.')
    storage_method = data_meta.get("storage_method", "file_system")
    if storage_method not in ("cache", "file_system"):
        raise _drf_failure(f'"{storage_method}" is not a valid choice.')
    deleted = data_meta.get("deleted_frames") or []
    if not isinstance(deleted, list) or not all(
            isinstance(f, int) and not isinstance(f, bool) for f in deleted):
        raise _drf_failure("deleted_frames must be a list of integers")
    if custom:  # CVAT drops these for job_file_mapping tasks
        start_frame, stop_frame, frame_filter, sorting = 0, 0, "", "lexicographical"

    with mock.db.session() as db:
        task = Task(name=manifest.name, bug_tracker=manifest.bug_tracker,
                    status=manifest.status, subset=manifest.subset, owner_id=owner_id,
                    organization_id=org_id, project_id=project_id,
                    consensus_replicas=manifest.consensus_replicas,
                    segment_size=segment_size, overlap=overlap)
        db.add(task)
        db.flush()
        if project_id is None:
            try:
                labels.create_labels(db, manifest.labels, labels.owner_of(task_id=task.id))
            except ValidationFailed as exc:
                raise _drf_failure(_first_message(exc.detail)) from None
        data = Data(image_quality=image_quality, chunk_size=chunk_size,
                    start_frame=start_frame, stop_frame=stop_frame, frame_filter=frame_filter,
                    sorting_method=sorting, storage_method=storage_method, storage="local")
        db.add(data)
        db.flush()
        task.data_id = data.id
        db.add(task)
        task_id, data_id = task.id or 0, data.id or 0
    try:
        with mock.temp_dir() as extracted:
            files = _extract(archive, prefix, Path(extracted))
            if sorting != "predefined":  # the media manifest only fixes a predefined order
                files = [f for f in files if not f.endswith(".jsonl")]
            plan = task_data.Plan(
                task_id=task_id, data_id=data_id, root=Path(extracted), files=files,
                # random: the archive holds the frames in task order; keep it
                sorting_method="predefined" if sorting == "random" else sorting,
                start_frame=start_frame, stop_frame=stop_frame or None,
                frame_step=task_data.frame_step(frame_filter), chunk_size=chunk_size,
                use_zip_chunks=data_meta.get("chunk_type") == "imageset",
                job_file_mapping=mapping)
            task_data.process(mock, plan, reporter)
        with mock.db.session() as db:
            task = db.get(Task, task_id)
            data = db.get(Data, data_id)
            assert task is not None and data is not None
            data.deleted_frames = [f for f in deleted if 0 <= f < data.size]
            data.storage = "local"
            db.add(data)
            _restore_gt_jobs(db, task, data, jobs)
            rows = list(db.execute(select(Job).where(Job.task_id == task_id)
                                   .order_by(Job.id)).scalars())
            for job, entry in zip(rows, jobs, strict=False):
                job.status = entry.get("status", job.status)
                db.add(job)
            _restore_annotations(db, task, rows, manifest.annotations)
            _restore_guide(mock, db, manifest.guide, owner_id, task_id=task_id)
            task.updated_date = utcnow()
            db.add(task)
    except BaseException:
        _delete_task(mock, task_id)
        raise
    return task_id


def _first_message(detail: Any) -> str:
    while isinstance(detail, list | dict):
        detail = next(iter(detail.values() if isinstance(detail, dict) else detail), "")
    return str(detail)


def _restore_gt_jobs(db: Session, task: Task, data: Data, jobs: list[dict[str, Any]]) -> None:
    """``_import_gt_jobs``: a GT job with its manual frames (task frame numbers)."""
    for job in jobs:
        if job.get("type") != "ground_truth":
            continue
        frames = job.get("frames")
        if not isinstance(frames, list) or not frames or not all(
                isinstance(f, int) and not isinstance(f, bool) for f in frames):
            raise _drf_failure("The list of frames must not be empty")
        wrong = [f for f in frames if not 0 <= f < data.size]
        if wrong:
            raise _drf_failure(
                f"The following frames do not exist in the task: {sorted(set(wrong))}")
        validation.add_gt_job(db, task, data, sorted(set(frames)))


def _restore_annotations(db: Session, task: Task, rows: list[Job],
                         job_annotations: list[Any]) -> None:
    book = annotations.LabelBook(db, task)
    label_ids: dict[tuple[str, str], int] = {}
    for label in book.labels.values():
        parent = book.labels.get(label.parent_id) if label.parent_id else None
        label_ids[(parent.name if parent else "", label.name)] = label.id or 0
    spec_ids = {(spec.label_id, spec.name): spec.id or 0
                for specs in book.specs.values() for spec in specs}
    from mockcvat.schemas.annotations import LabeledData

    for job, raw in zip(rows, job_annotations, strict=False):
        if not isinstance(raw, dict):
            raise _drf_failure("Invalid data. Expected a dictionary, but got list.")
        data = {kind: [_with_ids(obj, label_ids, spec_ids, "") for obj in raw.get(kind) or []]
                for kind in annotations.kinds()}
        try:
            validated = LabeledData.validate({"version": 0, **data})
            annotations.write_job(db, job.id or 0, validated, "put", book)
        except ValidationFailed as exc:
            raise _drf_failure(_first_message(exc.detail)) from None


def _with_ids(obj: Any, label_ids: dict[tuple[str, str], int], spec_ids: dict[tuple[int, str], int],
              parent: str, label_id: int | None = None) -> dict[str, Any]:
    """``_prepare_annotations`` backwards: label names -> ids (elements by their parent's
    name), attribute names -> spec ids. An unknown name fails the restore, as CVAT's
    ``KeyError`` does."""
    if not isinstance(obj, dict):
        raise _drf_failure("Invalid data. Expected a dictionary.")
    out = {key: value for key, value in obj.items() if key in KEPT}
    if "label" in obj:
        key = (parent, str(obj["label"]))
        if key not in label_ids:
            raise _failure("KeyError", repr(parent + str(obj["label"])))
        label_id = label_ids[key]
        out["label_id"] = label_id
    own = label_id or 0

    def attributes(items: Any) -> list[dict[str, Any]]:
        result = []
        for attribute in items or []:
            if not isinstance(attribute, dict) or (own, attribute.get("name")) not in spec_ids:
                name = attribute.get("name") if isinstance(attribute, dict) else attribute
                raise _failure("KeyError", repr(name))
            result.append({"spec_id": spec_ids[(own, attribute["name"])],
                           "value": attribute.get("value")})
        return result

    out["attributes"] = attributes(obj.get("attributes"))
    name = str(obj.get("label", ""))
    if "shapes" in obj:  # a track's keyframes: the track's label
        out["shapes"] = [{**{k: v for k, v in s.items() if k in KEPT},
                          "attributes": attributes(s.get("attributes"))}
                         for s in obj.get("shapes") or [] if isinstance(s, dict)]
    if "elements" in obj:
        out["elements"] = [_with_ids(e, label_ids, spec_ids, name)
                           for e in obj.get("elements") or []]
    return out


def _delete_task(mock: MockCVAT, task_id: int) -> None:
    with mock.db.session() as db:
        tasks.remove_files(mock, db, task_id)
        task = db.get(Task, task_id)
        if task is not None:
            db.delete(task)


# --- restore: a project ---------------------------------------------------------------------------
def restore_project_archive(mock: MockCVAT, path: Path, owner_id: int, org_id: int | None,
                            reporter: background.Reporter) -> int:
    with _open(path) as archive:
        manifest = _read_json(archive, PROJECT_MANIFEST)
        if not isinstance(manifest, dict):
            raise _failure("rest_framework.exceptions.ParseError",
                           "JSON parse error - project.json is not an object")
        _check_version(manifest)
        if "labels" not in manifest:
            raise _failure("KeyError", "'labels'")
        specs = _label_specs(manifest["labels"])
        name = _str(manifest.get("name"), "name")
        if not name or len(name) > 256:
            raise _drf_failure("Ensure this field has no more than 256 characters.")
        status = manifest.get("status", "annotation")
        if status not in ("annotation", "validation", "completed"):
            raise _drf_failure(f'"{status}" is not a valid choice.')
        task_dirs: dict[int, str] = {}
        for entry in archive.namelist():
            if match := TASK_DIR_RE.match(entry):
                task_dirs[int(match.group(1))] = match.group(0)
        # every task's manifest (and every guide) is read before anything is created
        guide = _read_guide(archive, "")
        manifests = [(prefix, _task_manifest(archive, prefix, with_labels=False))
                     for _, prefix in sorted(task_dirs.items())]
        with mock.db.session() as db:
            project = Project(name=name, bug_tracker=_str(manifest.get("bug_tracker") or "",
                                                          "bug_tracker"),
                              status=status, owner_id=owner_id, organization_id=org_id)
            db.add(project)
            db.flush()
            try:
                labels.create_labels(db, specs, labels.owner_of(project_id=project.id))
            except ValidationFailed as exc:
                raise _drf_failure(_first_message(exc.detail)) from None
            project_id = project.id or 0
        try:
            with mock.db.session() as db:
                _restore_guide(mock, db, guide, owner_id, project_id=project_id)
            for index, (prefix, task_manifest) in enumerate(manifests):
                _restore_task(mock, archive, prefix, task_manifest, owner_id, org_id,
                              project_id, _Scaled(reporter, index, len(manifests)))
        except BaseException:
            with mock.db.session() as db:
                project_row = db.get(Project, project_id)
                if project_row is not None:
                    projects.remove_files(mock, db, project_id)
                    db.delete(project_row)
            raise
        return project_id


class _Scaled:
    """One task's progress as a share of the project's."""

    def __init__(self, reporter: background.Reporter, index: int, count: int) -> None:
        self.reporter, self.index, self.count = reporter, index, max(count, 1)

    def progress(self, fraction: float, status: str | None = None) -> None:
        self.reporter.progress((self.index + fraction) / self.count, status)

    def status(self, text: str) -> None:
        self.reporter.status(text)


# --- TUS PATCH/HEAD of a backup upload ----------------------------------------------------------
def tus_area(ctx: Context, kind: str) -> uploads.UploadArea:
    return upload_area(ctx.mock, kind, ctx.user.id or 0)
