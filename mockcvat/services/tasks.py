"""Tasks (``TaskViewSet``): CRUD with labels or a project, and the summaries CVAT computes.
Their data (upload, processing, frames) is ``mockcvat.services.task_data``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, func, select

from mockcvat import compat, iam, listing
from mockcvat.compat import ByVersion
from mockcvat.errors import ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import AnnotationGuide, Data, Job, Label, Project, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.jobs import DIMENSIONS, MEDIA_TYPE_OF, MODES
from mockcvat.schemas.tasks import TaskRead, TaskWrite
from mockcvat.services import cloudstorages, guides, labels, resources, task_data
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

STATUSES = ("annotation", "validation", "completed")

VALIDATION_MODE = (
    select(Data.validation["mode"].as_string()).where(Data.id == Task.data_id)
    .scalar_subquery())

LISTING = listing.Listing(
    fields={
        "id": FilterField("id", Task.id, "int"),
        "project_id": FilterField("project_id", Task.project_id, "int", nullable=True),
        "project_name": FilterField(
            "project_name",
            select(Project.name).where(Project.id == Task.project_id).scalar_subquery(),
            nullable=True),
        "name": FilterField("name", Task.name),
        "owner": FilterField("owner", username_of(Task.owner_id), nullable=True),
        "assignee": FilterField("assignee", username_of(Task.assignee_id), nullable=True),
        "status": FilterField("status", Task.status),
        "subset": FilterField("subset", Task.subset),
        "mode": FilterField("mode", Task.mode),
        "dimension": FilterField("dimension", Task.dimension),
        "tracker_link": FilterField("tracker_link", Task.bug_tracker),
        "validation_mode": FilterField("validation_mode", VALIDATION_MODE, nullable=True),
        "updated_date": FilterField("updated_date", Task.updated_date, "datetime"),
        # cvat-sdk 2.65
        "media_type": FilterField("media_type", resources.media_type_of(Task.dimension),
                                  since=compat.MEDIA_TYPES),
    },
    filter_fields=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
                   "dimension", "tracker_link", "validation_mode", "id", "project_id",
                   "updated_date", "media_type"),
    search_fields=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
                   "dimension", "tracker_link", "validation_mode"),
    ordering_fields=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
                     "dimension", "tracker_link", "validation_mode", "id", "project_id",
                     "updated_date", "media_type"),
    simple_filters=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
                    "dimension", "tracker_link", "validation_mode", "project_id",
                    "media_type"),
    # cvat-sdk 2.64: the mode filter lists its values
    simple_filter_choices={"status": STATUSES, "dimension": DIMENSIONS,
                           "validation_mode": ("gt", "gt_pool"),
                           "media_type": tuple(MEDIA_TYPE_OF.values()),
                           "mode": ByVersion(None, ("2.64.0", MODES))},
)

# PATCHed field -> the scope it needs (TaskPermission.get_scopes, tasks.rego); the write-once
# fields pass as descriptions and are then ignored
SCOPES = {"name": "update:desc", "labels": "update:desc", "bug_tracker": "update:desc",
          "subset": "update:desc", "overlap": "update:desc", "segment_size": "update:desc",
          "consensus_replicas": "update:desc",
          "owner_id": "update:owner", "assignee_id": "update:assignee",
          "project_id": "update:project", "organization": "update:organization",
          "source_storage": "update:associated_storage",
          "target_storage": "update:associated_storage"}


# --- representation ----------------------------------------------------------------------------
# built once: every page of the list runs them (a reused statement skips SQLAlchemy's
# construction and cache-key work)
_JOB_COUNTS = (
    select(Job.task_id, func.count(),
           func.sum(case(((Job.stage == "acceptance") & (Job.state == "completed"), 1),
                         else_=0)),
           func.sum(case((Job.stage == "validation", 1), else_=0)))
    .where(Job.task_id.in_(bindparam("ids", expanding=True))).group_by(Job.task_id))


def payloads(ctx: Context, db: Any, tasks: Iterable[Any]) -> list[dict[str, Any]]:
    tasks = list(tasks)
    ids = [t.id for t in tasks]
    people = basic_users(ctx, db, [t.owner_id for t in tasks] + [t.assignee_id for t in tasks])
    stores = resources.storages(db, [t.source_storage_id for t in tasks]
                                + [t.target_storage_id for t in tasks])
    project_ids = {t.project_id for t in tasks if t.project_id}
    projects = dict(db.execute(select(Project.id, Project.name).where(
        Project.id.in_(project_ids))).all()) if project_ids else {}
    data_ids = [t.data_id for t in tasks if t.data_id]
    datas = resources.rows_by_id(db, Data, data_ids)
    jobs: dict[int, tuple[int, int, int]] = {}
    if ids:
        for task_id, count, done, checking in db.execute(_JOB_COUNTS, {"ids": ids}):
            jobs[task_id] = (count, int(done or 0), int(checking or 0))
    jobs_url, labels_url = ctx.absolute("/api/jobs"), ctx.absolute("/api/labels")
    task_guides, _ = guides.guide_ids(db, task_ids=ids)
    out = []
    for t in tasks:
        count, done, checking = jobs.get(t.id, (0, 0, 0))
        data = datas.get(t.data_id)
        payload: dict[str, Any] = {
            "url": ctx.absolute(f"/api/tasks/{t.id}"), "id": t.id, "name": t.name,
            "project_id": t.project_id, "mode": t.mode,
            "owner": people.get(t.owner_id), "assignee": people.get(t.assignee_id),
            "bug_tracker": t.bug_tracker, "created_date": t.created_date,
            "updated_date": t.updated_date, "overlap": t.overlap,
            "segment_size": t.segment_size, "status": t.status,
            "guide_id": task_guides.get(t.id),
            "dimension": t.dimension, "subset": t.subset, "organization": t.organization_id,
            "target_storage": stores.get(t.target_storage_id),
            "source_storage": stores.get(t.source_storage_id),
            "jobs": {"count": count, "completed": done, "validation": checking,
                     "url": f"{jobs_url}?task_id={t.id}"},
            "labels": {"url": f"{labels_url}?task_id={t.id}"},
            "assignee_updated_date": t.assignee_updated_date,
            "validation_mode": (data.validation or {}).get("mode") if data else None,
            "consensus_enabled": t.consensus_replicas > 0,
            "initial_replicas": t.consensus_replicas,
            "data_chunk_size": data.chunk_size if data else None,
            "organization_id": t.organization_id,
            "data_cloud_storage_id": data.cloud_storage_id if data else None,
            "project_name": projects.get(t.project_id),
            "media_type": MEDIA_TYPE_OF.get(t.dimension),
        }
        if data is not None:  # CVAT leaves these out while the task has no data
            payload.update(
                data_compressed_chunk_type=data.compressed_chunk_type,
                data_original_chunk_type=data.original_chunk_type,
                size=data.size, image_quality=data.image_quality, data=data.id)
        out.append(TaskRead.dump(payload))
    return out


def payload(ctx: Context, db: Any, task: Task) -> dict[str, Any]:
    return payloads(ctx, db, [task])[0]


# --- endpoints -----------------------------------------------------------------------------------
def list_tasks(ctx: Context) -> dict[str, Any]:
    policy = iam.engine(ctx)

    def query() -> Any:
        return select(*Task.__table__.columns).where(policy.visible_tasks())

    with ctx.mock.db.read() as connection:
        # statements built once per caller's scope, the count kept until the next write
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url, pk=Task.id,
                                cache=ctx.mock.db.cache,
                                cache_key=("tasks", policy.scope_key()))
        return page.body(payloads(ctx, connection, page.rows))


def load(ctx: Context, db: Session, task_id: int, *scopes: str) -> Task:
    """The task, if the caller may do each of ``scopes`` on it (404, then 403)."""
    task = resources.get(db, Task, task_id, "Task")
    policy = iam.engine(ctx)
    standing = resources.standing_for_task(ctx, db, task)
    for scope in scopes:
        policy.check(policy.allow_task(scope, standing))
    return task


def create(ctx: Context, raw: Any) -> dict[str, Any]:
    policy = iam.engine(ctx)
    organization = ctx.org.organization
    org_id = organization.id if organization else None
    with ctx.mock.db.session() as db:
        # CVAT judges the permission first, reading the project from the raw body
        project = _project_in(db, raw)
        standing = (resources.standing_for_project(ctx, db, project)
                    if project is not None else None)
        policy.check(policy.allow_create(org_id, ctx.org.role, standing))
        cloudstorages.check_references(ctx, db, raw, org_id)
        data = TaskWrite.validate(raw)
        if data.get("project_id") is not None:
            if data.get("labels"):
                raise ValidationFailed(["Project must have only one of Label set or project_id"])
            if project is None:
                raise ValidationFailed(
                    [f"The specified project #{data['project_id']} does not exist."])
        elif not data.get("labels"):
            raise ValidationFailed(["Label set or project_id must be present"])
        if project is not None and project.organization_id != org_id:
            raise ValidationFailed(
                ["The task and its project should be in the same organization."])
        task = Task(
            name=data["name"], project_id=project.id if project else None,
            owner_id=ctx.user.id, bug_tracker=data.get("bug_tracker", ""),
            overlap=data.get("overlap"), segment_size=data.get("segment_size") or 0,
            subset=data.get("subset", ""), organization_id=org_id,
            consensus_replicas=data.get("initial_replicas", data.get("consensus_replicas")) or 0,
            source_storage_id=resources.new_storage(
                db, data.get("source_storage"), project.source_storage_id if project else None),
            target_storage_id=resources.new_storage(
                db, data.get("target_storage"), project.target_storage_id if project else None),
        )
        resources.set_assignee(task, resources.check_user(
            ctx, db, "assignee_id", data.get("assignee_id"), task.organization_id))
        if data.get("owner_id") is not None:
            task.owner_id = resources.check_user(
                ctx, db, "owner_id", data["owner_id"], task.organization_id)
        db.add(task)
        db.flush()
        if project is None:
            labels.create_labels(db, data["labels"], labels.owner_of(task_id=task.id))
        db.flush()
        created = payload(ctx, db, task)
        ctx.mock.events.emit(ctx, db, "create:task", created, obj_name=task.name,
                             **ids_of(task))
        return created


def _project_in(db: Session, raw: Any) -> Project | None:
    project_id = raw.get("project_id") if isinstance(raw, Mapping) else None
    if isinstance(project_id, bool) or not isinstance(project_id, int | str):
        return None
    try:
        return db.get(Project, int(project_id))
    except (ValueError, OverflowError):
        return None


def retrieve(ctx: Context, task_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return payload(ctx, db, load(ctx, db, task_id, "view"))


def update(ctx: Context, task_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        task = resources.get(db, Task, task_id, "Task")
        if (isinstance(raw, Mapping) and "organization_id" in raw and task.project_id
                and ctx.mock.compat.has(since=compat.TRANSFERS)):
            raise ValidationFailed(
                ["Cannot change the organization for a task inside a project"])
        moving, organization_id = resources.transfer_target(ctx, db, raw)
        task = load(ctx, db, task_id, *resources.scopes(raw, SCOPES))
        # storages name cloud storages of the workspace the task ends up in
        cloudstorages.check_references(ctx, db, raw,
                                       organization_id if moving else task.organization_id)
        data = TaskWrite.validate(raw, partial=True)
        before = payload(ctx, db, task)
        if moving and organization_id != task.organization_id:
            resources.move_tasks(db, [task], organization_id)
        for key in ("name", "bug_tracker", "subset"):
            if key in data:
                setattr(task, key, data[key])
        if "owner_id" in data:
            task.owner_id = resources.check_user(
                ctx, db, "owner_id", data["owner_id"], task.organization_id)
        if "assignee_id" in data:
            resources.set_assignee(task, resources.check_user(
                ctx, db, "assignee_id", data["assignee_id"], task.organization_id))
        for key in ("source_storage", "target_storage"):
            if data.get(key):
                setattr(task, f"{key}_id", resources.new_storage(db, data[key]))
        if data.get("project_id") is not None and data["project_id"] != task.project_id:
            target = db.get(Project, data["project_id"])
            if target is not None:  # the caller must see the project the task goes to
                policy = iam.engine(ctx)
                policy.check(policy.allow_project(
                    "view", resources.standing_for_project(ctx, db, target)))
            move_to_project(db, task, data["project_id"])
        elif "labels" in data and task.project_id is None:
            labels.update_labels(db, data["labels"] or [], labels.owner_of(task_id=task.id))
        task.updated_date = utcnow()
        db.add(task)
        db.flush()
        updated = payload(ctx, db, task)
        ctx.mock.events.emit(ctx, db, "update:task", updated, before=before,
                             obj_name=task.name, **ids_of(task))
        return updated


def move_to_project(db: Session, task: Task, project_id: int) -> None:
    """A task joins a project whose labels cover its own (matched by name); its labels go."""
    project = db.get(Project, project_id)
    if project is None:
        raise ValidationFailed([f"Cannot find project with ID {project_id}"])
    own = {name for (name,) in db.execute(
        select(Label.name).where(Label.task_id == task.id, Label.parent_id.is_(None)))}
    target = {name for (name,) in db.execute(
        select(Label.name).where(Label.project_id == project.id, Label.parent_id.is_(None)))}
    if task.project_id is None and not own <= target:
        raise ValidationFailed(["All task or project label names must be mapped to the target "
                                "project"])
    db.execute(Label.__table__.delete().where(Label.task_id == task.id))
    task.project_id = project.id
    task.organization_id = project.organization_id


def remove_files(mock: MockCVAT, db: Session, task_id: int) -> None:
    """What a task being deleted leaves besides its rows: its media and ``Data``, its guide's
    assets, the exports, backups and uploads of the task and its jobs, and their background
    requests."""
    guides.remove_asset_files(mock, db, AnnotationGuide.task_id == task_id)
    task = db.get(Task, task_id)
    if task is not None and task.data_id:
        mock.media.delete_prefix(task_data.data_key(task.data_id))
        data = db.get(Data, task.data_id)
        if data is not None:
            db.delete(data)
    for job_id in db.execute(select(Job.id).where(Job.task_id == task_id)).scalars():
        mock.remove_media_of("job", job_id)
    mock.remove_media_of("task", task_id)
    mock.background.forget_objects(db, "task", [task_id])  # job requests name their task


def ids_of(task: Task) -> dict[str, int | None]:
    return {"project_id": task.project_id, "task_id": task.id}


def deletion_snapshots(ctx: Context, db: Session, task_ids: list[int]
                       ) -> list[resources.Snapshot]:
    """The tasks' jobs, then the tasks, as they read before a deletion takes them."""
    from mockcvat.services import jobs

    found = list(db.execute(select(Task).where(Task.id.in_(task_ids)).order_by(Task.id))
                 .scalars()) if task_ids else []
    out = jobs.deletion_snapshots(ctx, db, list(db.execute(
        select(Job).where(Job.task_id.in_(task_ids)).order_by(Job.id)).scalars())
        if task_ids else [])
    for task, read in zip(found, payloads(ctx, db, found), strict=True):
        out.append(resources.Snapshot("delete:task", read, task.name, ids_of(task)))
    return out


def destroy(ctx: Context, task_id: int) -> None:
    with ctx.mock.db.session() as db:
        task = load(ctx, db, task_id, "delete")
        deleted = deletion_snapshots(ctx, db, [task.id or 0])
        remove_files(ctx.mock, db, task.id or 0)
        db.delete(task)
        db.flush()
        resources.announce(ctx, db, deleted)
