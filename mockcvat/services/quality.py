"""Quality control (CVAT's ``quality_control`` app): settings, requirements (2.80), reports
computed in the background from a task's Ground Truth job, and their conflicts.

A report compares the GT job with every annotation job on the GT frames they share
(``mockcvat.quality.compare``); the task report is the sum of its job reports (``parent_id``).
CVAT's rules: a report needs a 2D task whose GT job is at the ``acceptance`` stage in the
``completed`` state; one computation per task at a time (409); ``target_last_updated`` is the
task's last change when the report was made, so a client sees a report is stale once the
task's ``updated_date`` is newer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import false, insert, or_, select

from mockcvat import background, compat, iam, listing
from mockcvat.compat import PROJECT_QUALITY, QUALITY_REQUIREMENTS
from mockcvat.errors import NotFound, ValidationFailed
from mockcvat.formats.tracks import tracks_to_shapes
from mockcvat.jsonlogic import FilterField
from mockcvat.models import (
    AnnotationConflict,
    Data,
    Job,
    Project,
    QualityReport,
    QualityRequirement,
    QualitySettings,
    Segment,
    Task,
)
from mockcvat.models.users import utcnow
from mockcvat.quality.compare import (
    ERROR,
    Frame,
    Labels,
    Params,
    Summary,
    compare,
    report_data,
    uniform,
)
from mockcvat.schemas import quality as schemas
from mockcvat.services import annotations, resources
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

GT_NOT_READY = ("Quality reports require a Ground Truth job in the task at the acceptance "
                "stage and in the completed state")
ONLY_2D = "Quality reports are only supported in 2d tasks"
FILTERS_UNSUPPORTED = ("Requirement filters are not supported by mockcvat; leave 'filter' "
                       "empty")


def new_api(ctx: Context | MockCVAT) -> bool:
    """Settings hold requirements (2.74+)."""
    mock = getattr(ctx, "mock", ctx)
    return mock.compat.has(since=QUALITY_REQUIREMENTS)


def projects_api(ctx: Context | MockCVAT) -> bool:
    """Project settings and reports, ``inherit``/``job_filter``, job and task counts (2.37+)."""
    mock = getattr(ctx, "mock", ctx)
    return mock.compat.has(since=PROJECT_QUALITY)


# --- settings: made on first use, one per task (and project) ---------------------------------
def base_requirements(settings_id: int) -> list[dict[str, Any]]:
    """The base requirement of each annotation type (CVAT's ``Base <type>``, disabled): they
    carry the comparison parameters of their type; other requirements inherit from them."""
    now = utcnow()
    return [{"settings_id": settings_id, "name": f"Base {kind.replace('_', ' ')}",
             "is_base": True, "sort_order": order, "filter": "", "enabled": False,
             "annotation_type": kind, "metric": "accuracy", "required_score": 0.7,
             "parent_requirement": None, "params": base_parameters(),
             "created_date": now, "updated_date": now}
            for order, kind in enumerate(schemas.REQUIREMENT_TYPES)]


def base_parameters() -> dict[str, Any]:
    defaults = schemas.DEFAULTS_226
    return {field: defaults[param] for field, param in schemas.REQUIREMENT_PARAMETERS.items()
            } | {"attribute_comparison": None}


def ensure_settings(db: Session) -> None:
    """Settings for every task and project that has none yet (CVAT makes them with it)."""
    for column, owner in ((QualitySettings.task_id, Task), (QualitySettings.project_id, Project)):
        missing = [pk for (pk,) in db.execute(
            select(owner.id).where(owner.id.not_in(select(column).where(column.is_not(None))))
            .order_by(owner.id))]
        for pk in missing:
            row = QualitySettings(values=dict(schemas.DEFAULTS_226),
                                  **{column.key: pk})
            db.add(row)
            db.flush()
            db.execute(insert(QualityRequirement), base_requirements(row.id or 0))


def _owner_standing(ctx: Context, db: Session, settings: QualitySettings) -> iam.Standing:
    if settings.task_id is not None:
        return resources.standing_for_task(ctx, db, db.get(Task, settings.task_id))
    return resources.standing_for_project(ctx, db, db.get(Project, settings.project_id))


def _load_settings(ctx: Context, db: Session, pk: int, scope: str) -> QualitySettings:
    ensure_settings(db)
    settings = db.get(QualitySettings, pk)
    if settings is None or (settings.project_id is not None and not projects_api(ctx)):
        raise NotFound()
    policy = iam.quality(ctx)
    standing = _owner_standing(ctx, db, settings)
    if settings.task_id is not None:
        policy.check_task(scope, standing)
    else:
        policy.engine.check(policy.engine.allow_project(
            "view" if scope == "view" else "update:desc", standing))
    return settings


def _requirements(db: Session, settings_ids: list[int]) -> dict[int, list[QualityRequirement]]:
    out: dict[int, list[QualityRequirement]] = {}
    if settings_ids:
        for row in db.execute(select(QualityRequirement).where(
                QualityRequirement.settings_id.in_(settings_ids))
                .order_by(QualityRequirement.sort_order, QualityRequirement.id)).scalars():
            out.setdefault(row.settings_id, []).append(row)
    return out


def requirement_body(req: QualityRequirement, settings: Any) -> dict[str, Any]:
    """A requirement as its serializer reads it."""
    params = req.params or {}
    return {
        "id": req.id, "settings_id": req.settings_id, "task_id": settings.task_id,
        "project_id": settings.project_id, "name": req.name, "is_base": req.is_base,
        "sort_order": req.sort_order, "filter": req.filter, "enabled": req.enabled,
        "annotation_type": req.annotation_type, "metric": req.metric,
        "required_score": req.required_score, "parent_requirement": req.parent_requirement,
        **{field: params.get(field) for field in schemas.REQUIREMENT_PARAMETERS},
        "attribute_comparison": params.get("attribute_comparison"),
        "created_date": req.created_date, "updated_date": req.updated_date,
    }


def requirement_payload(req: QualityRequirement, settings: Any, *, detail: bool) -> dict[str, Any]:
    body = requirement_body(req, settings)
    if detail:
        body["effective"] = None
        return schemas.QualityRequirement.dump(body) or {}
    return schemas.QualityRequirementListItem.dump(body) or {}


def settings_payloads(db: Any, rows: list[Any]) -> list[dict[str, Any]]:
    requirements = _requirements(db, [r.id for r in rows])
    out = []
    for row in rows:
        values = row.values or {}
        out.append(schemas.QualitySettings.dump({
            **schemas.DEFAULTS_226, **values, "id": row.id, "task_id": row.task_id,
            "project_id": row.project_id, "job_filter": row.job_filter,
            "inherit": row.inherit, "max_validations_per_job": row.max_validations_per_job,
            "requirements": [requirement_body(r, row) for r in requirements.get(row.id, [])],
            "created_date": row.created_date, "updated_date": row.updated_date,
        }) or {})
    return out


_S = QualitySettings
SETTINGS_226 = listing.Listing(
    fields={"id": FilterField("id", _S.id, "int"),
            "task_id": FilterField("task_id", _S.task_id, "int", nullable=True)},
    filter_fields=("id", "task_id"), ordering_fields=("id",), simple_filters=("task_id",),
)
SETTINGS_280 = listing.Listing(
    fields={**SETTINGS_226.fields,
            "project_id": FilterField("project_id", _S.project_id, "int", nullable=True),
            "inherit": FilterField("inherit", _S.inherit, "bool")},
    filter_fields=("id", "task_id", "project_id", "inherit"), ordering_fields=("id",),
    simple_filters=("task_id", "project_id", "inherit"),
)


def _visible_settings(ctx: Context) -> Any:
    policy = iam.quality(ctx)
    policy.check_list()
    from mockcvat.models import Project as P

    visible_projects = select(P.id).where(policy.engine.visible_projects())
    return or_(_S.task_id.in_(policy.visible_tasks()),
               _S.project_id.in_(visible_projects) if projects_api(ctx) else false())


def list_settings(ctx: Context) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        ensure_settings(db)
    query = select(*_S.__table__.columns).where(_visible_settings(ctx))
    parent_type = ctx.params.get("parent_type")
    if projects_api(ctx) and parent_type in ("task", "project"):
        column = _S.task_id if parent_type == "task" else _S.project_id
        query = query.where(column.is_not(None))
    with ctx.mock.db.session() as db:
        page = listing.paginate(db, query, SETTINGS_280 if projects_api(ctx) else
                                SETTINGS_226, ctx.params, ctx.url, pk=_S.id)
        return page.body(settings_payloads(db, list(page.rows)))


def retrieve_settings(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        settings = _load_settings(ctx, db, pk, "view")
        return settings_payloads(db, [settings])[0]


def update_settings(ctx: Context, pk: int, raw: Any, *, partial: bool) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        settings = _load_settings(ctx, db, pk, "update:desc")
        data = schemas.QualitySettings.validate(raw, partial=partial)
        requirements = data.pop("requirements", None)
        if requirements is not None:
            raise ValidationFailed({"requirements": [
                "Requirements are changed through /api/quality/settings/requirements"]})
        for name in ("job_filter", "inherit", "max_validations_per_job"):
            if name in data:
                setattr(settings, name, data.pop(name))
        settings.values = {**(settings.values or {}), **data}
        settings.updated_date = utcnow()
        db.add(settings)
        db.flush()
        return settings_payloads(db, [settings])[0]


# --- requirements (2.80) ----------------------------------------------------------------------
_R = QualityRequirement
REQUIREMENTS = listing.Listing(
    fields={"id": FilterField("id", _R.id, "int"),
            "settings_id": FilterField("settings_id", _R.settings_id, "int"),
            "task_id": FilterField("task_id", select(_S.task_id).where(
                _S.id == _R.settings_id).scalar_subquery(), "int", nullable=True),
            "project_id": FilterField("project_id", select(_S.project_id).where(
                _S.id == _R.settings_id).scalar_subquery(), "int", nullable=True),
            "annotation_type": FilterField("annotation_type", _R.annotation_type,
                                           nullable=True),
            "enabled": FilterField("enabled", _R.enabled, "bool"),
            "sort_order": FilterField("sort_order", _R.sort_order, "int"),
            "name": FilterField("name", _R.name)},
    filter_fields=("id", "settings_id", "task_id", "project_id", "annotation_type", "enabled",
                   "name"),
    ordering_fields=("id", "sort_order", "name"),
    simple_filters=("settings_id", "task_id", "project_id", "annotation_type", "enabled"),
    default_ordering=("sort_order", "id"),
    simple_filter_choices={"annotation_type": schemas.REQUIREMENT_TYPES},
)


def list_requirements(ctx: Context) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        ensure_settings(db)
    query = select(*_R.__table__.columns).where(
        _R.settings_id.in_(select(_S.id).where(_visible_settings(ctx))))
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, REQUIREMENTS, ctx.params, ctx.url, pk=_R.id)
        rows = list(page.rows)
        owners = {s.id: s for s in connection.execute(select(*_S.__table__.columns).where(
            _S.id.in_({r.settings_id for r in rows})))} if rows else {}
        return page.body([requirement_payload(r, owners[r.settings_id], detail=False)
                          for r in rows])


def _load_requirement(ctx: Context, db: Session, pk: int, scope: str
                      ) -> tuple[QualityRequirement, QualitySettings]:
    req = db.get(QualityRequirement, pk)
    if req is None:
        raise NotFound()
    return req, _load_settings(ctx, db, req.settings_id, scope)


def _effective(db: Session, req: QualityRequirement) -> dict[str, Any]:
    """The parameters in force: the requirement's own, else its parents', else the base
    requirement of its annotation type, else the defaults."""
    values: dict[str, Any] = {}
    chain, seen = [req], {req.id}
    while chain[-1].parent_requirement and chain[-1].parent_requirement not in seen:
        parent = db.get(QualityRequirement, chain[-1].parent_requirement)
        if parent is None:
            break
        seen.add(parent.id)
        chain.append(parent)
    base = db.execute(select(QualityRequirement).where(
        _R.settings_id == req.settings_id, _R.is_base.is_(True),
        _R.annotation_type == req.annotation_type)).scalars().first()
    for source in reversed([*chain, *([base] if base is not None else [])]):
        values.update({k: v for k, v in (source.params or {}).items() if v is not None})
    defaults = base_parameters()
    return {field: values.get(field, defaults[field]) for field in defaults} | {
        "metric": next((r.metric for r in chain if r.metric), "accuracy"),
        "required_score": next((r.required_score for r in chain
                                if r.required_score is not None), 0.7)}


def _requirement_detail(db: Session, req: QualityRequirement,
                        settings: QualitySettings) -> dict[str, Any]:
    body = requirement_payload(req, settings, detail=True)
    body["effective"] = _effective(db, req)
    return body


def retrieve_requirement(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        req, settings = _load_requirement(ctx, db, pk, "view")
        return _requirement_detail(db, req, settings)


def _apply(req: QualityRequirement, data: Mapping[str, Any]) -> None:
    if data.get("filter"):
        raise ValidationFailed({"filter": [FILTERS_UNSUPPORTED]})
    for name in ("name", "sort_order", "filter", "enabled", "annotation_type", "metric",
                 "required_score", "parent_requirement"):
        if name in data:
            setattr(req, name, data[name] or None if name == "annotation_type" else data[name])
    params = dict(req.params or {})
    for name in (*schemas.REQUIREMENT_PARAMETERS, "attribute_comparison"):
        if name in data:
            params[name] = data[name] if data[name] != "" else None
    req.params = params
    req.updated_date = utcnow()


def _check_parent(db: Session, settings_id: int, parent: int | None) -> None:
    if parent is not None:
        row = db.get(QualityRequirement, parent)
        if row is None or row.settings_id != settings_id:
            raise ValidationFailed({"parent_requirement": [
                f'Invalid pk "{parent}" - object does not exist.']})


def create_requirement(ctx: Context, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        data = schemas.QualitySettings.fields["requirements"].child.serializer.validate(raw)
        if "settings_id" not in data:
            raise ValidationFailed({"settings_id": ["This field is required."]})
        if not data.get("name"):
            raise ValidationFailed({"name": ["This field is required."]})
        settings = _settings_for_write(ctx, db, data["settings_id"])
        _check_parent(db, settings.id or 0, data.get("parent_requirement"))
        req = QualityRequirement(settings_id=settings.id or 0, name=data["name"])
        _apply(req, data)
        db.add(req)
        db.flush()
        return _requirement_detail(db, req, settings)


def _settings_for_write(ctx: Context, db: Session, settings_id: int) -> QualitySettings:
    ensure_settings(db)
    if db.get(QualitySettings, settings_id) is None:
        raise ValidationFailed({"settings_id": [
            f'Invalid pk "{settings_id}" - object does not exist.']})
    return _load_settings(ctx, db, settings_id, "update:desc")


def update_requirement(ctx: Context, pk: int, raw: Any, *, partial: bool) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        req, settings = _load_requirement(ctx, db, pk, "update:desc")
        data = schemas.QualityRequirementListItem.validate(raw, partial=partial)
        data.pop("settings_id", None)
        if req.is_base and "annotation_type" in data and data["annotation_type"] != \
                req.annotation_type:
            raise ValidationFailed({"annotation_type": [
                "The annotation type of a base requirement cannot be changed"]})
        _check_parent(db, settings.id or 0, data.get("parent_requirement"))
        _apply(req, data)
        db.add(req)
        db.flush()
        return _requirement_detail(db, req, settings)


def destroy_requirement(ctx: Context, pk: int) -> None:
    with ctx.mock.db.session() as db:
        req, _ = _load_requirement(ctx, db, pk, "update:desc")
        if req.is_base:
            raise ValidationFailed(["Base requirements cannot be deleted"])
        for child in db.execute(select(QualityRequirement).where(
                _R.parent_requirement == req.id)).scalars():
            child.parent_requirement = req.parent_requirement
            db.add(child)
        db.delete(req)


def bulk_create_requirements(ctx: Context, raw: Any) -> list[dict[str, Any]]:
    with ctx.mock.db.session() as db:
        data = schemas.QualityRequirementBulkCreate.validate(raw)
        settings = _settings_for_write(ctx, db, data["settings_id"])
        created: list[QualityRequirement] = []

        def add(nodes: list[dict[str, Any]], parent: int | None) -> None:
            for node in nodes:
                children = node.pop("children", None) or []
                node.setdefault("parent_requirement", parent)
                _check_parent(db, settings.id or 0, node["parent_requirement"])
                req = QualityRequirement(settings_id=settings.id or 0, name=node["name"])
                _apply(req, node)
                db.add(req)
                db.flush()
                created.append(req)
                add(children, req.id)

        add(data["requirements"], None)
        return [_requirement_detail(db, r, settings) for r in created]


# --- comparison parameters --------------------------------------------------------------------
def parameters(db: Session, settings: QualitySettings, *, new: bool) -> dict[str, Params]:
    """The engine's parameters per annotation type: 2.26's single set, or (2.80) each type's
    base requirement."""
    values = {**schemas.DEFAULTS_226, **(settings.values or {})}
    if not new:
        return uniform(Params.from_mapping(values))
    out: dict[str, Params] = {}
    for req in _requirements(db, [settings.id or 0]).get(settings.id or 0, []):
        if req.is_base and req.annotation_type:
            effective = _effective(db, req)
            mapped = {schemas.REQUIREMENT_PARAMETERS[k]: v for k, v in effective.items()
                      if k in schemas.REQUIREMENT_PARAMETERS}
            out[req.annotation_type] = Params.from_mapping(
                {**values, **mapped, "report_low_overlap": False})
    default = Params.from_mapping({**values, "report_low_overlap": False})
    return {kind: out.get(kind, default) for kind in
            ("tag", "rectangle", "polygon", "mask", "ellipse", "polyline", "points", "skeleton")}


# --- reports: computing -----------------------------------------------------------------------
def _gt_job(db: Session, task: Task) -> Job | None:
    return db.execute(select(Job).where(Job.task_id == task.id, Job.type == "ground_truth")
                      ).scalars().first()


def check_computable(db: Session, task: Task) -> Job:
    if task.dimension != "2d":
        raise ValidationFailed([ONLY_2D])
    gt = _gt_job(db, task)
    if gt is None or gt.stage != "acceptance" or gt.state != "completed":
        raise ValidationFailed([GT_NOT_READY])
    return gt


def frame_annotations(data: dict[str, Any], job_id: int, frames: set[int],
                      book: annotations.LabelBook, end_frame: int) -> dict[int, list[dict]]:
    """A job's annotations on ``frames`` as the engine's ``Ann`` dicts (tracks interpolated,
    attribute values by name)."""
    names = {spec.id: spec.name for specs in book.specs.values() for spec in specs}

    def ann(item: dict[str, Any], kind: str, obj_id: int) -> dict[str, Any]:
        return {"kind": kind, "id": obj_id, "job_id": job_id,
                "type": item.get("type") or "tag", "label_id": item["label_id"],
                "points": list(item.get("points") or []), "rotation": item.get("rotation", 0),
                "z_order": item.get("z_order", 0), "group": item.get("group") or 0,
                "occluded": item.get("occluded", False), "outside": item.get("outside", False),
                "attributes": {names.get(a["spec_id"], str(a["spec_id"])): a["value"]
                               for a in item.get("attributes", [])},
                "raw_attributes": list(item.get("attributes", [])),
                "elements": [{"label_id": e["label_id"], "points": e.get("points") or [],
                              "outside": e.get("outside", False),
                              "occluded": e.get("occluded", False)}
                             for e in item.get("elements") or []]}

    out: dict[int, list[dict]] = {frame: [] for frame in frames}
    for tag in data["tags"]:
        if tag["frame"] in frames:
            out[tag["frame"]].append(ann(tag, "tag", tag["id"]))
    for shape in data["shapes"]:
        if shape["frame"] in frames:
            out[shape["frame"]].append(ann(shape, "shape", shape["id"]))
    for track in data["tracks"]:
        for shape in tracks_to_shapes([track], end_frame, included=frames):
            out[shape["frame"]].append(ann(shape, "track", track["id"]))
    return out


def comparison_labels(book: annotations.LabelBook) -> Labels:
    """The task's labels as the engine needs them: top-level names (the confusion matrix's
    order) and each skeleton's sublabels."""
    rows = sorted(book.labels.values(), key=lambda r: r.id or 0)
    sublabels: dict[int, list[int]] = {}
    for r in rows:
        if r.parent_id is not None:
            sublabels.setdefault(r.parent_id, []).append(r.id or 0)
    return Labels(names={r.id or 0: r.name for r in rows if r.parent_id is None},
                  sublabels=sublabels)


def compute(mock: MockCVAT, task_id: int, owner_id: int) -> int:
    """Compute and store the task's report and its job reports; returns the task report's id.
    The comparison runs between two short transactions (read, then write), not inside one."""
    from mockcvat.services import task_data

    new = new_api(mock)
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        if task is None:
            raise background.RequestFailed("The task was deleted\n")
        gt_job = check_computable(db, task)
        ensure_settings(db)
        settings = db.execute(select(QualitySettings).where(
            QualitySettings.task_id == task_id)).scalars().one()
        if projects_api(mock) and settings.inherit and task.project_id is not None:
            # QualitySettingsManager.get_task_settings(inherit=True): the project's settings
            settings = db.execute(select(QualitySettings).where(
                QualitySettings.project_id == task.project_id)).scalars().one()
        params = parameters(db, settings, new=new)
        requirements = [(req, requirement_types(req), _effective(db, req))
                        for req in _requirements(db, [settings.id or 0]).get(settings.id or 0, [])]
        data = db.get(Data, task.data_id) if task.data_id else None
        layout = (data.validation if data is not None else None) or {}
        disabled = set(layout.get("disabled_frames") or [])
        gt_segment = db.get(Segment, gt_job.segment_id)
        gt_frames = {f for f in (gt_segment.frames or []) if f not in disabled}
        store = task_data.frame_store(mock, data.id or 0) if data is not None else None
        sizes = {i: (f.width, f.height) for i, f in enumerate(store.manifest.frames)
                 } if store else {}
        book = annotations.LabelBook(db, task)
        labels = comparison_labels(book)
        end = data.size if data is not None else 0
        gt_anns = frame_annotations(annotations.read_job(db, gt_job.id or 0, book),
                                    gt_job.id or 0, gt_frames, book, end)
        inputs: list[tuple[Job, list[Frame], int]] = []
        for job, segment in annotations.annotation_jobs(db, task_id):
            job_frames = set(range(segment.start_frame, segment.stop_frame + 1))
            shared = sorted(job_frames & gt_frames)
            ds = frame_annotations(annotations.read_job(db, job.id or 0, book), job.id or 0,
                                   set(shared), book, end)
            inputs.append((job, [Frame(f, *sizes.get(f, (1, 1)), gt=gt_anns[f], ds=ds[f])
                                 for f in shared], len(job_frames)))

    job_summaries = [(job, compare(frames, labels, params), size)
                     for job, frames, size in inputs]
    total = Summary()
    for _, summary, _ in job_summaries:
        total.add(summary)
    if total.matrix is None:
        total = compare([], labels, params)
    base = params["rectangle"]

    projects = projects_api(mock)

    def summary_of(summary: Summary, size: int, jobs: Any) -> dict[str, Any]:
        return _summary(summary, requirements, total_frames=size, jobs=jobs, new=new,
                        projects=projects)

    now = utcnow()
    with mock.db.session() as db:
        if db.get(Task, task_id) is None:
            raise background.RequestFailed("The task was deleted\n")
        task_report = QualityReport(
            target="task", task_id=task_id, organization_id=task.organization_id,
            assignee_id=task.assignee_id, created_date=now, target_last_updated=task.updated_date,
            gt_last_updated=gt_job.updated_date,
            summary=summary_of(total, end, job_summaries),
            data=report_data(total, labels, base,
                             frame_share=len(set(total.frames)) / (end or 1)))
        db.add(task_report)
        db.flush()
        for job, summary, size in job_summaries:
            row = QualityReport(
                target="job", job_id=job.id, task_id=task_id, parent_id=task_report.id,
                organization_id=task.organization_id, assignee_id=job.assignee_id,
                created_date=now, target_last_updated=job.updated_date,
                gt_last_updated=gt_job.updated_date, summary=summary_of(summary, size, None),
                data=report_data(summary, labels, base,
                                 frame_share=len(summary.frames) / (size or 1)))
            db.add(row)
            db.flush()
            if summary.conflicts:
                db.execute(insert(AnnotationConflict), [
                    {"report_id": row.id, "frame": c["frame"], "type": c["type"],
                     "severity": ERROR if new else c["severity"],
                     "annotation_ids": c["annotation_ids"],
                     "attribute_names": c.get("attribute_names", [])}
                    for c in summary.conflicts])
        return task_report.id or 0


Requirements = list[tuple[QualityRequirement, set[str] | None, dict[str, Any]]]


def _summary(summary: Summary, requirements: Requirements, *, total_frames: int,
             jobs: list[tuple[Job, Summary, int]] | None, new: bool,
             projects: bool) -> dict[str, Any]:
    """The stored summary, in the emulated version's shape: 2.26's counts; from 2.37 also the
    frames and (a task's report) its jobs; from 2.74 requirements instead of the counts."""
    frames = len(set(summary.frames))
    out: dict[str, Any] = {"conflict_count": len(summary.conflicts),
                           "conflicts_by_type": summary.conflicts_by_type()}
    if not new:
        out.update({
            "frame_count": frames, "frame_share": frames / (total_frames or 1),
            "warning_count": summary.count("warning"), "error_count": summary.count(ERROR),
            "valid_count": summary.valid_count, "ds_count": summary.ds_count,
            "gt_count": summary.gt_count, "total_count": summary.total_count,
            "accuracy": summary.accuracy, "precision": summary.precision,
            "recall": summary.recall})
    else:
        out.update({"error_count": len(summary.conflicts),
                    "requirements": requirement_scores(requirements, summary)})
    if projects:
        out.update({"total_frames": total_frames, "validation_frames": frames,
                    "validation_frame_share": frames / (total_frames or 1)})
    if projects and jobs is not None:
        checkable = sum(1 for _, s, _ in jobs if s.frames)
        out["jobs"] = {"total": len(jobs), "excluded": 0,
                       "not_checkable": len(jobs) - checkable, "included": checkable}
        if new:
            out["jobs"]["completed"] = sum(1 for j, s, _ in jobs
                                           if s.frames and j.state == "completed")
    return out


def requirement_types(req: QualityRequirement) -> set[str] | None:
    """The annotation types a requirement scores (None: all); skeleton keypoints are judged
    with their skeletons."""
    if not req.annotation_type:
        return None
    return {"skeleton" if req.annotation_type == "skeleton_keypoint" else req.annotation_type}


def score(summary: Summary, types: set[str] | None, metric: str
          ) -> tuple[float | None, dict[str, int]]:
    """A requirement's score: its metric over the annotations of its types (``mean_``:
    averaged over the labels present, ``label_``: the worst label's)."""
    counts = [(gt, ds, n) for (kind, gt, ds), n in summary.by_type.items()
              if types is None or kind in types]
    valid = sum(n for gt, ds, n in counts if gt is not None and gt == ds)
    missing = sum(n for _, ds, n in counts if ds is None)
    extra = sum(n for gt, _, n in counts if gt is None)
    components = {"valid_count": valid, "missing_count": missing, "extra_count": extra}
    if not counts:
        return None, components
    aggregation, _, name = metric.partition("_") if metric.startswith(("mean_", "label_")) \
        else ("micro", "", metric)
    if aggregation == "micro":
        return _metric(name, counts, None), components
    labels = {label for gt, ds, _ in counts for label in (gt, ds) if label is not None}
    values = [_metric(name, counts, label) for label in labels]
    if not values:
        return None, components
    return (sum(values) / len(values) if aggregation == "mean" else min(values)), components


def _metric(name: str, counts: list[tuple[int | None, int | None, int]],
            label: int | None) -> float:
    def mine(value: int | None) -> bool:
        return value is not None and (label is None or value == label)

    valid = sum(n for gt, ds, n in counts if mine(gt) and gt == ds)
    ds_count = sum(n for _, ds, n in counts if mine(ds))
    gt_count = sum(n for gt, _, n in counts if mine(gt))
    if name == "precision":
        return valid / (ds_count or 1)
    if name == "recall":
        return valid / (gt_count or 1)
    if name == "dice":
        return 2 * valid / ((ds_count + gt_count) or 1)
    if label is None and name == "accuracy":  # the unmatched row and column count too
        return valid / (sum(n for _, _, n in counts) or 1)
    return valid / ((ds_count + gt_count - valid) or 1)  # Jaccard; a label's accuracy


def requirement_scores(requirements: Requirements, summary: Summary) -> dict[str, Any]:
    """2.80's ``requirements`` summary: each enabled requirement's metric over the
    annotations of its type (all types when it has none)."""
    items = []
    for req, types, effective in requirements:
        if not req.enabled:
            continue
        value, components = score(summary, types, effective["metric"])
        items.append({
            "requirement_id": req.id, "name": req.name, "metric": effective["metric"],
            "score": value, "score_components": components,
            "calculation": {"status": "computed" if value is not None else "not_computed",
                            "reason": None if value is not None else "no_annotations"},
            "threshold": effective["required_score"]})
    return {"total": len(requirements), "enabled": len(items),
            "completed": sum(1 for i in items if i["score"] is not None
                             and i["score"] >= i["threshold"]),
            "not_computed": sum(1 for i in items if i["score"] is None), "items": items}


# --- reports: the operations ------------------------------------------------------------------
def _rq_work(ctx: Context, task: Task) -> background.Work:
    owner = ctx.user.id or 0
    legacy = None if ctx.mock.compat.has(since=background.NEW_REQUEST_IDS) else \
        f"quality-check-task-{task.id}-user-{owner}"
    return background.Work(action="calculate", target="task", target_id=task.id or 0,
                           owner_id=owner, organization_id=task.organization_id,
                           job="quality.compute", args={"task_id": task.id or 0,
                                                        "owner_id": owner},
                           subresource="quality", project_id=task.project_id,
                           task_id=task.id, rq_id=legacy)


@background.job("quality.compute")
def _compute_job(mock: MockCVAT, reporter: background.Reporter, task_id: int,
                 owner_id: int) -> background.Result:
    """A report's computation, as a job any process sharing the database may run."""
    return background.Result(result_id=compute(mock, task_id, owner_id))


def create_report(ctx: Context, raw: Any) -> Any:
    """``POST /api/quality/reports``: 202 ``{"rq_id"}``; ``?rq_id=`` polls it (202 while
    running, 201 with the report; until 2.38 a failure is a 400)."""
    from mockcvat.http import CvatJSONResponse

    rq_id = ctx.params.get("rq_id")
    if rq_id is not None and ctx.mock.compat.has(since=background.NEW_REQUEST_IDS):
        return _deprecated_status_check(ctx, rq_id)
    if rq_id is not None:
        view = ctx.mock.background.get(rq_id, poll=True)
        if view is None or view.owner_id != ctx.user.id:
            raise ValidationFailed(["Unknown quality report request"])
        if view.status == "failed":
            ctx.mock.background.forget(rq_id)
            raise ValidationFailed([view.message.strip()])
        if view.status != "finished":
            return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
        ctx.mock.background.forget(rq_id)
        return CvatJSONResponse(retrieve_report(ctx, view.result_id or 0), status_code=201)
    data = schemas.QualityReportCreate.validate(raw if raw is not None else {})
    if projects_api(ctx) and data.get("project_id") is not None:
        raise ValidationFailed({"project_id": [
            "Project quality reports are not supported by mockcvat yet"]})
    if data.get("task_id") is None:
        raise ValidationFailed({"task_id": ["This field is required."]})
    with ctx.mock.db.session() as db:
        task = db.get(Task, data["task_id"])
        if task is None:
            raise ValidationFailed({"task_id": [
                f'Invalid pk "{data["task_id"]}" - object does not exist.']})
        iam.quality(ctx).check_report(resources.standing_for_task(ctx, db, task))
        check_computable(db, task)
        work = _rq_work(ctx, task)
    rq_id = ctx.mock.background.submit(work)
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


# RFC 9745's header on the status checks CVAT deprecated (``view_utils.deprecate_response``
# with ``deprecation_date=datetime(2025, 3, 17, tzinfo=timezone.utc)``)
DEPRECATION = {"Deprecation": "@1742169600"}


def _deprecated_status_check(ctx: Context, rq_id: str) -> Any:
    """``POST /api/quality/reports?rq_id=`` from 2.38 (the requests API's release): still
    served, marked deprecated; an unknown or foreign request is a 404, a failed one a 500 with
    its error, a finished one 201 with the report (the request is then forgotten)."""
    from mockcvat.http import CvatJSONResponse

    view = ctx.mock.background.get(rq_id, poll=True)
    if view is None or view.owner_id != ctx.user.id or view.action != "calculate":
        return CvatJSONResponse("Unknown request id", status_code=404, headers=DEPRECATION)
    if view.status == "failed":
        ctx.mock.background.forget(rq_id)
        return CvatJSONResponse(view.message, status_code=500, headers=DEPRECATION)
    if view.status != "finished":
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202, headers=DEPRECATION)
    ctx.mock.background.forget(rq_id)
    if not view.result_id:
        return CvatJSONResponse("No report has been computed", status_code=500,
                                headers=DEPRECATION)
    return CvatJSONResponse(retrieve_report(ctx, view.result_id), status_code=201,
                            headers=DEPRECATION)


_Q = QualityReport
REPORTS_226 = listing.Listing(
    fields={"id": FilterField("id", _Q.id, "int"),
            "job_id": FilterField("job_id", _Q.job_id, "int", nullable=True),
            "task_id": FilterField("task_id", _Q.task_id, "int", nullable=True),
            "parent_id": FilterField("parent_id", _Q.parent_id, "int", nullable=True),
            "target": FilterField("target", _Q.target),
            "created_date": FilterField("created_date", _Q.created_date, "datetime"),
            "gt_last_updated": FilterField("gt_last_updated", _Q.gt_last_updated, "datetime"),
            "target_last_updated": FilterField("target_last_updated", _Q.target_last_updated,
                                               "datetime")},
    filter_fields=("id", "job_id", "created_date", "gt_last_updated", "target_last_updated",
                   "parent_id", "task_id", "target"),
    ordering_fields=("id", "created_date", "gt_last_updated", "target_last_updated",
                     "parent_id"),
    simple_filters=("job_id", "parent_id", "target", "task_id"),
)
REPORTS_280 = listing.Listing(
    fields={**REPORTS_226.fields,
            "project_id": FilterField("project_id", _Q.project_id, "int", nullable=True)},
    filter_fields=(*REPORTS_226.filter_fields, "project_id"),
    ordering_fields=REPORTS_226.ordering_fields,
    simple_filters=(*REPORTS_226.simple_filters, "project_id"),
    simple_filter_choices={"target": ("job", "project", "task")},
)


def report_payloads(ctx: Context, db: Any, rows: list[Any]) -> list[dict[str, Any]]:
    people = basic_users(ctx, db, [r.assignee_id for r in rows])
    return [schemas.QualityReport.dump({
        "id": r.id, "job_id": r.job_id, "task_id": r.task_id, "project_id": r.project_id,
        "parent_id": r.parent_id, "target": r.target, "summary": r.summary,
        "created_date": r.created_date, "target_last_updated": r.target_last_updated,
        "gt_last_updated": r.gt_last_updated, "assignee": people.get(r.assignee_id),
    }) or {} for r in rows]


def _visible_reports(ctx: Context) -> Any:
    policy = iam.quality(ctx)
    policy.check_list()
    return _Q.task_id.in_(policy.visible_tasks())


def list_reports(ctx: Context) -> dict[str, Any]:
    query = select(*_Q.__table__.columns).where(_visible_reports(ctx))
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, REPORTS_280 if projects_api(ctx) else
                                REPORTS_226, ctx.params, ctx.url, pk=_Q.id)
        return page.body(report_payloads(ctx, connection, list(page.rows)))


def _load_report(ctx: Context, db: Session, pk: int) -> QualityReport:
    report = db.get(QualityReport, pk)
    if report is None:
        raise NotFound()
    task = db.get(Task, report.task_id)
    iam.quality(ctx).check_report(resources.standing_for_task(ctx, db, task))
    return report


def retrieve_report(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return report_payloads(ctx, db, [_load_report(ctx, db, pk)])[0]


def report_data_of(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return dict(_load_report(ctx, db, pk).data or {})


def report_csv(data: Mapping[str, Any]) -> str:
    """``?format=csv`` (2.55-2.73): the confusion matrix in the layout of CVAT's
    ``prepare_csv_report_for_downloading`` (a row per DS label with its precision; then recall,
    Dice and Jaccard rows; micro accuracy and macro Dice without the unmatched class); empty
    for a report without a matrix."""
    import csv
    import io

    matrix = ((data.get("comparison_summary") or {}).get("annotations") or {}).get(
        "confusion_matrix")
    if not matrix:
        return ""
    labels, rows = list(matrix["labels"]), [list(r) for r in matrix["rows"]]
    size = len(labels)
    ds = [sum(r) for r in rows]
    gt = [sum(r[c] for r in rows) for c in range(size)]
    diag = [rows[i][i] for i in range(size)]
    dice = [2 * diag[i] / ((ds[i] + gt[i]) or 1) for i in range(size)]
    jaccard: list[Any] = [diag[i] / ((ds[i] + gt[i] - diag[i]) or 1) for i in range(size)]
    jaccard[-1] = "nan"
    known = range(size - 1)  # the last class is "unmatched"
    accuracy = sum(diag[i] for i in known) / (sum(ds) or 1)
    dice_macro = sum(dice[i] for i in known) / (len(known) or 1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["label", *labels, "precision"])
    for label, row, precision in zip(labels, rows, matrix["precision"], strict=True):
        writer.writerow([label, *row, precision])
    writer.writerow(["recall", *matrix["recall"]])
    writer.writerow(["dice coefficient", *dice])
    writer.writerow(["jaccard index", *jaccard])
    writer.writerow([""])
    writer.writerow(["avg. accuracy (micro)", accuracy])
    writer.writerow(["avg. dice coefficient (macro)", dice_macro])
    return out.getvalue()


def report_confusion(ctx: Context, pk: int, requirement_id: int | None = None) -> Any:
    """2.80's confusion matrices: the whole report's (``/confusion``), or one requirement's
    types (``/confusion/matrix?requirement=``), with per-label metrics and the requirement's
    target metric summary."""
    with ctx.mock.db.session() as db:
        report = _load_report(ctx, db, pk)
        labels = comparison_labels(annotations.LabelBook(db, db.get(Task, report.task_id)))
        summary = Summary()
        for kind, gt, ds, count in (report.data or {}).get("confusion_by_type", []):
            summary.by_type[(kind, gt, ds)] += count
        metric, types = "accuracy", None
        if requirement_id is not None:
            req = db.get(QualityRequirement, requirement_id)
            settings = db.get(QualitySettings, req.settings_id) if req else None
            if req is None or settings is None or settings.task_id != report.task_id:
                raise NotFound()
            metric, types = _effective(db, req)["metric"], requirement_types(req)
    matrix = summary.confusion(labels, types if types is not None else {
        k for k, _, _ in summary.by_type})
    aggregation = metric.split("_", 1)[0] if metric.startswith(("mean_", "label_")) else "micro"
    base = metric.split("_", 1)[1] if aggregation != "micro" else metric
    names = dict(labels.names)
    present = {label for (_, gt, ds) in summary.by_type for label in (gt, ds) if label}
    per_label = {label: score(_only(summary, label), types, base)[0] for label in present}
    worst = sorted((v, names.get(k, "")) for k, v in per_label.items() if v is not None)
    micro = score(summary, types, base)[0]
    mean = score(summary, types, f"mean_{base}")[0]
    label = score(summary, types, f"label_{base}")[0]
    return {**matrix, "target_metric_summary": {
        "metric": base, "aggregation": aggregation,
        "values": {"micro": micro, "mean": mean, "label": label},
        "worst_labels": [name for _, name in worst[:3]]}}


def _only(summary: Summary, label: int) -> Summary:
    part = Summary()
    for key, count in summary.by_type.items():
        if label in key[1:]:
            part.by_type[key] += count
    return part


def confusion_csv(matrix: dict[str, Any]) -> str:
    header = ",".join(["ds \\ gt", *matrix["labels"]])
    rows = [",".join([name, *map(str, row)])
            for name, row in zip(matrix["labels"], matrix["rows"], strict=True)]
    return "\n".join([header, *rows]) + "\n"


_C = AnnotationConflict
_report_of_conflict = select(_Q).where(_Q.id == _C.report_id)
CONFLICTS_226 = listing.Listing(
    fields={"id": FilterField("id", _C.id, "int"),
            "frame": FilterField("frame", _C.frame, "int"),
            "type": FilterField("type", _C.type),
            "severity": FilterField("severity", _C.severity),
            "report_id": FilterField("report_id", _C.report_id, "int"),
            "job_id": FilterField("job_id", select(_Q.job_id).where(
                _Q.id == _C.report_id).scalar_subquery(), "int"),
            "task_id": FilterField("task_id", select(_Q.task_id).where(
                _Q.id == _C.report_id).scalar_subquery(), "int")},
    filter_fields=("id", "frame", "type", "job_id", "task_id", "severity"),
    ordering_fields=("id", "frame", "type", "job_id", "task_id", "severity"),
    simple_filters=("frame", "type", "job_id", "task_id", "severity"),
    simple_filter_choices={"type": schemas.CONFLICT_TYPES_226,
                           "severity": schemas.SEVERITIES_226},
)
CONFLICTS_280 = listing.Listing(
    fields={**CONFLICTS_226.fields,
            "project_id": FilterField("project_id", select(_Q.project_id).where(
                _Q.id == _C.report_id).scalar_subquery(), "int", nullable=True)},
    filter_fields=CONFLICTS_226.filter_fields,
    ordering_fields=CONFLICTS_226.ordering_fields,
    simple_filters=(*CONFLICTS_226.simple_filters, "project_id"),
    simple_filter_choices={
        "type": compat.ByVersion(schemas.CONFLICT_TYPES_226,
                                 (QUALITY_REQUIREMENTS, schemas.CONFLICT_TYPES)),
        "severity": compat.ByVersion(schemas.SEVERITIES_226, (QUALITY_REQUIREMENTS, ("error",)))},
)


def list_conflicts(ctx: Context) -> dict[str, Any]:
    """``report_id`` takes a job report's conflicts, or a task report's (its jobs')."""
    query = select(*_C.__table__.columns).where(_C.report_id.in_(
        select(_Q.id).where(_visible_reports(ctx))))
    raw = ctx.params.get("report_id")
    if raw not in (None, ""):
        try:
            report_id = int(raw)
        except ValueError:
            raise ValidationFailed({"report_id": ["A valid integer is required."]}) from None
        with ctx.mock.db.session() as db:
            _load_report(ctx, db, report_id)
        query = query.where(_C.report_id.in_(select(_Q.id).where(
            or_(_Q.id == report_id, _Q.parent_id == report_id))))
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, CONFLICTS_280 if projects_api(ctx) else
                                CONFLICTS_226, ctx.params, ctx.url, pk=_C.id)
        rows = list(page.rows)
        return page.body([schemas.AnnotationConflict.dump({
            "id": r.id, "frame": r.frame, "type": r.type, "annotation_ids": r.annotation_ids,
            "report_id": r.report_id, "severity": r.severity,
            "attribute_names": r.attribute_names or []}) or {} for r in rows])
