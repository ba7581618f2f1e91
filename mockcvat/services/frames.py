"""Reading a task's media through the API: ``…/data`` (chunks, frames, context images,
previews), ``…/data/meta`` and ``…/preview`` for tasks, jobs and projects
(``cvat/apps/engine/views.py``: ``_TaskDataGetter``, ``_JobDataGetter``, ``metadata``).

Task frame numbers are 0-based over the included frames; chunk ``k`` holds frames
``[k*chunk_size, (k+1)*chunk_size)``. Jobs read chunks by ``index`` (job-relative) or by the
deprecated task chunk ``number``.
"""

from __future__ import annotations

import functools
import math
import zlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.responses import Response

from mockcvat import compat, media
from mockcvat.errors import BadRequestBody, ValidationFailed
from mockcvat.http import PlainResponse
from mockcvat.models import Data, Segment, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.data import DataMetaRead
from mockcvat.schemas.fields import format_datetime
from mockcvat.services import cloudstorages, jobs, task_data, tasks

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

TYPES = ("chunk", "frame", "preview", "context_image")
QUALITIES = ("compressed", "original")


def _no_preview(ctx: Context, text: str) -> Response:
    """A preview with no media behind it. Until 2.67 Django's plain-text 404 ``text``; from
    2.67 (cvat-sdk: the ``Prefer`` header, RFC 7240) a default placeholder image, or a 204
    for ``Prefer: handling=empty``."""
    if not ctx.mock.compat.has(since=compat.PREVIEW_PREFERENCES):
        return PlainResponse(text, 404)
    preferences = {p.strip().lower() for item in ctx.request.headers.getlist("prefer")
                   for p in item.split(",")}
    if "handling=empty" in preferences:
        return Response(status_code=204)
    return _image(_placeholder(), "image/jpeg")


@functools.cache
def _placeholder() -> bytes:
    from PIL import Image

    from mockcvat.media import images

    return images.preview_jpeg(Image.new("RGB", (256, 256), (224, 224, 224)))


def _data(db: Session, task: Task) -> Data | None:
    return db.get(Data, task.data_id) if task.data_id else None


def _store(ctx: Context, data: Data) -> media.FrameStore:
    source = None
    if data.storage == "cloud_storage":  # the images are read from the bucket
        with ctx.mock.db.session() as db:
            try:
                source = task_data.media_source(db, data)
            except media.MediaError as exc:
                raise BadRequestBody(exc.message) from None
    return task_data.frame_store(ctx.mock, data.id or 0, source)


def _params(ctx: Context, *, job: bool = False) -> tuple[str, int | None, int | None, str]:
    """type, number, index, quality — checked as CVAT's data getters do."""
    kind = ctx.params.get("type")
    if kind not in TYPES:
        raise ValidationFailed(["Data type not specified or has wrong value"])
    quality = ctx.params.get("quality", "compressed")
    if quality not in QUALITIES:
        raise ValidationFailed(["Wrong quality value"])
    number, index = _int(ctx, "number"), _int(ctx, "index") if job else None
    if kind in ("chunk", "frame", "context_image"):
        if job and kind == "chunk":
            if number is None and index is None:
                raise ValidationFailed(["Number or Index is not specified"])
            if number is not None and index is not None:
                raise ValidationFailed(["Number and Index cannot be used together"])
        elif number is None:
            raise ValidationFailed(["Number is not specified"])
    return kind, number, index, quality


def _int(ctx: Context, name: str) -> int | None:
    raw = ctx.params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed({name: ["A valid integer is required."]}) from None


def _chunk_response(body: bytes, mime: str, updated: Any) -> Response:
    checksum = zlib.crc32(body[:1000], zlib.crc32(str(len(body)).encode()))
    return Response(body, media_type=mime, headers={
        "X-Checksum": str(checksum), "X-Updated-Date": format_datetime(updated) or ""})


def _image(body: bytes, mime: str) -> Response:
    return Response(body, media_type=mime)


def _zipped(data: Data, quality: str) -> bool:
    kind = data.original_chunk_type if quality == "original" else data.compressed_chunk_type
    return kind == "imageset"


# --- task data ---------------------------------------------------------------------------------
def read_task_data(ctx: Context, task_id: int) -> Response:
    kind, number, _, quality = _params(ctx)
    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "view:data")
        data = _data(db, task)
        if data is None or data.size == 0:
            raise BadRequestBody("Task has no data")
    store = _store(ctx, data)
    try:
        if kind == "chunk":
            body, mime = store.chunk_number(number or 0, quality, data.image_quality,
                                            as_zip=_zipped(data, quality))
            return _chunk_response(body, mime, data.chunks_updated_date)
        if kind == "frame":
            return _image(*store.frame(number or 0, quality, data.image_quality,
                                       as_zip=_zipped(data, "compressed")))
        if kind == "context_image":
            images = store.context_images(number or 0)
            return Response(status_code=404) if images is None else Response(
                images, media_type="application/zip")
        return _image(store.preview(data.image_quality), "image/jpeg")
    except media.MediaError as exc:
        raise BadRequestBody(exc.message) from None


def task_meta(ctx: Context, task_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "view:metadata")
        data = _data(db, task)
        return _meta(ctx, db, task, data, None)


def _meta(ctx: Context, db: Session, task: Task, data: Data | None,
          segment: Segment | None) -> dict[str, Any]:
    if data is None or data.size == 0:
        base: dict[str, Any] = {
            "chunks_updated_date": data.chunks_updated_date if data else task.updated_date,
            "chunk_size": data.chunk_size if data else None, "size": 0,
            "image_quality": data.image_quality if data else 0,
            "start_frame": data.start_frame if data else 0,
            "stop_frame": data.stop_frame if data else 0,
            "frame_filter": data.frame_filter if data else "", "frames": [],
            "deleted_frames": [], "included_frames": None,
            "storage": data.storage if data else None,
            "cloud_storage_id": data.cloud_storage_id if data else None, "chapters": None}
        return DataMetaRead.dump(base) or {}
    manifest = _store(ctx, data).manifest
    frames = [{"width": f.width, "height": f.height, "name": f.name,
               "related_files": f.related_files} for f in manifest.frames]
    deleted = sorted(data.deleted_frames or [])
    payload: dict[str, Any] = {
        "chunks_updated_date": data.chunks_updated_date, "chunk_size": data.chunk_size,
        "size": data.size, "image_quality": data.image_quality,
        "start_frame": data.start_frame, "stop_frame": data.stop_frame,
        "frame_filter": data.frame_filter, "deleted_frames": deleted, "included_frames": None,
        "storage": data.storage, "cloud_storage_id": data.cloud_storage_id}
    video = manifest.media_type == "video"
    # 2.52+: a video's chapters (source frame numbers); images have none
    payload["chapters"] = manifest.chapters if video else None
    if segment is None:
        payload["frames"] = frames[:1] if video else frames
        if video:
            payload["frames"] = [{**frames[0], "name": manifest.source_paths[0]}]
        return DataMetaRead.dump(payload) or {}
    own = jobs.frames_of(segment)
    step = manifest.frame_step
    first, last = segment.start_frame, segment.stop_frame  # GT: the whole task
    gt = segment.type == "specific_frames"
    if gt:  # GT frames are disabled in the validation layout, not deleted
        deleted = sorted(set(deleted) | set(gt_disabled(data)))
    payload.update(
        size=len(own),
        start_frame=data.start_frame + first * step,
        stop_frame=min(data.stop_frame, data.start_frame + last * step),
        deleted_frames=[f for f in deleted if first <= f <= last],
        included_frames=own if gt else None,
    )
    if video:
        payload["frames"] = [{**frames[0], "name": manifest.source_paths[0]}]
        # a job: the chapters its segment's frames touch (CVAT: get_video_chapters(segment=))
        payload["chapters"] = [c for c in manifest.chapters
                               if c["start"] <= payload["stop_frame"]
                               and c["stop"] >= payload["start_frame"]]
    else:
        chosen = set(own)
        payload["frames"] = [
            frames[n] if n in chosen else {**frames[n], "name": "placeholder.jpg"}
            for n in range(first, last + 1)]
    return DataMetaRead.dump(payload) or {}


def gt_disabled(data: Data) -> list[int]:
    return list((data.validation or {}).get("disabled_frames") or [])


def patch_task_meta(ctx: Context, task_id: int, raw: Any) -> dict[str, Any]:
    from mockcvat.schemas.data import DataMetaWrite

    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "update:metadata")
        data = _data(db, task)
        written = DataMetaWrite.validate(raw, partial=False)
        values = written["deleted_frames"]
        size = data.size if data else 0
        _check_deleted(values, range(size), "Unknown frames {} requested for removal")
        if written.get("cloud_storage_id") is not None:  # re-link: one the task's workspace uses
            cloudstorages.for_use(ctx, db, written["cloud_storage_id"], task.organization_id)
        if data is not None:
            if "cloud_storage_id" in written:  # null: the data no longer names a storage
                data.cloud_storage_id = written["cloud_storage_id"]
            data.deleted_frames = sorted(values)
            db.add(data)
            task.updated_date = utcnow()
            db.add(task)
        return _meta(ctx, db, task, data, None)


def _check_deleted(values: list[int], allowed: range | list[int], message: str) -> None:
    if len(values) != len(set(values)):
        raise ValidationFailed(["Deleted frames cannot repeat"])
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationFailed([message.format(", ".join(str(v) for v in unknown))])


# --- job data -----------------------------------------------------------------------------------
def read_job_data(ctx: Context, job_id: int) -> Response:
    kind, number, index, quality = _params(ctx, job=True)
    with ctx.mock.db.session() as db:
        job, task = jobs.load(ctx, db, job_id, "view:data")
        data = _data(db, task)
        segment = db.get(Segment, job.segment_id)
        if data is None or data.size == 0 or segment is None:
            raise BadRequestBody("Task has no data")
    store = _store(ctx, data)
    own = jobs.frames_of(segment)
    try:
        if kind == "chunk":
            zipped = _zipped(data, quality) or segment.type == "specific_frames"
            if number is not None:  # the deprecated task chunk numbering
                body, mime = store.chunk_number(number, quality, data.image_quality,
                                                as_zip=zipped)
            else:
                size = data.chunk_size or 1
                last = math.ceil(len(own) / size) - 1
                if not 0 <= (index or 0) <= last:
                    raise BadRequestBody(f"Invalid chunk number '{index}'. The chunk number "
                                         f"should be in the [0, {last}] range")
                part = own[(index or 0) * size:((index or 0) + 1) * size]
                body, mime = store.chunk(part[0], part[-1] + 1, quality, data.image_quality,
                                         as_zip=zipped)
            return _chunk_response(body, mime, data.chunks_updated_date)
        if kind in ("frame", "context_image") and (number or 0) not in own:
            raise BadRequestBody(f"Incorrect requested frame number: {number}")
        if kind == "frame":
            return _image(*store.frame(number or 0, quality, data.image_quality,
                                       as_zip=_zipped(data, "compressed")))
        if kind == "context_image":
            images = store.context_images(number or 0)
            return Response(status_code=404) if images is None else Response(
                images, media_type="application/zip")
        body, mime = store.frame(own[0], "compressed", data.image_quality,
                                 as_zip=_zipped(data, "compressed"))
        return _image(_thumbnail(body), "image/jpeg")
    except media.MediaError as exc:
        raise BadRequestBody(exc.message) from None


def _thumbnail(body: bytes) -> bytes:
    import io

    from PIL import Image

    from mockcvat.media import images

    with Image.open(io.BytesIO(body)) as img:
        return images.preview_jpeg(img)


def job_meta(ctx: Context, job_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        job, task = jobs.load(ctx, db, job_id, "view:metadata")
        return _meta(ctx, db, task, _data(db, task), db.get(Segment, job.segment_id))


def patch_job_meta(ctx: Context, job_id: int, raw: Any) -> dict[str, Any]:
    from mockcvat.schemas.jobs import JobDataMetaWrite as DataMetaWrite

    with ctx.mock.db.session() as db:
        job, task = jobs.load(ctx, db, job_id, "update:metadata")
        data = _data(db, task)
        segment = db.get(Segment, job.segment_id)
        values = DataMetaWrite.validate(raw, partial=False)["deleted_frames"]
        own = jobs.frames_of(segment) if segment else []
        if len(values) != len(set(values)):
            raise ValidationFailed(["Deleted frames cannot repeat"])
        outside = [v for v in values if v not in own]
        if outside:
            raise ValidationFailed(
                [f"Frames {', '.join(str(v) for v in outside)} do not belong to the job"])
        if data is not None and segment is not None and segment.type == "specific_frames":
            data.validation = {**(data.validation or {}), "disabled_frames": sorted(values)}
            db.add(data)
        elif data is not None:
            kept = [f for f in data.deleted_frames or [] if f not in own]
            data.deleted_frames = sorted(kept + values)
            db.add(data)
            task.updated_date = utcnow()
            db.add(task)
        return _meta(ctx, db, task, data, segment)


# --- previews ------------------------------------------------------------------------------------
def task_preview(ctx: Context, task_id: int) -> Response:
    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "view")
        data = _data(db, task)
    if data is None or data.size == 0:
        return _no_preview(ctx, "Task image preview not found")
    return _image(_store(ctx, data).preview(data.image_quality,
                                            as_zip=_zipped(data, "compressed")), "image/jpeg")


def job_preview(ctx: Context, job_id: int) -> Response:
    with ctx.mock.db.session() as db:
        job, task = jobs.load(ctx, db, job_id, "view")
        data = _data(db, task)
        segment = db.get(Segment, job.segment_id)
    if data is None or data.size == 0 or segment is None:
        return _no_preview(ctx, "Job image preview not found")
    body, _ = _store(ctx, data).frame(jobs.frames_of(segment)[0], "compressed",
                                      data.image_quality, as_zip=_zipped(data, "compressed"))
    return _image(_thumbnail(body), "image/jpeg")


def project_preview(ctx: Context, project_id: int) -> Response:
    from mockcvat.services import projects

    with ctx.mock.db.session() as db:
        projects.load(ctx, db, project_id, "view")
        latest = db.execute(select(Task).where(Task.project_id == project_id)
                            .order_by(Task.id.desc())).scalars().first()
        data = _data(db, latest) if latest else None
    if data is None or data.size == 0:
        return _no_preview(ctx, "Project image preview not found")
    return _image(_store(ctx, data).preview(data.image_quality,
                                            as_zip=_zipped(data, "compressed")), "image/jpeg")
