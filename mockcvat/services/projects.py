"""Projects (``ProjectViewSet``): CRUD with labels and storages; deleting one deletes its tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from mockcvat import iam, listing
from mockcvat.jsonlogic import FilterField
from mockcvat.models import AnnotationGuide, Project, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.projects import ProjectRead, ProjectWrite
from mockcvat.services import cloudstorages, guides, labels, resources
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

STATUSES = ("annotation", "validation", "completed")

LISTING = listing.Listing(
    fields={
        "id": FilterField("id", Project.id, "int"),
        "name": FilterField("name", Project.name),
        "owner": FilterField("owner", username_of(Project.owner_id), nullable=True),
        "assignee": FilterField("assignee", username_of(Project.assignee_id), nullable=True),
        "status": FilterField("status", Project.status),
        "updated_date": FilterField("updated_date", Project.updated_date, "datetime"),
    },
    filter_fields=("name", "owner", "assignee", "status", "id", "updated_date"),
    search_fields=("name", "owner", "assignee", "status"),
    ordering_fields=("name", "owner", "assignee", "status", "id", "updated_date"),
    simple_filters=("name", "owner", "assignee", "status"),
    simple_filter_choices={"status": STATUSES},
)

# PATCHed field -> the scope it needs (ProjectPermission.get_scopes, projects.rego)
SCOPES = {"name": "update:desc", "labels": "update:desc", "bug_tracker": "update:desc",
          "owner_id": "update:owner", "assignee_id": "update:assignee",
          "organization": "update:organization",
          "source_storage": "update:associated_storage",
          "target_storage": "update:associated_storage"}


def payloads(ctx: Context, db: Any, projects: Iterable[Any]) -> list[dict[str, Any]]:
    projects = list(projects)
    ids = [p.id for p in projects]
    people = basic_users(ctx, db, [p.owner_id for p in projects]
                         + [p.assignee_id for p in projects])
    stores = resources.storages(db, [p.source_storage_id for p in projects]
                                + [p.target_storage_id for p in projects])
    counts: dict[int, int] = {}
    subsets: dict[int, list[str]] = {}
    dimensions: dict[int, str] = {}
    if ids:
        counts = dict(db.execute(select(Task.project_id, func.count()).where(
            Task.project_id.in_(ids)).group_by(Task.project_id)).all())
        for project_id, subset, dimension in db.execute(
                select(Task.project_id, Task.subset, Task.dimension)
                .where(Task.project_id.in_(ids)).order_by(Task.id)):
            if subset and subset not in subsets.setdefault(project_id, []):
                subsets[project_id].append(subset)
            if dimension:
                dimensions.setdefault(project_id, dimension)
    tasks_url, labels_url = ctx.absolute("/api/tasks"), ctx.absolute("/api/labels")
    _, project_guides = guides.guide_ids(db, project_ids=ids)
    out = []
    for p in projects:
        out.append(ProjectRead.dump({
            "url": ctx.absolute(f"/api/projects/{p.id}"), "id": p.id, "name": p.name,
            "owner": people.get(p.owner_id), "assignee": people.get(p.assignee_id),
            "guide_id": project_guides.get(p.id), "bug_tracker": p.bug_tracker,
            "task_subsets": subsets.get(p.id, []),
            "created_date": p.created_date, "updated_date": p.updated_date,
            "status": p.status, "dimension": dimensions.get(p.id),
            "organization": p.organization_id, "organization_id": p.organization_id,
            "target_storage": stores.get(p.target_storage_id),
            "source_storage": stores.get(p.source_storage_id),
            "tasks": {"count": counts.get(p.id, 0), "url": f"{tasks_url}?project_id={p.id}"},
            "labels": {"url": f"{labels_url}?project_id={p.id}"},
            "assignee_updated_date": p.assignee_updated_date,
        }))
    return out


def list_projects(ctx: Context) -> dict[str, Any]:
    policy = iam.engine(ctx)

    def query() -> Any:
        return select(*Project.__table__.columns).where(policy.visible_projects())

    with ctx.mock.db.read() as connection:
        # statements built once per caller's scope, the count kept until the next write
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url, pk=Project.id,
                                cache=ctx.mock.db.cache,
                                cache_key=("projects", policy.scope_key()))
        return page.body(payloads(ctx, connection, page.rows))


def load(ctx: Context, db: Session, project_id: int, scope: str) -> Project:
    project = resources.get(db, Project, project_id, "Project")
    policy = iam.engine(ctx)
    policy.check(policy.allow_project(scope, resources.standing_for_project(ctx, db, project)))
    return project


def create(ctx: Context, raw: Any) -> dict[str, Any]:
    policy = iam.engine(ctx)
    organization = ctx.org.organization
    policy.check(policy.allow_create(organization.id if organization else None, ctx.org.role))
    with ctx.mock.db.session() as db:
        cloudstorages.check_references(ctx, db, raw, organization.id if organization else None)
        data = ProjectWrite.validate(raw)
        project = Project(
            name=data["name"], owner_id=ctx.user.id,
            bug_tracker=data.get("bug_tracker", ""),
            organization_id=organization.id if organization else None,
            source_storage_id=resources.new_storage(db, data.get("source_storage")),
            target_storage_id=resources.new_storage(db, data.get("target_storage")),
        )
        resources.set_assignee(project, resources.check_user(
            ctx, db, "assignee_id", data.get("assignee_id"), project.organization_id))
        if data.get("owner_id") is not None:
            project.owner_id = resources.check_user(
                ctx, db, "owner_id", data["owner_id"], project.organization_id)
        db.add(project)
        db.flush()
        labels.create_labels(db, data.get("labels") or [],
                             labels.owner_of(project_id=project.id))
        db.flush()
        created = payloads(ctx, db, [project])[0]
        ctx.mock.events.emit(ctx, db, "create:project", created, project_id=project.id,
                             obj_name=project.name)
        return created


def retrieve(ctx: Context, project_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return payloads(ctx, db, [load(ctx, db, project_id, "view")])[0]


def update(ctx: Context, project_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        project = resources.get(db, Project, project_id, "Project")
        moving, organization_id = resources.transfer_target(ctx, db, raw)
        policy = iam.engine(ctx)
        standing = resources.standing_for_project(ctx, db, project)
        for scope in resources.scopes(raw, SCOPES):
            policy.check(policy.allow_project(scope, standing))
        # storages name cloud storages of the workspace the project ends up in
        cloudstorages.check_references(ctx, db, raw,
                                       organization_id if moving else project.organization_id)
        data = ProjectWrite.validate(raw, partial=True)
        before = payloads(ctx, db, [project])[0]
        if moving and organization_id != project.organization_id:
            # the project's tasks go with it (CVAT moves the whole tree), their own storages
            # unlinked from cloud storages of the old workspace (PR 9912)
            project.organization_id = organization_id
            tasks = list(db.scalars(select(Task).where(Task.project_id == project.id)))
            resources.move_tasks(db, tasks, organization_id, unlink_storages=True)
        if "name" in data:
            project.name = data["name"]
        if "bug_tracker" in data:
            project.bug_tracker = data["bug_tracker"]
        if "owner_id" in data:
            project.owner_id = resources.check_user(
                ctx, db, "owner_id", data["owner_id"], project.organization_id)
        if "assignee_id" in data:
            resources.set_assignee(project, resources.check_user(
                ctx, db, "assignee_id", data["assignee_id"], project.organization_id))
        for key in ("source_storage", "target_storage"):
            if data.get(key):
                setattr(project, f"{key}_id", resources.new_storage(db, data[key]))
        if "labels" in data:
            labels.update_labels(db, data["labels"] or [], labels.owner_of(project_id=project.id))
        project.updated_date = utcnow()
        db.add(project)
        db.flush()
        updated = payloads(ctx, db, [project])[0]
        ctx.mock.events.emit(ctx, db, "update:project", updated, before=before,
                             project_id=project.id, obj_name=project.name)
        return updated


def remove_files(mock: MockCVAT, db: Session, project_id: int) -> None:
    """What a project being deleted leaves besides its rows: its tasks' files, its guide's
    assets, its exports, backups and uploads, and its background requests."""
    from mockcvat.services import tasks

    for task_id in db.execute(select(Task.id).where(Task.project_id == project_id)).scalars():
        tasks.remove_files(mock, db, task_id)
    guides.remove_asset_files(mock, db, AnnotationGuide.project_id == project_id)
    mock.remove_media_of("project", project_id)
    mock.background.forget_objects(db, "project", [project_id])


def destroy(ctx: Context, project_id: int) -> None:
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        project = load(ctx, db, project_id, "delete")
        task_ids = list(db.execute(select(Task.id).where(Task.project_id == project.id))
                        .scalars())
        deleted = tasks.deletion_snapshots(ctx, db, task_ids) + [resources.Snapshot(
            "delete:project", payloads(ctx, db, [project])[0], project.name,
            {"project_id": project.id})]
        remove_files(ctx.mock, db, project.id or 0)
        db.delete(project)
        db.flush()
        resources.announce(ctx, db, deleted)
