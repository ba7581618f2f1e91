"""Labels of projects and tasks: creation and the PATCH merge the project/task writes use, the
``/api/labels`` endpoints, and the ``Label`` payload (``cvat/apps/engine/serializers.py``).

A task in a project has no labels of its own: it uses the project's. Skeleton labels own their
points as sublabels (``parent_id``).
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from mockcvat import iam, listing
from mockcvat.errors import NotFound, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import AttributeSpec, Label, Project, Task
from mockcvat.schemas.labels import LABEL_TYPES, LocalLabel
from mockcvat.schemas.labels import Label as LabelSerializer

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

Owner = Mapping[str, int | None]  # {"task_id": ..., "project_id": ...}


def owner_of(*, task_id: int | None = None, project_id: int | None = None) -> dict[str, Any]:
    return {"task_id": task_id, "project_id": project_id}


def _owned(owner: Owner) -> Any:
    task_id, project_id = owner.get("task_id"), owner.get("project_id")
    return (Label.task_id == task_id) if task_id is not None else (Label.project_id == project_id)


def label_color(name: str, taken: Iterable[str]) -> str:
    """A stable colour for a label without one, unlike the colours already used."""
    used = {c.lower() for c in taken}
    digest = hashlib.blake2s(name.strip().lower().encode(), digest_size=3).digest()
    hue = int.from_bytes(digest, "big") / 0xFFFFFF
    for attempt in range(360):
        r, g, b = colorsys.hsv_to_rgb((hue + attempt * 0.618034) % 1.0, 0.75, 0.95)
        color = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
        if color not in used:
            return color
    return color


# --- writes ----------------------------------------------------------------------------------
def create_labels(db: Session, specs: list[dict[str, Any]], owner: Owner) -> None:
    """Labels given at creation (names unique per owner, and per skeleton)."""
    _unique_names(specs)
    for spec in specs:
        _create(db, spec, owner, parent_id=None)


def _unique_names(specs: list[dict[str, Any]]) -> None:
    names = [spec["name"] for spec in specs if not spec.get("deleted")]
    if len(names) != len(set(names)):
        raise ValidationFailed(["All label names must be unique"])


def _taken_colors(db: Session, owner: Owner) -> list[str]:
    return [c for (c,) in db.execute(select(Label.color).where(_owned(owner)))]


def _create(db: Session, spec: dict[str, Any], owner: Owner, parent_id: int | None) -> Label:
    clash = db.execute(select(Label.id).where(
        _owned(owner), Label.name == spec["name"],
        Label.parent_id.is_(None) if parent_id is None else Label.parent_id == parent_id,
    )).first()
    if clash is not None:
        raise ValidationFailed(["All label names must be unique"])
    label = Label(
        task_id=owner.get("task_id"), project_id=owner.get("project_id"), parent_id=parent_id,
        name=spec["name"], type=spec.get("type") or "any",
        color=spec.get("color") or label_color(spec["name"], _taken_colors(db, owner)),
    )
    db.add(label)
    db.flush()
    _set_attributes(db, label, spec.get("attributes") or [])
    sublabels = spec.get("sublabels") or []
    if sublabels:
        _unique_names(sublabels)
        ids = {sub["name"]: _create(db, sub, owner, parent_id=label.id).id for sub in sublabels}
        label.svg = _svg_with_ids(spec.get("svg") or "", ids)
    else:
        label.svg = spec.get("svg") or ""
    db.add(label)
    return label


def _svg_with_ids(svg: str, ids: Mapping[str, int | None]) -> str:
    """Skeleton drawings name their points; CVAT stores them by label id."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return f'data-label-id="{ids[name]}"' if name in ids else match.group(0)

    return re.sub(r'data-label-name="([^"]*)"', replace, svg)


def _set_attributes(db: Session, label: Label, specs: list[dict[str, Any]],
                    *, merge: bool = False) -> None:
    names = [spec["name"] for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise ValidationFailed([f"Duplicate attribute with name '{name}' exists"])
    if not merge:
        db.execute(delete(AttributeSpec).where(AttributeSpec.label_id == label.id))
    for spec in specs:
        attribute = None
        if merge and spec.get("id") is not None:
            attribute = db.get(AttributeSpec, spec["id"])
            if attribute is None or attribute.label_id != label.id:
                raise NotFound(f"Attribute with id #{spec['id']} does not exist")
        elif merge:
            attribute = db.execute(select(AttributeSpec).where(
                AttributeSpec.label_id == label.id, AttributeSpec.name == spec["name"])
            ).scalars().first()
        if attribute is None:
            attribute = AttributeSpec(label_id=label.id or 0, name=spec["name"])
        values = [str(v) for v in spec.get("values") or []]
        attribute.name = spec["name"]
        attribute.mutable = bool(spec.get("mutable", attribute.mutable))
        attribute.input_type = spec.get("input_type", attribute.input_type)
        attribute.values = values
        default = spec.get("default_value")
        attribute.default_value = default if default is not None else attribute.default_value
        db.add(attribute)
    db.flush()


def update_labels(db: Session, specs: list[dict[str, Any]], owner: Owner) -> None:
    """The ``labels`` of a project/task PATCH: with ``id`` update (or ``deleted`` remove),
    without create; labels not mentioned stay."""
    for spec in specs:
        label_id = spec.get("id")
        if spec.get("deleted"):
            if label_id is None:
                raise ValidationFailed(["Deleted label must have an ID"])
            db.execute(delete(Label).where(Label.id == label_id, _owned(owner)))
            continue
        if label_id is None:
            _create(db, spec, owner, parent_id=None)
            continue
        label = db.execute(select(Label).where(Label.id == label_id, _owned(owner))
                           ).scalars().first()
        if label is None:
            raise NotFound(f"Not found label with id #{label_id} to change")
        patch_label(db, label, spec, owner)
    db.flush()


def patch_label(db: Session, label: Label, spec: dict[str, Any], owner: Owner) -> None:
    if "name" in spec and spec["name"] != label.name:
        clash = db.execute(select(Label.id).where(
            _owned(owner), Label.name == spec["name"], Label.id != label.id,
            Label.parent_id.is_(None) if label.parent_id is None
            else Label.parent_id == label.parent_id)).first()
        if clash is not None:
            raise ValidationFailed(["All label names must be unique"])
        label.name = spec["name"]
    if spec.get("color"):
        label.color = spec["color"]
    if spec.get("type") and "skeleton" not in (spec["type"], label.type):
        label.type = spec["type"]  # to or from skeleton is ignored, as in CVAT
    if "attributes" in spec:
        _set_attributes(db, label, spec["attributes"] or [], merge=True)
    db.add(label)


# --- reads -------------------------------------------------------------------------------------
def payloads(db: Any, labels: Iterable[Any]) -> list[dict[str, Any]]:
    """``Label`` payloads (with attributes and sublabels) for label rows."""
    labels = list(labels)
    ids = [label.id for label in labels]
    children: dict[int, list[Any]] = {}
    if ids:
        for child in db.execute(select(Label).where(Label.parent_id.in_(ids))
                                .order_by(Label.id)).scalars():
            children.setdefault(child.parent_id, []).append(child)
    everyone = ids + [c.id for kids in children.values() for c in kids]
    attributes: dict[int, list[dict[str, Any]]] = {}
    if everyone:
        for attribute in db.execute(select(AttributeSpec).where(
                AttributeSpec.label_id.in_(everyone)).order_by(AttributeSpec.id)).scalars():
            attributes.setdefault(attribute.label_id, []).append({
                "id": attribute.id, "name": attribute.name, "mutable": attribute.mutable,
                "input_type": attribute.input_type, "default_value": attribute.default_value,
                "values": list(attribute.values or []),
            })

    def one(label: Any, *, nested: bool) -> dict[str, Any]:
        payload = {
            "id": label.id, "name": label.name, "color": label.color,
            "attributes": attributes.get(label.id, []), "type": label.type,
            "has_parent": label.parent_id is not None,
        }
        if nested:
            return payload
        payload.update(
            svg=label.svg,
            sublabels=[one(child, nested=True) for child in children.get(label.id, [])],
            project_id=label.project_id, task_id=label.task_id, parent_id=label.parent_id)
        return payload

    return [one(label, nested=False) for label in labels]


# --- /api/labels ------------------------------------------------------------------------------
def _parent_name() -> Any:
    from sqlalchemy.orm import aliased

    parent = aliased(Label)
    return select(parent.name).where(parent.id == Label.parent_id).scalar_subquery()


LISTING = listing.Listing(
    fields={
        "id": FilterField("id", Label.id, "int"),
        "name": FilterField("name", Label.name),
        "parent": FilterField("parent", _parent_name(), nullable=True),
        "type": FilterField("type", Label.type),
        "color": FilterField("color", Label.color),
        "parent_id": FilterField("parent_id", Label.parent_id, "int", nullable=True),
    },
    filter_fields=("name", "parent", "id", "type", "color", "parent_id"),
    search_fields=("name", "parent"),
    ordering_fields=("name", "parent", "id", "type", "color", "parent_id"),
    simple_filters=("name", "parent", "type", "color", "parent_id"),
    simple_filter_choices={"type": LABEL_TYPES},
    default_ordering=("id",),
)
OWNER_PARAMETERS = [
    {"name": name, "in": "query", "description": f"A simple equality filter for {what} id",
     "schema": {"type": "integer"}}
    for name, what in (("job_id", "job"), ("project_id", "project"), ("task_id", "task"))
]


def _organization_of_label() -> Any:
    return func.coalesce(
        select(Task.organization_id).where(Task.id == Label.task_id).scalar_subquery(),
        select(Project.organization_id).where(Project.id == Label.project_id)
        .scalar_subquery())


def _owner_condition(ctx: Context, db: Session, params: Mapping[str, str]) -> Any:
    """``job_id`` / ``task_id`` / ``project_id``: that object's labels (a task in a project
    uses the project's), if the caller may view it."""
    from mockcvat.services import jobs, projects, tasks

    given = [key for key in ("job_id", "task_id", "project_id") if params.get(key)]
    if len(given) > 1:
        raise ValidationFailed(["job_id, task_id and project_id parameters cannot be used "
                                "together"])
    if not given:
        return iam.engine(ctx).visible_labels()
    key = given[0]
    try:
        pk = int(params[key])
    except ValueError:
        # CVAT lets the lookup fail with a 500; a clear 404 serves tests better
        raise NotFound(f"No {key[:-3].capitalize()} matches the given query.") from None
    if key == "project_id":
        return Label.project_id == projects.load(ctx, db, pk, "view").id
    task = (jobs.load(ctx, db, pk, "view")[1] if key == "job_id"
            else tasks.load(ctx, db, pk, "view"))
    if task.project_id is not None:
        return Label.project_id == task.project_id
    return Label.task_id == task.id


def list_labels(ctx: Context) -> dict[str, Any]:
    org = ctx.org
    with ctx.mock.db.session() as db:
        condition = _owner_condition(ctx, db, ctx.params) & Label.parent_id.is_(None)
        if org.organization is not None:  # the organization filter applies on top
            condition = condition & (_organization_of_label() == org.organization.id)
        elif org.explicit:
            condition = condition & _organization_of_label().is_(None)
        page = listing.paginate(db.connection(), select(Label.id).where(condition), LISTING,
                                ctx.params, ctx.url, pk=Label.id)
        ids = [row.id for row in page.rows]
        rows = {label.id: label for label in db.execute(
            select(Label).where(Label.id.in_(ids))).scalars()} if ids else {}
        return page.body([LabelSerializer.dump(p) for p in payloads(db, [rows[i] for i in ids])])


def _load(ctx: Context, db: Session, label_id: int, scope: str) -> Label:
    """A label, judged through its project (if any) or its task."""
    from mockcvat.services import projects, tasks

    label = db.get(Label, label_id)
    if label is None:
        raise NotFound("No Label matches the given query.")
    if label.project_id is not None:
        projects.load(ctx, db, label.project_id, scope)
    else:
        tasks.load(ctx, db, label.task_id or 0, scope)
    return label


def retrieve(ctx: Context, label_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "view")
        return LabelSerializer.dump(payloads(db, [label])[0]) or {}


def update(ctx: Context, label_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "update:desc")
        spec = LocalLabel.validate(raw, partial=True)
        if label.parent_id is not None:
            raise ValidationFailed(["Sublabels cannot be modified this way. Please send a PATCH "
                                    "request with updated parent label data instead."])
        owner = owner_of(task_id=label.task_id, project_id=label.project_id)
        patch_label(db, label, spec, owner)
        _touch(db, label)
        db.flush()
        return LabelSerializer.dump(payloads(db, [label])[0]) or {}


def destroy(ctx: Context, label_id: int) -> None:
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "update:desc")
        if label.parent_id is not None:
            raise ValidationFailed(["Sublabels cannot be deleted this way. Please send a PATCH "
                                    "request with updated parent label data instead."])
        _touch(db, label)
        db.delete(label)


def _touch(db: Session, label: Label) -> None:
    from mockcvat.models.users import utcnow

    owner = db.get(Project, label.project_id) if label.project_id else db.get(Task, label.task_id)
    if owner is not None:
        owner.updated_date = utcnow()
        db.add(owner)
