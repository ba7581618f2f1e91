"""Annotation guides and their assets (``AnnotationGuidesViewSet``, ``AssetsViewSet``).

A guide is markdown for one task or one project (each has at most one; ``guide_id`` in their
payloads, and a job's is its project's guide, else its task's). Images and PDFs are uploaded
as assets of a guide and referenced from the markdown as ``(/api/assets/<uuid>)``. Saving a
guide reconciles its assets as CVAT does: assets of *other* guides that the markdown refers to
(and the caller may view) are copied into this guide, with the markdown rewritten to the
copies; this guide's assets the markdown no longer refers to are deleted.

CVAT's limits (``settings/base.py``): 10 MB per asset, 30 assets per guide, the types below;
JPEG and PNG uploads are decoded and saved again with Pillow (resized to fit 1920 px), others
are stored as received. The bytes live under the data dir: ``assets/<uuid>/<filename>``.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import unicodedata
import uuid as uuidlib
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import bindparam, func, select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from mockcvat import iam
from mockcvat.errors import NotAuthenticated, NotFound, ValidationFailed
from mockcvat.http import read_json, stored_file
from mockcvat.models import AnnotationGuide, Asset, Job, Project, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.guides import AnnotationGuideRead, AnnotationGuideWrite, AssetRead
from mockcvat.services import resources
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

ASSET_MAX_SIZE_MB = 10
ASSET_SUPPORTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")
ASSET_MAX_IMAGE_SIZE = 1920
ASSET_MAX_COUNT_PER_GUIDE = 30
ASSET_LINK = re.compile(r"\(/api/assets/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)")
REENCODED = ("image/jpeg", "image/png")


# --- where the bytes live -------------------------------------------------------------------------
def asset_dir(asset_uuid: str) -> str:
    """The prefix of an asset's file in the media store."""
    return f"assets/{asset_uuid}/"


def asset_key(asset: Asset) -> str:
    return asset_dir(asset.uuid) + asset.filename


def remove_asset_files(mock: MockCVAT, db: Session, condition: Any) -> None:
    """Deletes the files of the assets whose guide matches ``condition`` (a SQL condition on
    ``AnnotationGuide``); their rows go with the guide (foreign keys)."""
    for asset_uuid in db.execute(select(Asset.uuid).join(
            AnnotationGuide, AnnotationGuide.id == Asset.guide_id).where(condition)).scalars():
        mock.media.delete_prefix(asset_dir(asset_uuid))


# built once: every page of a task, job or project list runs them (a reused statement skips
# SQLAlchemy's construction and cache-key work)
_OF_TASKS = select(AnnotationGuide.task_id, AnnotationGuide.id).where(
    AnnotationGuide.task_id.in_(bindparam("ids", expanding=True)))
_OF_PROJECTS = select(AnnotationGuide.project_id, AnnotationGuide.id).where(
    AnnotationGuide.project_id.in_(bindparam("ids", expanding=True)))


def guide_ids(db: Any, *, task_ids: Iterable[int] = (), project_ids: Iterable[int] = ()
              ) -> tuple[dict[int, int], dict[int, int]]:
    """The guides of some tasks and projects: ({task id: guide id}, {project id: guide id})."""
    tasks, projects = list(task_ids), list(project_ids)
    of_tasks = dict(db.execute(_OF_TASKS, {"ids": tasks}).all()) if tasks else {}
    of_projects = dict(db.execute(_OF_PROJECTS, {"ids": projects}).all()) if projects else {}
    return of_tasks, of_projects


# --- representation ----------------------------------------------------------------------------
def guide_payload(guide: AnnotationGuide) -> dict[str, Any]:
    return AnnotationGuideRead.dump({
        "id": guide.id, "task_id": guide.task_id, "project_id": guide.project_id,
        "created_date": guide.created_date, "updated_date": guide.updated_date,
        "markdown": guide.markdown}) or {}


def asset_payload(ctx: Context, db: Any, asset: Asset) -> dict[str, Any]:
    return AssetRead.dump({
        "uuid": asset.uuid, "filename": asset.filename, "created_date": asset.created_date,
        "owner": basic_users(ctx, db, [asset.owner_id]).get(asset.owner_id),
        "guide_id": asset.guide_id}) or {}


# --- the policy's view of a guide ----------------------------------------------------------------
def _target(db: Session, guide: AnnotationGuide) -> Task | Project:
    if guide.project_id is not None:
        return resources.get(db, Project, guide.project_id, "Project")
    return resources.get(db, Task, guide.task_id or 0, "Task")


def _judge(ctx: Context, db: Session, target: Task | Project) -> tuple[iam.Standing, bool, bool]:
    """The caller's standing in the target's organization, whether they are the target's
    staff (owner, assignee) and whether they work in it (a task or job of it is theirs)."""
    me = ctx.user.id
    standing = iam.engine(ctx).standing(db, organization_id=target.organization_id)
    target_staff = me in (target.owner_id, target.assignee_id)
    jobs = select(Job.id).join(Task, Task.id == Job.task_id).where(Job.assignee_id == me)
    if isinstance(target, Project):
        jobs = jobs.where(Task.project_id == target.id)
        tasks = select(Task.id).where(Task.project_id == target.id,
                                      (Task.owner_id == me) | (Task.assignee_id == me))
        job_staff = db.execute(jobs.union(tasks).limit(1)).first() is not None
    else:
        job_staff = db.execute(jobs.where(Task.id == target.id).limit(1)).first() is not None
    return standing, target_staff, job_staff


def _allowed(ctx: Context, db: Session, guide: AnnotationGuide, scope: str) -> bool:
    standing, target_staff, job_staff = _judge(ctx, db, _target(db, guide))
    return iam.engine(ctx).allow_guide(scope, standing, target_staff=target_staff,
                                       job_staff=job_staff)


def _load(ctx: Context, db: Session, guide_id: int, scope: str) -> AnnotationGuide:
    guide = resources.get(db, AnnotationGuide, guide_id, "AnnotationGuide")
    iam.engine(ctx).check(_allowed(ctx, db, guide, scope))
    return guide


def _check_update_in_request_context(ctx: Context, db: Session,
                                     target: Task | Project | None) -> None:
    """Creating a guide, or an asset of one, is judged in the request's org context (CVAT
    builds these permissions before there is an object to take the context from)."""
    policy = iam.engine(ctx)
    if target is None:  # nothing named: no one is the target's staff
        policy.check(policy.admin)
        return
    standing, target_staff, _ = _judge(ctx, db, target)
    policy.check(policy.allow_create_in(standing, staff=target_staff, least="user"))


# --- guides --------------------------------------------------------------------------------------
def retrieve_guide(ctx: Context, guide_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return guide_payload(_load(ctx, db, guide_id, "view"))


def create_guide(ctx: Context, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        target: Task | Project | None = None
        if isinstance(raw, Mapping) and raw.get("project_id") is not None:
            target = resources.referenced(db, raw, "project_id", Project, AnnotationGuideWrite)
        elif isinstance(raw, Mapping) and raw.get("task_id") is not None:
            target = resources.referenced(db, raw, "task_id", Task, AnnotationGuideWrite)
        _check_update_in_request_context(ctx, db, target)
        data = AnnotationGuideWrite.validate(raw)
        project_id, task_id = data.get("project_id"), data.get("task_id")
        if project_id is None and task_id is None:
            raise ValidationFailed(["One of project_id or task_id must be specified"])
        if project_id is not None and task_id is not None:
            raise ValidationFailed(["Both project_id and task_id must not be specified"])
        target = _existing_target(db, project_id, task_id)
        kind = "project" if isinstance(target, Project) else "task"
        if db.execute(select(AnnotationGuide.id).where(
                getattr(AnnotationGuide, f"{kind}_id") == target.id)).first():
            # CVAT: an IntegrityError (500)
            raise ValidationFailed([f"The {kind} #{target.id} already has an annotation guide"])
        now = utcnow()
        guide = AnnotationGuide(project_id=project_id, task_id=task_id,
                                markdown=data.get("markdown", ""), created_date=now,
                                updated_date=now)
        db.add(guide)
        db.flush()
        _reconcile_assets(ctx, db, guide)
        _touch(db, target)
        return guide_payload(guide)


def _existing_target(db: Session, project_id: int | None, task_id: int | None
                     ) -> Task | Project:
    if project_id is not None:
        project = db.get(Project, project_id) if 0 <= project_id < 2**63 else None
        if project is None:
            raise ValidationFailed([f"The specified project #{project_id} does not exist."])
        return project
    task = db.get(Task, task_id) if task_id is not None and 0 <= task_id < 2**63 else None
    if task is None:
        raise ValidationFailed([f"The specified task #{task_id} does not exist."])
    return task


def update_guide(ctx: Context, guide_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        guide = _load(ctx, db, guide_id, "update")
        data = AnnotationGuideWrite.validate(raw, partial=True)
        for key in ("project_id", "task_id"):
            if key in data and data[key] != getattr(guide, key):
                # CVAT writes the new id as is and can leave a guide on two objects or none
                raise ValidationFailed({key: ["The task or project of a guide cannot be "
                                              "changed; delete the guide and create another"]})
        if "markdown" in data:
            guide.markdown = data["markdown"]
        guide.updated_date = utcnow()
        db.add(guide)
        db.flush()
        _reconcile_assets(ctx, db, guide)
        _touch(db, _target(db, guide))
        return guide_payload(guide)


def destroy_guide(ctx: Context, guide_id: int) -> None:
    """The guide and its assets."""
    with ctx.mock.db.session() as db:
        guide = _load(ctx, db, guide_id, "delete")
        target = _target(db, guide)
        remove_asset_files(ctx.mock, db, AnnotationGuide.id == guide.id)
        db.delete(guide)
        db.flush()
        _touch(db, target)


def _touch(db: Session, target: Task | Project) -> None:
    target.updated_date = utcnow()
    db.add(target)


def _reconcile_assets(ctx: Context, db: Session, guide: AnnotationGuide) -> None:
    """``_update_related_assets``: copy the referenced assets of other guides the caller may
    view, and delete this guide's assets the markdown does not refer to."""
    kept: set[str] = set()
    for written in sorted(set(ASSET_LINK.findall(guide.markdown))):
        asset = db.get(Asset, written.lower())
        if asset is None:
            continue
        if asset.guide_id == guide.id:
            kept.add(asset.uuid)
            continue
        source = db.get(AnnotationGuide, asset.guide_id)
        if source is None or not _allowed(ctx, db, source, "view"):
            continue
        copy = Asset(uuid=str(uuidlib.uuid4()), filename=asset.filename, owner_id=ctx.user.id,
                     guide_id=guide.id or 0)
        db.add(copy)
        ctx.mock.media.copy(asset_key(asset), asset_key(copy))
        guide.markdown = guide.markdown.replace(f"(/api/assets/{written})",
                                                f"(/api/assets/{copy.uuid})")
        kept.add(copy.uuid)
    for asset in db.execute(select(Asset).where(Asset.guide_id == guide.id)).scalars().all():
        if asset.uuid not in kept:
            ctx.mock.media.delete_prefix(asset_dir(asset.uuid))
            db.delete(asset)
    db.add(guide)
    db.flush()


# --- assets --------------------------------------------------------------------------------------
async def create_asset(ctx: Context) -> dict[str, Any]:
    """``POST /api/assets``: a multipart form with ``file`` and ``guide_id`` (CVAT also parses
    JSON, which then never has a file)."""
    content_type = ctx.request.headers.get("content-type", "")
    form = None
    if content_type.startswith("multipart/form-data"):
        form = await ctx.request.form(max_files=16, max_fields=64)
        fields: Mapping[str, Any] = form
    else:
        raw = await read_json(ctx.request)
        fields = raw if isinstance(raw, Mapping) else {}
    try:
        return _store_asset(ctx, fields)
    finally:
        if form is not None:
            await form.close()


def _store_asset(ctx: Context, fields: Mapping[str, Any]) -> dict[str, Any]:
    mock = ctx.mock
    with mock.db.session() as db:
        guide = _guide_named(db, fields.get("guide_id"))
        target = _target(db, guide)
        _check_update_in_request_context(ctx, db, target)
        upload = fields.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed(["Asset file was not provided"])
        size = upload.size if upload.size is not None else _size_of(upload)
        if size / (1024 * 1024) > ASSET_MAX_SIZE_MB:
            raise ValidationFailed([f"Maximum size of asset is {ASSET_MAX_SIZE_MB} MB"])
        if (upload.content_type or "") not in ASSET_SUPPORTED_TYPES:
            raise ValidationFailed(["File is not supported as an asset. Supported are "
                                    f"{ASSET_SUPPORTED_TYPES!r}"])
        count = db.execute(select(func.count()).select_from(Asset).where(
            Asset.guide_id == guide.id)).scalar_one()
        if count >= ASSET_MAX_COUNT_PER_GUIDE:
            raise ValidationFailed(["Maximum number of assets per guide reached"])
        filename = _filename(upload.filename)
        asset = Asset(uuid=str(uuidlib.uuid4()), filename=filename, owner_id=ctx.user.id,
                      guide_id=guide.id or 0)
        with mock.temp_dir() as scratch:  # written (or re-encoded) here, then stored
            written = Path(scratch) / filename
            _write_asset(upload, upload.content_type or "", written)
            mock.media.move_in(asset_key(asset), written)
        db.add(asset)
        db.flush()
        return asset_payload(ctx, db, asset)


def _guide_named(db: Session, raw: Any) -> AnnotationGuide:
    """``AnnotationGuide.objects.get(id=guide_id)`` in ``GuideAssetPermission``: any failure is
    a 400 (a value that is no id: CVAT's 500)."""
    try:
        if raw is None or isinstance(raw, bool | UploadFile):
            raise ValueError
        pk = int(raw)
        guide = db.get(AnnotationGuide, pk) if 0 <= pk < 2**63 else None
    except (TypeError, ValueError, OverflowError):
        guide = None
    if guide is None:
        raise ValidationFailed(["AnnotationGuide matching query does not exist."])
    return guide


def _size_of(upload: UploadFile) -> int:
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    return size


def _filename(name: str) -> str:
    """Django keeps the base name of an uploaded file; it must be a file name and fit the
    model's 1024 characters."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if base in ("", ".", "..") or "\x00" in base:
        raise ValidationFailed({"filename": ["This field may not be blank."]})
    if len(base) > 1024:
        raise ValidationFailed({"filename": [
            "Ensure this field has no more than 1024 characters."]})
    return base


def _write_asset(upload: UploadFile, content_type: str, path: Path) -> None:
    """JPEG/PNG: decoded and saved again by Pillow, in the format the file name says, scaled
    down to fit ``ASSET_MAX_IMAGE_SIZE``; other types: the bytes as received."""
    upload.file.seek(0)
    if content_type not in REENCODED:
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        return
    try:
        with Image.open(upload.file) as image:
            if any(side > ASSET_MAX_IMAGE_SIZE for side in image.size):
                scale = ASSET_MAX_IMAGE_SIZE / max(image.size)
                image = image.resize(tuple(int(side * scale) for side in image.size))
            image.save(path)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        # CVAT: a 500 after the asset row was saved
        raise ValidationFailed([f"The file could not be saved as an image: {exc}"]) from None


def _asset(db: Session, raw_uuid: str) -> Asset:
    try:
        key = str(uuidlib.UUID(raw_uuid))
    except ValueError:
        raise NotFound() from None  # DRF's get_object_or_404 on a malformed UUID
    return resources.get(db, Asset, key, "Asset")


def retrieve_asset(ctx: Context, raw_uuid: str) -> Response:
    """The stored file, as django-sendfile2 serves it: inline, type guessed from the name."""
    with ctx.mock.db.session() as db:
        asset = _asset(db, raw_uuid)
        guide = resources.get(db, AnnotationGuide, asset.guide_id, "AnnotationGuide")
        if ctx.identity is None:
            if not guide.is_public:
                raise NotAuthenticated()
        else:
            iam.engine(ctx).check(_allowed(ctx, db, guide, "view"))
        key = asset_key(asset)
    if not ctx.mock.media.exists(key):
        raise NotFound(f'"{asset.filename}" does not exist')
    media_type, encoding = mimetypes.guess_type(asset.filename)
    headers = {"Content-Disposition": _inline(asset.filename)}
    if encoding:
        headers["Content-Encoding"] = encoding
    return stored_file(ctx.mock.media, key,
                       media_type=media_type or "application/octet-stream", headers=headers)


def _inline(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    header = f'inline; filename="{ascii_name}"'
    if ascii_name != name:
        from urllib.parse import quote

        header += f"; filename*=UTF-8''{quote(name)}"
    return header


def destroy_asset(ctx: Context, raw_uuid: str) -> None:
    with ctx.mock.db.session() as db:
        asset = _asset(db, raw_uuid)
        guide = resources.get(db, AnnotationGuide, asset.guide_id, "AnnotationGuide")
        iam.engine(ctx).check(_allowed(ctx, db, guide, "update"))
        ctx.mock.media.delete_prefix(asset_dir(asset.uuid))
        db.delete(asset)


# --- backups: CVAT's ``_write_annotation_guide``, ``_read_annotation_guide`` and
# ``_import_annotation_guide`` (``engine/backup.py``) ------------------------------------------
GUIDE_FILE = "annotation_guide.md"
ASSETS_DIR = "assets"


def write_to_backup(mock: MockCVAT, db: Session, archive: zipfile.ZipFile, condition: Any,
                    prefix: str) -> None:
    """``<prefix>annotation_guide.md`` with its asset links rewritten to the archive's
    ``<prefix>assets/<filename>``, and those files; nothing when there is no guide."""
    guide = db.execute(select(AnnotationGuide).where(condition)).scalars().first()
    if guide is None:
        return
    markdown = guide.markdown
    for asset in db.execute(select(Asset).where(Asset.guide_id == guide.id)
                            .order_by(Asset.created_date)).scalars():
        name = f"{prefix}{ASSETS_DIR}/{asset.filename}"
        markdown = markdown.replace(f"/api/assets/{asset.uuid}", name)
        if mock.media.exists(asset_key(asset)):
            archive.writestr(name, mock.media.get(asset_key(asset)))
    archive.writestr(prefix + GUIDE_FILE, markdown)


def read_from_backup(archive: zipfile.ZipFile, prefix: str
                     ) -> tuple[str | None, list[tuple[str, bytes]]]:
    """The guide's markdown (None: the archive has none) and its assets, checked against the
    limits of uploads (``ValidationFailed`` with CVAT's messages)."""
    names = archive.namelist()
    if prefix + GUIDE_FILE not in names:
        return None, []
    infos = [info for info in archive.infolist()
             if info.filename.startswith(f"{prefix}{ASSETS_DIR}/") and not info.is_dir()]
    if len(infos) > ASSET_MAX_COUNT_PER_GUIDE:
        raise ValidationFailed(["Maximum number of assets per guide reached"])
    assets = []
    for info in infos:
        if info.file_size / (1024 * 1024) > ASSET_MAX_SIZE_MB:
            raise ValidationFailed([f"Maximum size of asset is {ASSET_MAX_SIZE_MB} MB"])
        if mimetypes.guess_type(info.filename)[0] not in ASSET_SUPPORTED_TYPES:
            raise ValidationFailed(["File is not supported as an asset. Supported are "
                                    f"{ASSET_SUPPORTED_TYPES!r}"])
        assets.append((info.filename, archive.read(info)))
    markdown = archive.read(prefix + GUIDE_FILE).decode("utf-8")
    return markdown, assets


def restore_from_backup(mock: MockCVAT, db: Session, markdown: str,
                        assets: list[tuple[str, bytes]], owner_id: int, *,
                        task_id: int | None = None, project_id: int | None = None) -> None:
    """The guide of a restored task or project: assets stored as they are in the archive,
    the markdown's archive paths rewritten to their new uuids. (CVAT 2.26 leaves such assets
    without an owner, which ``AssetRead`` cannot show; later releases give them the user who
    restores, as here.)"""
    guide = AnnotationGuide(task_id=task_id, project_id=project_id, markdown=markdown)
    db.add(guide)
    db.flush()
    for name, data in assets:
        filename = _filename(name)
        asset = Asset(uuid=str(uuidlib.uuid4()), filename=filename, owner_id=owner_id,
                      guide_id=guide.id or 0)
        mock.media.put(asset_key(asset), data)
        db.add(asset)
        guide.markdown = guide.markdown.replace(name, f"/api/assets/{asset.uuid}")
    db.add(guide)
    db.flush()
