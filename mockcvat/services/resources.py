"""What projects, tasks and jobs share: loading with CVAT's 404s, the caller's standing for the
policy, user references, storages, and the field → permission-scope maps of their PATCHes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, select

from mockcvat import compat, iam
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.models import Data, Job, Organization, Project, Storage, Task, User
from mockcvat.models.users import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context


def get(db: Session, model: Any, pk: int, name: str) -> Any:
    row = db.get(model, pk)
    if row is None:
        raise NotFound(f"No {name} matches the given query.")
    return row


def media_type_of(dimension: Any) -> Any:
    """A task's ``media_type`` from its dimension, in SQL (for the list filters)."""
    from mockcvat.schemas.jobs import MEDIA_TYPE_OF

    return case(*((dimension == d, kind) for d, kind in MEDIA_TYPE_OF.items()), else_=None)


def referenced(db: Session, raw: Any, key: str, model: Any, serializer: Any, *,
               missing: str | None = None) -> Any:
    """The object a create body names by id (``job``, ``issue``, ``task_id``...), read before
    the body is validated, as CVAT's permission classes read it (``Model.objects.get(id=...)``
    raised as a ``ValidationError``): absent or unknown -> 400 ``<Model> matching query does not
    exist.`` (``missing`` replaces it for an absent key); a value that is no id -> the
    serializer's own message for the body (CVAT: a 500)."""
    name = getattr(model, "__name__", str(model))
    if not isinstance(raw, Mapping):
        serializer.validate(raw)  # DRF's "Invalid data. Expected a dictionary..."
    value = raw.get(key)
    if value is None:
        raise ValidationFailed([missing or f"{name} matching query does not exist."])
    try:
        if isinstance(value, bool):
            raise TypeError
        pk = int(value)
    except (TypeError, ValueError, OverflowError):
        serializer.validate(raw)  # the field's own message
        raise ValidationFailed([f"{name} matching query does not exist."]) from None
    row = db.get(model, pk) if 0 <= pk < 2**63 else None
    if row is None:
        raise ValidationFailed([f"{name} matching query does not exist."])
    return row


def project_of(db: Session, task: Task) -> Project | None:
    return db.get(Project, task.project_id) if task.project_id else None


def standing_for_project(ctx: Context, db: Session, project: Project) -> iam.Standing:
    return iam.engine(ctx).standing(db, organization_id=project.organization_id,
                                    project=project)


def standing_for_task(ctx: Context, db: Session, task: Task) -> iam.Standing:
    return iam.engine(ctx).standing(db, organization_id=task.organization_id,
                                    project=project_of(db, task), task=task)


def standing_for_job(ctx: Context, db: Session, job: Job) -> tuple[iam.Standing, Task]:
    task = get(db, Task, job.task_id, "Task")
    standing = iam.engine(ctx).standing(db, organization_id=task.organization_id,
                                        project=project_of(db, task), task=task, job=job)
    return standing, task


def scopes(raw: Any, scope_of: Mapping[str, str]) -> list[str]:
    """The permission scopes a PATCH body needs (CVAT's ``get_per_field_update_scopes``):
    ``view``, plus each field's scope; a field with none is refused before validation. The
    transfer field is ``organization`` until 2.44 (a scope without a serializer field), then
    ``organization_id``."""
    scope_of = {("organization_id" if key == "organization"
                 and compat.current().has(since=compat.TRANSFERS) else key): scope
                for key, scope in scope_of.items()}
    needed = ["view"]
    for key in raw if isinstance(raw, Mapping) else ():
        if key not in scope_of:
            raise PermissionDenied("Attempted to update an unknown field")
        needed.append(scope_of[key])
    return list(dict.fromkeys(needed))


# --- transfers between workspaces (PR 9528, 2.44) ----------------------------------------------
def transfer_target(ctx: Context, db: Session, raw: Any) -> tuple[bool, int | None]:
    """``(moving, organization_id)`` of a PATCH body. Before the object's own permissions CVAT
    checks the destination (``TaskPermission.create_scope_create``): an unknown organization is
    a 400, and the caller must be allowed to create there (else 403)."""
    if not (compat.current().has(since=compat.TRANSFERS) and isinstance(raw, Mapping)
            and "organization_id" in raw):
        return False, None
    target = raw["organization_id"]
    if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
        return False, None  # not an id: the serializer refuses it
    if target is not None and db.get(Organization, target) is None:
        raise ValidationFailed(["Organization matching query does not exist."])
    policy = iam.engine(ctx)
    role = iam.role_in(db, ctx.user.id, target) if target is not None else None
    policy.check(policy.allow_create(target, role))
    return True, target


def move_tasks(db: Session, tasks: Iterable[Task], organization_id: int | None, *,
               unlink_storages: bool = False) -> None:
    """Tasks change workspace; their data's link to a cloud storage is reset (CVAT: "Data-linked
    storage will only be reset during the transfer and must be updated manually afterward").
    ``unlink_storages``: their source/target storages that name a cloud storage become local
    (the tasks of a moved project, PR 9912)."""
    for task in tasks:
        task.organization_id = organization_id
        for storage_id in (task.source_storage_id, task.target_storage_id) if unlink_storages \
                else ():
            storage = db.get(Storage, storage_id) if storage_id else None
            if storage is not None and storage.cloud_storage_id is not None:
                storage.location, storage.cloud_storage_id = "local", None
                db.add(storage)
        data = db.get(Data, task.data_id) if task.data_id else None
        if data is not None and data.cloud_storage_id is not None:
            data.cloud_storage_id = None
            db.add(data)
        task.updated_date = utcnow()
        db.add(task)


# --- users ---------------------------------------------------------------------------------------
def check_user(ctx: Context, db: Session, field: str, user_id: int | None,
               organization_id: int | None) -> int | None:
    """A user named as owner or assignee: must exist, and the caller must be allowed to see
    them in the object's workspace (CVAT checks users.rego ``view``): in the personal workspace
    a non-admin can name only themselves; in an organization its members name anyone."""
    if user_id is None:
        return None
    if db.get(User, user_id) is None:
        raise ValidationFailed({field: [f'Invalid pk "{user_id}" - object does not exist.']})
    if iam.is_admin(ctx) or user_id == ctx.user.id:
        return user_id
    if organization_id is None or iam.role_in(db, ctx.user.id, organization_id) is None:
        raise PermissionDenied()
    return user_id


def set_assignee(obj: Any, assignee_id: int | None) -> None:
    if assignee_id != obj.assignee_id:
        obj.assignee_id = assignee_id
        obj.assignee_updated_date = utcnow()


# --- storages ------------------------------------------------------------------------------------
def new_storage(db: Session, spec: Mapping[str, Any] | None,
                template: int | None = None) -> int:
    """A storage row from a request's spec, else a copy of ``template``, else local."""
    if spec:
        storage = Storage(location=spec.get("location", "local"),
                          cloud_storage_id=spec.get("cloud_storage_id"))
    elif template is not None and (source := db.get(Storage, template)) is not None:
        storage = Storage(location=source.location, cloud_storage_id=source.cloud_storage_id)
    else:
        storage = Storage()
    db.add(storage)
    db.flush()
    return storage.id or 0


def rows_by_id(db: Any, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    """The rows (all columns) of ``model`` with these ids, by id: what a list's payload builder
    reads for a whole page. One statement per model, built once (with an expanding parameter):
    a reused statement skips SQLAlchemy's construction and cache-key work on every page."""
    wanted = list({i for i in ids if i is not None})
    if not wanted:
        return {}
    statement = _BY_ID.get(model)
    if statement is None:
        statement = _BY_ID[model] = select(*model.__table__.columns).where(
            model.id.in_(bindparam("ids", expanding=True)))
    return {row.id: row for row in db.execute(statement, {"ids": wanted})}


_BY_ID: dict[Any, Any] = {}


def storages(db: Any, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    return {s.id: {"id": s.id, "location": s.location, "cloud_storage_id": s.cloud_storage_id}
            for s in rows_by_id(db, Storage, ids).values()}


# --- deletions -----------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """An object's read shape taken before it is deleted, to announce the deletion after."""

    scope: str  # delete:<resource>
    obj: dict[str, Any]
    name: str | None
    ids: dict[str, int | None] = field(default_factory=dict)  # project_id, task_id, job_id


def announce(ctx: Context, db: Session, snapshots: Iterable[Snapshot]) -> None:
    """Emit the deletions (once the rows are gone, so the webhooks that went with them, e.g. a
    deleted project's own, hear nothing, as in CVAT)."""
    for snapshot in snapshots:
        ctx.mock.events.emit(ctx, db, snapshot.scope, snapshot.obj, obj_name=snapshot.name,
                             **snapshot.ids)
