"""Dataset export and annotation import (``DatasetMixin`` and ``dataset_manager``).

An export is a background request that writes the dataset through its format module
(``mockcvat.formats``) into a zip kept under the data dir. Where it is downloaded from depends on
the emulated version (``mockcvat.services.exports``): before 2.32, ``result_url`` is the legacy
GET endpoint with ``action=download``, which serves the file once, to the user who asked, and
then forgets the request (as CVAT deletes its job); the legacy GET without ``action`` keeps
CVAT's polling protocol (202 while running, 201 when ready). From 2.32, ``…/dataset/download``
serves it as often as asked until the request expires.

An import is a background request that reads the uploaded file through the format module and
replaces the annotations in one transaction: a file the format cannot use fails the request and
leaves the annotations as they were.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import Response

from mockcvat import background, compat, formats, media, uploads
from mockcvat.errors import (
    APIError,
    ValidationFailed,
    gone_for_export_api,
    gone_when_checking_process_status,
)
from mockcvat.formats import base
from mockcvat.http import CvatJSONResponse, PlainResponse, content_disposition
from mockcvat.models import Data, Job, Label, Project, Segment, Task, User
from mockcvat.models.users import utcnow
from mockcvat.services import (
    annotations,
    cloudstorages,
    exports,
    jobs,
    labels,
    projects,
    task_data,
    tasks,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

TRUE = {"true", "yes", "on", "1", "t", "y"}
FALSE = {"false", "no", "off", "0", "f", "n"}


class UnsupportedByMock(APIError):
    status_code = 400


def _bool(raw: str | None, default: bool = False) -> bool:
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValidationFailed({"save_images": ["Must be a valid boolean."]})


# --- the dataset a format module sees ------------------------------------------------------------
def _labels(db: Session, task: Task) -> list[base.LabelSpec]:
    book = annotations.LabelBook(db, task)
    return [
        base.LabelSpec(
            id=label.id or 0, name=label.name, color=label.color, type=label.type,
            parent_id=label.parent_id, svg=label.svg,
            attributes=tuple(base.AttributeSpec(
                id=s.id or 0, name=s.name, mutable=s.mutable, input_type=s.input_type,
                default_value=s.default_value, values=tuple(s.values or ()))
                for s in book.specs.get(label.id or 0, [])))
        for label in sorted(book.labels.values(), key=lambda label: label.id or 0)
    ]


def _frames(mock: MockCVAT, db: Session, task: Task, offset: int = 0
            ) -> tuple[list[base.Frame], media.FrameStore | None]:
    data = db.get(Data, task.data_id) if task.data_id else None
    if data is None or data.size == 0:
        return [], None
    store = task_data.frame_store(mock, data.id or 0, task_data.media_source(db, data))
    deleted = set(data.deleted_frames or [])
    subset = task.subset
    return [base.Frame(frame=offset + i, name=f.name, width=f.width, height=f.height,
                       task_id=task.id or 0, subset=subset, deleted=i in deleted)
            for i, f in enumerate(store.manifest.frames)], store


def _image_reader(stores: dict[int, tuple[media.FrameStore, int]]) -> Any:
    """``Dataset.image``: a frame's original bytes (video frames decoded to PNG; point
    clouds as their PCD file)."""
    def read(frame: base.Frame) -> tuple[bytes, str]:
        store, offset = stores[frame.task_id]
        body, mime = store.frame(frame.frame - offset, "original")
        if store.manifest.dimension == "3d":
            return body, ".pcd"
        return body, "." + (mime.split("/")[-1].replace("jpeg", "jpg") or "png")

    return read


def _related_reader(stores: dict[int, tuple[media.FrameStore, int]]) -> Any:
    """``Dataset.related``: a frame's context images as uploaded (name, bytes)."""
    def read(frame: base.Frame) -> list[tuple[str, bytes]]:
        store, offset = stores[frame.task_id]
        return store.related_files(frame.frame - offset)

    return read


def _dimension(stores: dict[int, tuple[media.FrameStore, int]], default: str = "2d") -> str:
    return next((s.manifest.dimension for s, _o in stores.values()), default)


def build(mock: MockCVAT, db: Session, kind: str, obj: Any) -> base.Dataset:
    """The ``Dataset`` of a task, a job or a project (tasks' frames one after another)."""
    if kind == "project":
        task_rows = list(db.execute(
            Task.__table__.select().where(Task.project_id == obj.id).order_by(Task.id)))
        task_objs = [db.get(Task, row.id) for row in task_rows]
        all_frames: list[base.Frame] = []
        stores: dict[int, tuple[media.FrameStore, int]] = {}
        merged = annotations.empty()
        labels: list[base.LabelSpec] = []
        mode = "annotation"
        for task in task_objs:
            if task is None:
                continue
            labels = labels or _labels(db, task)
            offset = len(all_frames)
            task_frames, store = _frames(mock, db, task, offset)
            if store is None:
                continue
            mode = task.mode or mode
            stores[task.id or 0] = (store, offset)
            all_frames += task_frames
            data = annotations.read_task(db, task, annotations.LabelBook(db, task))
            for key in annotations.kinds():
                merged[key] += [_shifted(item, offset) for item in data[key]]
        return base.Dataset(kind="project", id=obj.id, name=obj.name, mode=mode,
                            labels=labels, frames=all_frames, annotations=merged,
                            image=_image_reader(stores), meta=_meta(db, obj),
                            dimension=_dimension(stores), related=_related_reader(stores))
    task = obj if kind == "task" else db.get(Task, obj.task_id)
    all_frames, store = _frames(mock, db, task)
    book = annotations.LabelBook(db, task)
    if kind == "job":
        segment = db.get(Segment, obj.segment_id)
        own = set(jobs.frames_of(segment)) if segment else set()
        all_frames = [f for f in all_frames if f.frame in own]
        data = annotations.read_job(db, obj.id, book)
    else:
        data = annotations.read_task(db, task, book)
    stores = {task.id or 0: (store, 0)} if store else {}
    return base.Dataset(
        kind=kind, id=obj.id, name=task.name if kind == "task" else str(obj.id),
        mode=task.mode or "annotation", labels=_labels(db, task), frames=all_frames,
        annotations={key: data[key] for key in annotations.kinds()},
        image=_image_reader(stores), dimension=_dimension(stores, task.dimension),
        related=_related_reader(stores),
        meta={**_meta(db, task), "task_id": task.id, "overlap": task.overlap or 0,
              "segment_size": task.segment_size, "size": len(all_frames)})


def _shifted(item: dict[str, Any], offset: int) -> dict[str, Any]:
    shifted = {**item, "frame": item["frame"] + offset}
    if "shapes" in item:
        shifted["shapes"] = [{**s, "frame": s["frame"] + offset} for s in item["shapes"]]
    if item.get("elements"):
        shifted["elements"] = [_shifted(e, offset) for e in item["elements"]]
    return shifted


def _meta(db: Session, obj: Any) -> dict[str, Any]:
    """What the formats write about the object: dates, people ({username, email} or None),
    bug tracker."""
    def person(user_id: int | None) -> dict[str, str] | None:
        user = db.get(User, user_id) if user_id else None
        return {"username": user.username, "email": user.email or ""} if user else None

    return {"created_date": obj.created_date, "updated_date": obj.updated_date,
            "owner_id": obj.owner_id, "assignee_id": obj.assignee_id, "bug_tracker":
            obj.bug_tracker, "owner": person(obj.owner_id), "assignee": person(obj.assignee_id)}


# --- export ----------------------------------------------------------------------------------
KINDS = {"task": Task, "job": Job, "project": Project}


def _load(ctx: Context, db: Session, kind: str, pk: int, scope: str) -> Any:
    if kind == "task":
        return tasks.load(ctx, db, pk, scope)
    if kind == "job":
        return jobs.load(ctx, db, pk, scope)[0]
    return projects.load(ctx, db, pk, scope)


def exporter_for(name: str | None) -> Any:
    """CVAT's checks on ``format``, then whether mockcvat can write it."""
    known = next((f for f in formats.EXPORTERS if f.name == name), None)
    if known is None:
        raise ValidationFailed(["Unknown format specified for the request"])
    module = formats.exporter(known.name)
    if module is None:
        raise UnsupportedByMock([f"Exporting to '{known.name}' is not supported by mockcvat "
                                 "(see its README for the formats it writes)"])
    return module


def _storages_of(db: Session, kind: str, obj: Any, field: str) -> tuple[int | None, int | None]:
    """The object's default storage of ``field`` (a job's is its task's) and its org."""
    owner = db.get(Task, obj.task_id) if kind == "job" else obj
    return getattr(owner, f"{field}_id", None), getattr(owner, "organization_id", None)


def _export_work(ctx: Context, kind: str, obj: Any, format_name: str, save_images: bool,
                 cloud: tuple[int, str | None] | None = None) -> background.Work:
    """``cloud``: (storage id, key) when the file goes to a bucket (then no result_url)."""
    user_id = ctx.user.id or 0
    exporter_for(format_name)
    task_id = obj.id if kind == "task" else getattr(obj, "task_id", None)
    return background.Work(
        action="export", target=kind, target_id=obj.id, owner_id=user_id,
        organization_id=_organization_of(ctx, kind, obj),
        subresource="dataset" if save_images else "annotations", format=format_name,
        project_id=obj.id if kind == "project" else getattr(obj, "project_id", None),
        task_id=task_id, job_id=obj.id if kind == "job" else None,
        job="datasets.export", args={
            "ctx": ctx.freeze(), "kind": kind, "pk": obj.id, "format_name": format_name,
            "save_images": save_images, "cloud": list(cloud) if cloud else None})


@background.job("datasets.export")
def _export(mock: MockCVAT, reporter: background.Reporter, ctx: dict[str, Any], kind: str,
            pk: int, format_name: str, save_images: bool, cloud: list[Any] | None
            ) -> background.Result:
    context = background.thaw(mock, ctx)
    user_id = context.user.id or 0
    module = exporter_for(format_name)
    result_url = exports.result_url_maker(
        context, kind, pk, "dataset", lambda: _result_url(context, kind, pk, save_images))
    with mock.db.session() as db:
        current = db.get(KINDS[kind], pk)
        if current is None:
            raise background.RequestFailed(f"The {kind} was deleted during the export.")
        dataset = build(mock, db, kind, current)
        name = download_name(kind, current, dataset, format_name, save_images)
    with mock.temp_dir() as tmp:
        out = Path(tmp) / "dataset"
        out.mkdir()
        # no progress reported: CVAT's exporters record none, so a request shows 0
        module.export(dataset, out, save_images=save_images, format_name=format_name)
        archive = Path(tmp) / "dataset.zip"
        _zip(out, archive)
        if cloud is not None:
            cloudstorages.upload(mock, cloud[0], cloud[1] or name, archive)
            return background.Result(result_url=None)
        target = export_key(kind, pk, format_name, save_images, user_id)
        exports.store(mock, target, archive, name)
    return background.Result(result_url=result_url(reporter.rq_id))


def _organization_of(ctx: Context, kind: str, obj: Any) -> int | None:
    if kind == "job":
        with ctx.mock.db.session() as db:
            task = db.get(Task, obj.task_id)
            return task.organization_id if task else None
    return obj.organization_id


def _zip(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())


def export_key(kind: str, pk: int, format_name: str, save_images: bool, user_id: int) -> str:
    """The finished export's key in the media store."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", format_name)
    what = "dataset" if save_images else "annotations"
    return f"exports/{kind}-{pk}-{what}-{slug}-by-{user_id}.zip"


def download_name(kind: str, obj: Any, dataset: base.Dataset, format_name: str,
                  save_images: bool) -> str:
    """CVAT's ``build_annotations_file_name``, then ``make_attachment_file_name``."""
    identifier = obj.name if kind in ("task", "project") else str(obj.id)
    stamp = obj.updated_date.strftime("%Y_%m_%d_%H_%M_%S")
    what = "dataset" if save_images else "annotations"
    name = f"{kind}_{identifier}_{what}_{stamp}_{format_name}.zip".lower()
    name = name.replace("\\", "\\\\").replace('"', '\\"')
    return re.sub(r"\s+", " ", "".join(ch for ch in name if ch.isprintable()))


def start_export(ctx: Context, kind: str, pk: int) -> Any:
    """``POST /api/{tasks,jobs,projects}/{id}/dataset/export``."""
    params = ctx.params
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "export:dataset")
        bucket = cloudstorages.location(ctx, db, *_storages_of(db, kind, obj, "target_storage"),
                                        source=False)
    save_images = _bool(params.get("save_images"))
    format_name = params.get("format") or ""
    exporter_for(format_name)
    work = _export_work(ctx, kind, obj, format_name, save_images,
                        cloud=(bucket.id or 0, params.get("filename")) if bucket else None)
    return CvatJSONResponse({"rq_id": ctx.mock.background.submit(work)}, status_code=202)


def download(ctx: Context, kind: str, pk: int) -> Any:
    """``GET /api/{tasks,jobs,projects}/{id}/dataset/download?rq_id=`` (2.32+)."""
    with ctx.mock.db.session() as db:
        _load(ctx, db, kind, pk, "export:dataset")

    def locate(view: Any) -> str:
        return export_key(kind, pk, view.format or "", view.subresource == "dataset",
                          view.owner_id)

    return exports.download(ctx, "dataset", exports.is_export_of(
        kind, pk, ("dataset", "annotations")), locate)


def _result_url(ctx: Context, kind: str, pk: int, save_images: bool) -> str:
    path = f"/api/{kind}s/{pk}/{'dataset' if save_images else 'annotations'}"
    query = [(k, v) for k, v in ctx.params.multi_items() if k != "action"]
    return ctx.absolute(path) + "?" + urlencode([*query, ("action", "download")])


def legacy_export(ctx: Context, kind: str, pk: int, save_images: bool) -> Any:
    """The legacy GET export endpoints: start, poll (202/201) or download."""
    params = ctx.params
    action = params.get("action")
    if action not in (None, "download"):
        raise ValidationFailed([f"Unexpected action '{action}' specified for the request"])
    format_name = params.get("format") or ""
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "export:dataset")
        if kind == "task" and save_images and not obj.data_id:
            return PlainResponse("Exporting a dataset from a task without data is not allowed",
                                 400)
    exporter_for(format_name)
    work = _export_work(ctx, kind, obj, format_name, save_images)
    engine = ctx.mock.background
    rq_id = engine.rq_id_for(work)
    view = engine.get(rq_id, poll=True)
    if action == "download":
        return _download(ctx, view, rq_id, kind, pk, format_name, save_images)
    if view is None:
        return CvatJSONResponse({"rq_id": engine.submit(work)}, status_code=202)
    if view.status in background.ACTIVE:
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
    if view.status == "failed":
        engine.forget(rq_id)
        return CvatJSONResponse(view.message, status_code=500)
    return Response(status_code=201)


def _download(ctx: Context, view: Any, rq_id: str, kind: str, pk: int, format_name: str,
              save_images: bool) -> Any:
    engine = ctx.mock.background
    if view is None:
        return PlainResponse(
            "Unknown export request id. Please request export first by sending a request "
            "without the action=download parameter.", 400)
    if view.status in background.ACTIVE:
        return PlainResponse("Dataset export has not been finished yet", 400)
    if view.status == "failed":
        engine.forget(rq_id)
        return CvatJSONResponse(view.message, status_code=500)
    key = export_key(kind, pk, format_name, save_images, ctx.user.id or 0)
    if not ctx.mock.media.exists(key):
        return CvatJSONResponse("The exported file has expired, please retry exporting",
                                status_code=404)
    # one download: the next request finds nothing, as in CVAT
    answer = exports.serve_once(ctx.mock, key, lambda name: content_disposition(name))
    engine.forget(rq_id)
    return answer


# --- import ---------------------------------------------------------------------------------------
def importer_for(name: str | None) -> Any:
    known = next((f for f in formats.IMPORTERS if f.name == name), None)
    if known is None:
        raise ValidationFailed([f"Unknown input format '{name}'"])
    module = formats.importer(known.name)
    if module is None:
        raise UnsupportedByMock([f"Importing '{known.name}' is not supported by mockcvat "
                                 "(see its README for the formats it reads)"])
    return module


def import_area(mock: MockCVAT, kind: str, pk: int) -> uploads.UploadArea:
    return mock.upload_area(f"{kind}-{pk}-annotations")


async def receive_import(ctx: Context, kind: str, pk: int) -> Any:
    """``POST …/annotations/?format=``: the upload wrapper, then a background import."""
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "import:annotations")
        bucket = None if uploads.wants(ctx.request, "upload-length") else \
            cloudstorages.location(ctx, db, *_storages_of(db, kind, obj, "source_storage"),
                                   source=True)
    import_mode(ctx)
    area = import_area(ctx.mock, kind, pk)
    if bucket is not None:  # the file is the bucket's key ``filename``
        return _start_import(ctx, kind, obj, _from_bucket(ctx, bucket, area))

    async def finish() -> Any:
        key = area.uploaded(ctx.params.get("filename"))
        if key is None:
            return CvatJSONResponse("No such file were uploaded", status_code=400)
        return _start_import(ctx, kind, obj, key)

    endpoint = ctx.absolute(f"/api/{kind}s/{pk}/annotations/")
    answer = await uploads.dispatch(ctx.request, area, endpoint, finish)
    if answer is not None:
        return answer
    return await finish()


def _from_bucket(ctx: Context, bucket: Any, area: uploads.UploadArea) -> str:
    """The bucket's file ``filename``, copied into the upload area: its key there."""
    key = ctx.params.get("filename")
    if not key:
        raise ValidationFailed(["The filename was not specified"])
    area.start()
    target = area.key(os.path.basename(key) or "import")
    cloudstorages.fetch(ctx.mock, bucket, key, target)
    return target


async def put_import(ctx: Context, kind: str, pk: int) -> Any:
    """``PUT …/annotations/?format=`` with a multipart ``annotation_file``: one request."""
    with ctx.mock.db.session() as db:
        obj = _load(ctx, db, kind, pk, "import:annotations")
    importer_for(ctx.params.get("format"))
    area = import_area(ctx.mock, kind, pk)
    area.start()
    names, _ = await area.store_multipart(ctx.request, field_prefix="annotation_file")
    if not names:
        raise ValidationFailed({"annotation_file": ["No file was submitted."]})
    return _start_import(ctx, kind, obj, area.key(names[0]))


def conv_mask_to_poly_of(ctx: Context) -> bool:
    """The ``conv_mask_to_poly`` query parameter of an import (CVAT: true unless said)."""
    return (ctx.params.get("conv_mask_to_poly") or "true").strip().lower() not in FALSE


def _masks_as_asked(data: dict[str, Any], dataset: base.Dataset, format_name: str,
                    conv_mask_to_poly: bool) -> dict[str, Any]:
    """CVAT's ``MaskToPolygonTransformation`` after the formats that call it."""
    if not conv_mask_to_poly or format_name not in formats.CONVERTS_MASKS:
        return data
    return formats.masks_as_polygons(data, {f.frame: (f.height, f.width)
                                            for f in dataset.frames})


IMPORT_MODES = ("append", "replace")


def import_mode(ctx: Context) -> str:
    """``?import_mode=`` (2.65+; unknown before): ``append`` adds the file's annotations to the
    existing ones, ``replace`` (the default) replaces them."""
    mode = ctx.params.get("import_mode") if ctx.mock.compat.has(since=compat.RELEASE_2_65) else None
    if mode is None:
        return "replace"
    if mode not in IMPORT_MODES:
        raise ValidationFailed({"import_mode": [f'"{mode}" is not a valid choice.']})
    return mode


def _start_import(ctx: Context, kind: str, obj: Any, key: str) -> Any:
    """``key``: the uploaded file in the media store."""
    format_name = ctx.params.get("format") or ""
    importer_for(format_name)
    task_id = obj.id if kind == "task" else obj.task_id
    work = background.Work(
        action="import", target=kind, target_id=obj.id, owner_id=ctx.user.id or 0,
        organization_id=_organization_of(ctx, kind, obj), subresource="annotations",
        project_id=getattr(obj, "project_id", None), task_id=task_id,
        job_id=obj.id if kind == "job" else None, job="datasets.import", args={
            "kind": kind, "pk": obj.id, "task_id": task_id, "key": key,
            "format_name": format_name, "conv_mask_to_poly": conv_mask_to_poly_of(ctx),
            "action": "create" if import_mode(ctx) == "append" else "put"})
    return CvatJSONResponse({"rq_id": ctx.mock.background.submit(work)}, status_code=202)


@background.job("datasets.import")
def _import(mock: MockCVAT, reporter: background.Reporter, kind: str, pk: int, task_id: int,
            key: str, format_name: str, conv_mask_to_poly: bool = True,
            action: str = "put") -> None:
    """``action``: "put" replaces the annotations, "create" adds to them (``import_mode``)."""
    module = importer_for(format_name)
    with mock.temp_dir() as tmp:
        source = _unpack(mock.media.local_file(key, Path(tmp) / "upload"), Path(tmp))
        with mock.db.session() as db:
            current = db.get(KINDS[kind], pk)
            if current is None:
                raise background.RequestFailed(f"The {kind} was deleted.")
            dataset = build(mock, db, kind, current)
        try:
            data = module.import_(dataset, source, format_name=format_name)
        except base.ImportFailed as exc:
            raise background.RequestFailed(f"CvatImportError: {exc}\n") from None
        data = _masks_as_asked(data, dataset, format_name, conv_mask_to_poly)
    with mock.db.session() as db:  # no progress reported: CVAT's importer records none
        task = db.get(Task, task_id)
        if task is None:
            raise background.RequestFailed("The task was deleted.")
        book = annotations.LabelBook(db, task)
        payload = {"version": 0, **{k: data.get(k, []) for k in annotations.kinds()}}
        if kind == "job":
            job = db.get(Job, pk)
            annotations.write_job(db, pk, payload, action, book)
            if job is not None:
                annotations.touch(db, job)
        else:
            annotations.write_task(db, task, payload, action, book)


MAX_MEMBERS, MAX_UNPACKED = 100_000, 4 << 30


def _unpack(path: Path, into: Path) -> Path:
    """A zip is extracted (entries checked); any other file is passed as it is."""
    if not zipfile.is_zipfile(path):
        target = into / path.name
        shutil.copyfile(path, target)
        return target
    root = into / "extracted"
    root.mkdir()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
                raise background.RequestFailed("The archive is too large to be imported.")
            for member in members:
                name = member.filename
                if name.startswith(("/", "\\")) or ".." in Path(name).parts or "\x00" in name:
                    raise background.RequestFailed(f"Unsafe path in the archive: {name!r}")
            archive.extractall(root)
    except zipfile.BadZipFile as exc:
        raise background.RequestFailed(f"zipfile.BadZipFile: {exc}\n") from None
    return root



def tus_area(ctx: Context, kind: str, pk: int) -> uploads.UploadArea:
    with ctx.mock.db.session() as db:
        _load(ctx, db, kind, pk, "import:annotations")
    return import_area(ctx.mock, kind, pk)


# --- projects: a dataset with images becomes the project's tasks ----------------------------------
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def project_import_area(mock: MockCVAT, pk: int) -> uploads.UploadArea:
    return mock.upload_area(f"project-{pk}-dataset")


async def receive_project_import(ctx: Context, pk: int) -> Any:
    """``POST /api/projects/{id}/dataset/?format=``: the upload wrapper or a multipart
    ``dataset_file``, then a background import that creates one task per subset."""
    with ctx.mock.db.session() as db:
        project = projects.load(ctx, db, pk, "import:dataset")
        bucket = None if uploads.wants(ctx.request, "upload-length") else \
            cloudstorages.location(ctx, db, project.source_storage_id, project.organization_id,
                                   source=True)
    area = project_import_area(ctx.mock, pk)
    if bucket is not None:  # the file is the bucket's key ``filename``
        return _start_project_import(ctx, project, _from_bucket(ctx, bucket, area))

    async def finish() -> Any:
        key = area.uploaded(ctx.params.get("filename"))
        if key is None:  # the one-request form: a multipart body
            area.start()
            names, _ = await area.store_multipart(ctx.request, field_prefix="dataset_file")
            if not names:
                raise ValidationFailed({"dataset_file": ["No file was submitted."]})
            if not names[0].endswith(".zip"):
                raise ValidationFailed({"dataset_file": ["Dataset file should be zip archive"]})
            key = area.key(names[0])
        return _start_project_import(ctx, project, key)

    endpoint = ctx.absolute(f"/api/projects/{pk}/dataset/")
    answer = await uploads.dispatch(ctx.request, area, endpoint, finish)
    return answer if answer is not None else await finish()


def _start_project_import(ctx: Context, project: Project, key: str) -> Any:
    format_name = ctx.params.get("format") or ""
    importer_for(format_name)
    owner_id = ctx.user.id or 0
    work = background.Work(
        action="import", target="project", target_id=project.id or 0, owner_id=owner_id,
        organization_id=project.organization_id, subresource="dataset",
        project_id=project.id, job="datasets.import_project", args={
            "pk": project.id or 0, "owner_id": owner_id, "key": key,
            "format_name": format_name, "conv_mask_to_poly": conv_mask_to_poly_of(ctx)})
    return CvatJSONResponse({"rq_id": ctx.mock.background.submit(work)}, status_code=202)


@background.job("datasets.import_project")
def _import_project(mock: MockCVAT, reporter: background.Reporter, pk: int, owner_id: int,
                    key: str, format_name: str, conv_mask_to_poly: bool = True) -> None:
    module = importer_for(format_name)
    created: list[int] = []
    try:
        with mock.temp_dir() as tmp:
            source = _unpack(mock.media.local_file(key, Path(tmp) / "upload"), Path(tmp))
            layout = getattr(module, "image_layout", None)
            if format_name not in getattr(module, "LAYOUT_FORMATS", module.IMPORTS):
                layout = None
            subsets = _images_by_subset(source) if layout is None \
                else _staged_images(source, Path(tmp) / "staged", layout)
            if not subsets:
                raise background.RequestFailed(
                    "ValueError: The dataset has no images to make tasks from\n")
            learn = _has_no_labels(mock, pk)
            for subset, (root, files) in sorted(subsets.items()):
                plan = _new_task(mock, pk, owner_id, subset, root, files)
                created.append(plan.task_id)
                task_data.process(mock, plan, reporter)
                if learn:
                    _learn_labels(mock, pk, plan.task_id, module, source, format_name)
                _import_into_task(mock, plan.task_id, module, source, format_name,
                                  conv_mask_to_poly)
    except BaseException:
        _drop_tasks(mock, created)  # nothing half-made
        raise


def _images_by_subset(source: Path) -> dict[str, tuple[Path, list[str]]]:
    """Images of an extracted dataset: under ``images/<subset>/`` (or ``images/``, or anywhere
    else: the "default" subset), named as the annotations name them."""
    found: dict[str, tuple[Path, list[str]]] = {}
    if not source.is_dir():
        return found
    for path in sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        parts = path.relative_to(source).parts
        subset, root = "default", source
        if "images" in parts[:-1]:
            at = parts.index("images")
            images_dir = source.joinpath(*parts[:at + 1])
            root = images_dir
            if _has_subsets(images_dir):
                subset, root = parts[at + 1], images_dir / parts[at + 1]
        files = found.setdefault(subset, (root, []))[1]
        files.append(path.relative_to(root).as_posix())
    return found


def _staged_images(source: Path, staging: Path, layout: Any
                   ) -> dict[str, tuple[Path, list[str]]]:
    """The images (or point clouds and their context images) of a dataset whose format names
    where they are (``image_layout(parts)`` of the format module: a path's parts → (subset,
    frame name), or None for anything else), linked under ``staging/<subset>/<frame name>`` so
    that the frames are named as the annotations name their items."""
    found: dict[str, tuple[Path, list[str]]] = {}
    if not source.is_dir():
        return found
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        placed = layout(path.relative_to(source).parts)
        if placed is None or Path(placed[1]).suffix.lower() not in IMAGE_SUFFIXES | {".pcd"}:
            continue
        subset, name = placed
        root, files = found.setdefault(subset, (staging / subset, []))
        if name in files:
            continue  # the same image saved once per label (VGGFace2)
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
        files.append(name)
    return found


def _has_subsets(images_dir: Path) -> bool:
    """``images/<subset>/…`` (project exports, COCO) rather than ``images/<frame name>``."""
    return any(p.is_dir() for p in images_dir.iterdir()) and not any(
        p.is_file() for p in images_dir.iterdir())


def _new_task(mock: MockCVAT, project_id: int, owner_id: int, name: str, root: Path,
              files: list[str]) -> task_data.Plan:
    """A task of the project for one subset, its data still to be processed."""
    with mock.db.session() as db:
        project = db.get(Project, project_id)
        if project is None:
            raise background.RequestFailed("The project was deleted during the import.")
        task = Task(name=name, project_id=project_id, owner_id=owner_id,
                    organization_id=project.organization_id, subset=name)
        data = Data(image_quality=70)
        db.add_all([task, data])
        db.flush()
        task.data_id = data.id
        db.add(task)
        return task_data.Plan(task_id=task.id or 0, data_id=data.id or 0, root=root,
                              files=files)


def _has_no_labels(mock: MockCVAT, project_id: int) -> bool:
    with mock.db.session() as db:
        return db.execute(select(Label.id).where(Label.project_id == project_id).limit(1)
                          ).first() is None


def _learn_labels(mock: MockCVAT, project_id: int, task_id: int, module: Any, source: Path,
                  format_name: str) -> None:
    """CVAT's ``import_labels_to_project`` for a project without labels: the dataset's label
    names become the project's labels (type "any"), before its annotations are imported. The
    names are learned by a dry run of the importer that accepts unknown labels."""
    with mock.db.session() as db:
        dataset = build(mock, db, "task", db.get(Task, task_id))
    dataset.learned_labels = []
    try:
        module.import_(dataset, source, format_name=format_name)
    except base.ImportFailed:
        pass  # the real import reports it
    names = list(dict.fromkeys(dataset.learned_labels))
    if names:
        with mock.db.session() as db:
            labels.create_labels(db, [{"name": name} for name in names],
                                 {"project_id": project_id, "task_id": None})
            project = db.get(Project, project_id)
            if project is not None:
                project.updated_date = utcnow()
                db.add(project)


def _import_into_task(mock: MockCVAT, task_id: int, module: Any, source: Path,
                      format_name: str, conv_mask_to_poly: bool = True) -> None:
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        dataset = build(mock, db, "task", task)
    try:
        data = module.import_(dataset, source, format_name=format_name)
    except base.ImportFailed as exc:
        raise background.RequestFailed(f"CvatImportError: {exc}\n") from None
    data = _masks_as_asked(data, dataset, format_name, conv_mask_to_poly)
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        payload = {"version": 0, **{k: data.get(k, []) for k in annotations.kinds()}}
        annotations.write_task(db, task, payload, "put", annotations.LabelBook(db, task))


def _drop_tasks(mock: MockCVAT, task_ids: list[int]) -> None:
    with mock.db.session() as db:
        for task_id in task_ids:
            tasks.remove_files(mock, db, task_id)
            task = db.get(Task, task_id)
            if task is not None:
                db.delete(task)


def project_dataset(ctx: Context, pk: int) -> Any:
    """``GET /api/projects/{id}/dataset/``: the legacy export, or an import's status. From 2.32
    the export answers 410 (PR 9075), from 2.38 the status check too (PR 9230)."""
    checking = ctx.params.get("action") == "import_status"
    with ctx.mock.db.session() as db:
        projects.load(ctx, db, pk, "import:dataset" if checking else "export:dataset")
    if checking and ctx.mock.compat.has(since=compat.NO_LEGACY_IMPORTS):
        raise gone_when_checking_process_status("import")
    if not checking and exports.has_download_endpoint():
        raise gone_for_export_api("/api/projects/id/dataset/export?save_images=True")
    if checking:
        rq_id = ctx.params.get("rq_id") or ""
        view = ctx.mock.background.get(rq_id, poll=True)
        if view is None or view.target != "project" or view.target_id != pk:
            return PlainResponse("Unknown request id", 404)
        if view.status == "finished":
            ctx.mock.background.forget(rq_id)
            return Response(status_code=201)
        if view.status == "failed":
            ctx.mock.background.forget(rq_id)
            return CvatJSONResponse(view.message, status_code=500)
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
    return legacy_export(ctx, "project", pk, save_images=True)


def project_annotations(ctx: Context, pk: int) -> Any:
    if not ctx.params.get("format"):
        return CvatJSONResponse("Format is not specified", status_code=400)
    return legacy_export(ctx, "project", pk, save_images=False)


def project_tus_area(ctx: Context, pk: int) -> uploads.UploadArea:
    with ctx.mock.db.session() as db:
        projects.load(ctx, db, pk, "import:dataset")
    return project_import_area(ctx.mock, pk)
