"""Labels of projects and tasks: creation and the PATCH merge the project/task writes use, the
``/api/labels`` endpoints, and the ``Label`` payload (``cvat/apps/engine/serializers.py``:
``LabelSerializer.create_labels`` / ``update_label``; ``views.py``: ``LabelViewSet``).

A task in a project has no labels of its own: it uses the project's. Skeleton labels own their
points as sublabels (``parent_id``); sublabels carry the owner's ``task_id``/``project_id`` too,
so "the labels of a project/task" includes them, as CVAT's ``label_set`` does.

Colours without an explicit value come from CVAT's ``get_label_color``
(``cvat/apps/dataset_manager/formats/utils.py``): the predefined table, else a hash of the
normalised name spread into RGB like the PASCAL VOC colormap, then tints/shades if an earlier
label already has that colour.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, event, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import aliased

from mockcvat import iam, listing
from mockcvat.api import MAX_SQL_INT
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import AttributeSpec, Job, Label, Project, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.labels import LABEL_TYPES, LocalLabel
from mockcvat.schemas.labels import Label as LabelSerializer

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

Owner = Mapping[str, int | None]  # {"task_id": ..., "project_id": ...}
RGB = tuple[int, int, int]

NAMES_NOT_UNIQUE = "All label names must be unique"
SUBLABEL_PATCH = ("Sublabels cannot be modified this way. Please send a PATCH request with "
                  "updated parent label data instead.")
SUBLABEL_DELETE = ("Sublabels cannot be deleted this way. Please send a PATCH request with "
                   "updated parent label data instead.")
OWNER_PARAMS_TOGETHER = "job_id, task_id and project_id parameters cannot be used together"


def owner_of(*, task_id: int | None = None, project_id: int | None = None) -> dict[str, Any]:
    return {"task_id": task_id, "project_id": project_id}


def _owned(owner: Owner) -> Any:
    task_id, project_id = owner.get("task_id"), owner.get("project_id")
    return (Label.task_id == task_id) if task_id is not None else (Label.project_id == project_id)


# --- colours (get_label_color) -----------------------------------------------------------------
def palette_color(index: int) -> RGB:
    """Entry ``index`` of the PASCAL VOC colormap: the index's bits, three at a time from the
    lowest, become the next lower bit of R, G and B, starting at bit 7."""
    rgb = [0, 0, 0]
    for bit in range(7, -1, -1):
        for channel in range(3):
            rgb[channel] |= ((index >> channel) & 1) << bit
        index >>= 3
    return (rgb[0], rgb[1], rgb[2])


@functools.cache
def predefined_colors() -> dict[str, RGB]:
    """CVAT's table of 724 names (``predefined_colors.txt``); a name's colour is the palette
    entry of its line number."""
    path = Path(__file__).resolve().parent.parent / "data" / "label_colors.txt"
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    names = [name for name in names if name and not name.startswith("#")]
    return {name: palette_color(index) for index, name in enumerate(names)}


def normalize_label_name(name: str) -> str:
    """datumaro's ``make_file_name`` (ASCII, lowercase, runs of ``-``/space -> ``-``), then
    ``-`` -> ``_``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text).replace("-", "_")


def _parse_hex(color: str) -> RGB | None:
    """``#rrggbb`` (any case) as RGB. CVAT stores colours unchecked and fails with a 500 on one
    it cannot parse when it generates another; the mock just leaves those out."""
    digits = color.lstrip("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}.*", digits):
        return None
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def _other_color(color: RGB, used: set[RGB]) -> RGB:
    """``generate_color``: the first unused tint (towards white), then shade (towards black), in
    tenths; failing those, per channel the midpoint of the widest gap between used colours."""
    for target in (255, 0):
        for tenths in range(1, 10):
            candidate = tuple(int(c + (target - c) * tenths / 10) for c in color)
            if candidate not in used:
                return (candidate[0], candidate[1], candidate[2])

    def midpoint(channel: int) -> int:
        ordered = sorted(used, key=lambda rgb: rgb[channel])
        low, high = max(zip(ordered, ordered[1:], strict=False),
                        key=lambda pair: pair[1][channel] - pair[0][channel])
        return (low[channel] + high[channel]) // 2

    return (midpoint(0), midpoint(1), midpoint(2))


def label_color(name: str, label_colors: Iterable[str]) -> str:
    """CVAT's ``get_label_color(name, label_colors)``: only ``label_colors`` count as a clash;
    the predefined colours are merely avoided when a replacement is picked."""
    taken = [rgb for rgb in (_parse_hex(c) for c in label_colors if c) if rgb is not None]
    predefined = predefined_colors()
    normalized = normalize_label_name(name)
    color = predefined.get(normalized)
    if color is None:
        digest = hashlib.blake2s(normalized.encode(), digest_size=3).digest()
        color = palette_color(int.from_bytes(digest, "big"))
    if color in taken:
        color = _other_color(color, set(predefined.values()) | set(taken))
    return "#{:02x}{:02x}{:02x}".format(*color)


# --- writes ----------------------------------------------------------------------------------
def _check_attribute_names(specs: list[dict[str, Any]]) -> None:
    seen: set[Any] = set()
    for spec in specs:
        if spec.get("name") in seen:
            raise ValidationFailed([f"Duplicate attribute with name '{spec.get('name')}' exists"])
        seen.add(spec.get("name"))


def _name_taken(db: Session, owner: Owner, name: Any, parent_id: int | None,
                label_id: int | None = None) -> bool:
    """CVAT's unique constraints: top-level names per project/task, sublabel names per parent.
    A missing name (a new label in a partial PATCH) fails the same way (NOT NULL)."""
    if not name:
        return True
    same_parent = Label.parent_id.is_(None) if parent_id is None else Label.parent_id == parent_id
    query = select(Label.id).where(_owned(owner), Label.name == name, same_parent)
    if label_id is not None:
        query = query.where(Label.id != label_id)
    return db.execute(query).first() is not None


def _insert(db: Session, owner: Owner, parent_id: int | None, name: Any, type_: str,
            color: str) -> Label:
    if _name_taken(db, owner, name, parent_id):
        raise ValidationFailed([NAMES_NOT_UNIQUE])
    label = Label(task_id=owner.get("task_id"), project_id=owner.get("project_id"),
                  parent_id=parent_id, name=name, type=type_, color=color)
    db.add(label)
    db.flush()
    return label


def _store_svg(db: Session, label: Label, svg: str) -> None:
    """Skeletons keep their drawing with ``data-label-name="<sublabel>"`` replaced by
    ``data-label-id="<id>"``; other types keep none."""
    if label.type != "skeleton":
        return
    for sub_id, sub_name in db.execute(select(Label.id, Label.name).where(
            Label.parent_id == label.id).order_by(Label.id)):
        svg = svg.replace(f'data-label-name="{sub_name}"', f'data-label-id="{sub_id}"')
    label.svg = svg
    db.add(label)


def _new_attribute(label: Label, spec: dict[str, Any]) -> AttributeSpec:
    return AttributeSpec(
        label_id=label.id or 0, name=spec["name"], mutable=bool(spec.get("mutable", False)),
        input_type=spec.get("input_type", "select"),
        default_value=spec.get("default_value", ""),
        values=[str(v) for v in spec.get("values") or []])


def create_labels(db: Session, specs: list[dict[str, Any]], owner: Owner,
                  parent_id: int | None = None) -> None:
    """``create_labels`` (project/task POST). A missing colour is generated against the
    colours of the labels before it in the same list (existing labels do not count); sublabels
    go through the same with their own list."""
    colors: list[str] = []
    for spec in specs:
        attributes = spec.get("attributes") or []
        _check_attribute_names(attributes)
        color = spec.get("color") or label_color(spec.get("name") or "", colors)
        colors.append(color)
        label = _insert(db, owner, parent_id, spec.get("name"), spec.get("type") or "any", color)
        create_labels(db, spec.get("sublabels") or [], owner, parent_id=label.id)
        _store_svg(db, label, spec.get("svg") or "")
        for attribute in attributes:
            db.add(_new_attribute(label, attribute))
    db.flush()


def update_labels(db: Session, specs: list[dict[str, Any]], owner: Owner) -> None:
    """The ``labels`` of a project/task PATCH (``update_labels``): with ``id`` update (or with
    ``deleted`` remove), without create; labels not mentioned stay. At commit the owner's
    tasks/jobs older than the owner get its ``updated_date`` (CVAT's
    ``update_child_objects_on_labels_update``, which runs after the owner is saved)."""
    for spec in specs:
        _update_label(db, spec, owner, parent_id=None)
    db.flush()
    _sync_children_at_commit(db, owner)


def _update_label(db: Session, spec: dict[str, Any], owner: Owner,
                  parent_id: int | None) -> None:
    attributes = spec.get("attributes") or []
    _check_attribute_names(attributes)
    label_id = spec.get("id")
    if label_id is not None:
        label = db.execute(select(Label).where(Label.id == label_id, _owned(owner))
                           ).scalars().first()
        if label is None:
            raise NotFound(f"Not found label with id #{label_id} to change")
        new_type = spec.get("type") or label.type
        if "skeleton" not in (label.type, new_type):  # to or from skeleton: ignored (logged)
            label.type = new_type
        label.name = spec.get("name") or label.name
    else:
        label = _insert(db, owner, parent_id, spec.get("name"), spec.get("type") or "any", "")
        for sublabel in spec.get("sublabels") or []:
            _update_label(db, sublabel, owner, parent_id=label.id)
        _store_svg(db, label, spec.get("svg") or "")
    if spec.get("deleted"):
        db.execute(delete(Label).where(Label.id == label.id))
        db.expunge(label)
        return
    if spec.get("color"):
        label.color = spec["color"]
    else:  # regenerated on every update without a colour, from the (new) name
        others = db.execute(select(Label.color).where(_owned(owner), Label.id != label.id)
                            .order_by(Label.id)).scalars()
        label.color = label_color(label.name, list(others))
    if _name_taken(db, owner, label.name, label.parent_id, label.id):
        raise ValidationFailed([NAMES_NOT_UNIQUE])
    db.add(label)
    db.flush()
    _merge_attributes(db, label, attributes)


def _merge_attributes(db: Session, label: Label, specs: list[dict[str, Any]]) -> None:
    """With ``id``: that attribute of the label (404 otherwise); without: the one with that name,
    else a new one. Each given field replaces the stored one; unmentioned attributes stay.
    ``deleted`` (2.65+) removes the attribute, and its values from the annotations."""
    for spec in specs:
        if spec.get("id") is not None:
            attribute = db.execute(select(AttributeSpec).where(
                AttributeSpec.id == spec["id"], AttributeSpec.label_id == label.id)
            ).scalars().first()
            if attribute is None:
                raise NotFound(f"Attribute with id #{spec['id']} does not exist")
        else:
            attribute = db.execute(select(AttributeSpec).where(
                AttributeSpec.label_id == label.id, AttributeSpec.name == spec.get("name"))
            ).scalars().first()
            if attribute is None:
                if not spec.get("deleted"):
                    db.add(_new_attribute(label, spec))
                    db.flush()
                continue
        if spec.get("deleted"):
            from mockcvat.services.annotations import drop_attribute_values

            drop_attribute_values(db, label.id or 0, attribute.id or 0)
            db.delete(attribute)
            db.flush()
            continue
        if spec.get("name", attribute.name) != attribute.name and db.execute(
                select(AttributeSpec.id).where(AttributeSpec.label_id == label.id,
                                               AttributeSpec.name == spec["name"])).first():
            # CVAT's unique_together (label, name) fails with a 500 here; a 400 is kinder
            raise ValidationFailed([f"Duplicate attribute with name '{spec['name']}' exists"])
        attribute.name = spec.get("name", attribute.name)
        attribute.default_value = spec.get("default_value", attribute.default_value)
        attribute.mutable = spec.get("mutable", attribute.mutable)
        attribute.input_type = spec.get("input_type", attribute.input_type)
        if "values" in spec:
            attribute.values = [str(v) for v in spec["values"] or []]
        db.add(attribute)
        db.flush()


def _sync_children_at_commit(db: Session, owner: Owner) -> None:
    """Once per owner and transaction: just before commit, when the owner's final
    ``updated_date`` is known, bring its older tasks and jobs up to it."""
    pending: set[tuple[str, int]] = db.info.setdefault("label_owner_children", set())
    key = (("project", owner["project_id"]) if owner.get("project_id") is not None
           else ("task", owner.get("task_id") or 0))
    if key in pending:
        return
    if not pending:
        event.listen(db, "before_commit", _sync_children, once=True)
    pending.add(key)


def _sync_children(db: Session) -> None:
    for kind, pk in db.info.pop("label_owner_children", set()):
        touch_children(db, kind, pk)


def touch_children(db: Session, kind: str, pk: int) -> None:
    """``update_child_objects_on_labels_update``: a project's tasks and their jobs (or a task's
    jobs) with an older ``updated_date`` get the owner's."""
    owner = db.get(Project if kind == "project" else Task, pk)
    if owner is None:
        return
    when = owner.updated_date
    if kind == "project":
        task_ids = select(Task.id).where(Task.project_id == pk).scalar_subquery()
        db.execute(sql_update(Task).where(Task.project_id == pk, Task.updated_date < when)
                   .values(updated_date=when))
        db.execute(sql_update(Job).where(Job.task_id.in_(task_ids), Job.updated_date < when)
                   .values(updated_date=when))
    else:
        db.execute(sql_update(Job).where(Job.task_id == pk, Job.updated_date < when)
                   .values(updated_date=when))


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
    """``job_id`` / ``task_id`` / ``project_id``: that object's labels (a task in a project, or a
    job of one, uses the project's), if the caller may view it. Present more than once, even
    blank, is a 400; a blank one alone lists everything visible."""
    from mockcvat.services import jobs, projects, tasks

    keys = ("job_id", "task_id", "project_id")
    if sum(key in params for key in keys) > 1:
        raise ValidationFailed([OWNER_PARAMS_TOGETHER])
    key = next((key for key in keys if params.get(key)), None)
    if key is None:
        return iam.engine(ctx).visible_labels()
    org = ctx.org  # the list itself needs membership of the named org (labels.rego)
    if org.organization is not None and org.role is None and not iam.is_admin(ctx):
        raise PermissionDenied()
    model = key[:-3].capitalize()
    try:
        pk = int(params[key])
    except ValueError:
        pk = -1
    if not 0 <= pk <= MAX_SQL_INT:
        # CVAT's unguarded .get() fails with a 500 here; a 404 serves clients better
        raise NotFound(f"No {model} matches the given query.")
    if key == "project_id":
        return Label.project_id == projects.load(ctx, db, pk, "view").id
    task = (jobs.load(ctx, db, pk, "view")[1] if key == "job_id"
            else tasks.load(ctx, db, pk, "view"))
    if task.project_id is not None:
        return Label.project_id == task.project_id
    return Label.task_id == task.id


def list_labels(ctx: Context) -> dict[str, Any]:
    """Top-level labels only: sublabels are listed nowhere but in their parent's ``sublabels``."""
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
    """A label (sublabels too), judged through its project (if any) or its task."""
    from mockcvat.services import projects, tasks

    label = db.get(Label, label_id)
    if label is None:
        raise NotFound("No Label matches the given query.")
    if label.project_id is not None:
        projects.load(ctx, db, label.project_id, scope)
    else:
        tasks.load(ctx, db, label.task_id or 0, scope)
    return label


def _owner_row(db: Session, label: Label) -> Project | Task | None:
    return db.get(Project, label.project_id) if label.project_id else db.get(Task, label.task_id)


def retrieve(ctx: Context, label_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "view")
        return LabelSerializer.dump(payloads(db, [label])[0]) or {}


def update(ctx: Context, label_id: int, raw: Any) -> dict[str, Any]:
    """The body goes, as ``{"labels": [body]}`` with the label's ``id`` (and its ``name`` when
    missing), through the owner's partial PATCH; then the owner is saved."""
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "update:desc")
        spec = LocalLabel.validate(raw, partial=True)
        if label.parent_id is not None:
            raise ValidationFailed([SUBLABEL_PATCH])
        spec = {**spec, "id": label.id}
        spec.setdefault("name", label.name)
        owner = owner_of(task_id=label.task_id, project_id=label.project_id)
        holder = _owner_row(db, label)
        update_labels(db, [spec], owner)
        if holder is not None:
            holder.updated_date = utcnow()
            db.add(holder)
        db.flush()
        db.refresh(label)
        return LabelSerializer.dump(payloads(db, [label])[0]) or {}


def destroy(ctx: Context, label_id: int) -> None:
    """Touch the owner and its older children, then delete (sublabels, attributes go too)."""
    with ctx.mock.db.session() as db:
        label = _load(ctx, db, label_id, "update:desc")
        if label.parent_id is not None:
            raise ValidationFailed([SUBLABEL_DELETE])
        holder = _owner_row(db, label)
        if holder is not None:
            holder.updated_date = utcnow()
            db.add(holder)
            db.flush()
            touch_children(db, "project" if label.project_id else "task", holder.id or 0)
        db.execute(delete(Label).where(Label.id == label.id))
        db.expunge(label)
