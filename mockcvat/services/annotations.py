"""Annotations (``cvat/apps/dataset_manager/task.py``: ``JobAnnotation``, ``TaskAnnotation``).

Stored per job. A job's GET/PUT/PATCH/DELETE work on its rows; a task's fan out to its
annotation jobs: writes are sliced by segment (a tag or shape goes to every job whose frames
hold it, so overlap frames are stored twice, as in CVAT), reads concatenate the jobs and fold the
overlap duplicates CVAT's merge folds (tags of a label; rectangles and polygons with IoU ≥ 0.75).
A track goes, whole, to the job that holds its first frame (CVAT cuts it per segment). ``version``
is always 0, as in CVAT. Intervals (2.66+) go, like tracks, whole to the job holding their
start frame. The kinds and fields a payload carries follow the emulated version (``kinds()``;
shapes' ``score`` from 2.56).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy import insert as sql_insert
from sqlalchemy.engine import Connection

from mockcvat import compat
from mockcvat.errors import APIError, ValidationFailed
from mockcvat.models import AttributeSpec, Job, Label, Segment, Task
from mockcvat.models.annotations import (
    LabeledImage,
    LabeledInterval,
    LabeledShape,
    LabeledTrack,
    TrackedShape,
)
from mockcvat.models.users import utcnow
from mockcvat.schemas.fields import FloatField, IntegerField
from mockcvat.services import event_log

if TYPE_CHECKING:
    from sqlmodel import Session

KINDS = ("tags", "shapes", "tracks", "intervals")  # every kind mockcvat stores
SHAPE_FIELDS = ("type", "occluded", "outside", "z_order", "rotation", "points")


def kinds() -> tuple[str, ...]:
    """The kinds of annotations the emulated version has (``intervals`` from 2.66)."""
    return KINDS if compat.current().has(since=compat.INTERVALS) else KINDS[:3]


def empty() -> dict[str, Any]:
    return {"version": 0, **{kind: [] for kind in kinds()}}


# --- the labels an annotation may use ---------------------------------------------------------
class LabelBook:
    """The labels (and their attribute specs) of a task, or of its project."""

    def __init__(self, db: Session, task: Task) -> None:
        owner = (Label.project_id == task.project_id) if task.project_id else (
            Label.task_id == task.id)
        self.labels = {label.id: label for label in db.execute(select(Label).where(owner))
                       .scalars()}
        self.specs: dict[int, list[AttributeSpec]] = {}
        if self.labels:
            for spec in db.execute(select(AttributeSpec).where(
                    AttributeSpec.label_id.in_(list(self.labels))).order_by(AttributeSpec.id)
                    ).scalars():
                self.specs.setdefault(spec.label_id, []).append(spec)

    def check(self, item: dict[str, Any], *, mutable: bool | None) -> None:
        """label_id must be one of these labels; attribute specs must be the label's (tracks:
        immutable ones; tracked shapes: mutable ones)."""
        label_id = item["label_id"]
        if label_id not in self.labels:
            raise ValidationFailed([f"label_id `{label_id}` is invalid"])
        self.check_attributes(label_id, item.get("attributes") or [], mutable=mutable)

    def check_attributes(self, label_id: int, attributes: list[dict[str, Any]], *,
                         mutable: bool | None) -> None:
        allowed = {spec.id for spec in self.specs.get(label_id, [])
                   if mutable is None or spec.mutable == mutable}
        for attribute in attributes:
            if attribute["spec_id"] not in allowed:
                raise ValidationFailed([f"spec_id `{attribute['spec_id']}` is invalid"])

    def filled(self, label_id: int, attributes: list[dict[str, Any]], *,
               mutable: bool | None, previous: list[dict[str, Any]] | None = None
               ) -> list[dict[str, Any]]:
        """Stored attributes, then the label's missing ones (defaults, or for tracked shapes
        the previous keyframe's values), as CVAT's reader fills them."""
        specs = self.specs.get(label_id)
        if not specs:  # nothing to fill in (most labels of a big task)
            return [dict(a) for a in attributes]
        out = [dict(a) for a in attributes]
        have = {a["spec_id"] for a in out}
        earlier = {a["spec_id"]: a["value"] for a in previous or []}
        for spec in specs:
            if spec.id in have or (mutable is not None and spec.mutable != mutable):
                continue
            out.append({"spec_id": spec.id, "value": earlier.get(spec.id, spec.default_value)})
        return out


# --- reading ------------------------------------------------------------------------------------
def read_jobs(db: Session, job_ids: list[int], book: LabelBook) -> list[dict[str, Any]]:
    """Each job's annotations, in the API's shape (one LabeledData per job, same order)."""
    return [read_job(db, job_id, book) for job_id in job_ids]


def read_job(db: Session, job_id: int, book: LabelBook) -> dict[str, Any]:
    data = empty()
    rows = _core(db)  # Core rows: the ORM's result machinery is most of a big read
    for tag in rows.execute(_columns(LabeledImage).where(LabeledImage.job_id == job_id)
                            .order_by(LabeledImage.frame, LabeledImage.id)):
        data["tags"].append({
            "id": tag.id, "label_id": tag.label_id, "frame": tag.frame, "group": tag.group,
            "source": tag.source,
            "attributes": book.filled(tag.label_id, tag.attributes or [], mutable=None)})
    shapes = list(rows.execute(_columns(LabeledShape).where(LabeledShape.job_id == job_id)
                               .order_by(LabeledShape.frame, LabeledShape.id)))
    children: dict[int, list[Any]] = {}
    for shape in shapes:
        if shape.parent_id is not None:
            children.setdefault(shape.parent_id, []).append(shape)
    for shape in shapes:
        if shape.parent_id is None:
            payload = _shape(shape, book)
            payload["elements"] = [_shape(e, book) for e in children.get(shape.id or 0, [])]
            data["shapes"].append(payload)
    tracks = list(db.execute(select(LabeledTrack).where(LabeledTrack.job_id == job_id)
                             .order_by(LabeledTrack.id)).scalars())
    keyframes: dict[int, list[TrackedShape]] = {}
    if tracks:
        for tracked in db.execute(select(TrackedShape).where(
                TrackedShape.track_id.in_([t.id for t in tracks]))
                .order_by(TrackedShape.frame, TrackedShape.id)).scalars():
            keyframes.setdefault(tracked.track_id, []).append(tracked)
    sub_tracks: dict[int, list[LabeledTrack]] = {}
    for track in tracks:
        if track.parent_id is not None:
            sub_tracks.setdefault(track.parent_id, []).append(track)
    for track in tracks:
        if track.parent_id is None and keyframes.get(track.id or 0):
            payload = _track(track, keyframes, book)
            payload["elements"] = [_track(t, keyframes, book)
                                   for t in sub_tracks.get(track.id or 0, [])
                                   if keyframes.get(t.id or 0)]
            data["tracks"].append(payload)
    if "intervals" in data:
        for interval in db.execute(select(LabeledInterval).where(
                LabeledInterval.job_id == job_id).order_by(LabeledInterval.start,
                                                           LabeledInterval.id)).scalars():
            data["intervals"].append({
                "id": interval.id, "label_id": interval.label_id, "start": interval.start,
                "stop": interval.stop, "group": interval.group, "source": interval.source,
                "score": interval.score,
                "attributes": book.filled(interval.label_id, interval.attributes or [],
                                          mutable=None)})
    return data


def _core(db: Any) -> Connection:
    """The Core connection of a session (flushed first, as an ORM query would autoflush)."""
    if isinstance(db, Connection):
        return db
    db.flush()
    return db.connection()


def _columns(model: Any) -> Any:
    return select(*model.__table__.columns)


def _shape(shape: Any, book: LabelBook) -> dict[str, Any]:
    payload = {
        "id": shape.id, "label_id": shape.label_id, "type": shape.type, "frame": shape.frame,
        "group": shape.group, "source": shape.source, "occluded": shape.occluded,
        "outside": shape.outside, "z_order": shape.z_order, "rotation": shape.rotation,
        "points": [] if shape.type == "skeleton" else list(shape.points or []),
        "attributes": book.filled(shape.label_id, shape.attributes or [], mutable=None),
    }
    if compat.current().has(since=compat.SHAPE_SCORES):
        payload["score"] = shape.score
    return payload


def _track(track: LabeledTrack, keyframes: dict[int, list[TrackedShape]],
           book: LabelBook) -> dict[str, Any]:
    shapes, previous = [], None
    for tracked in keyframes.get(track.id or 0, []):
        attributes = book.filled(track.label_id, tracked.attributes or [], mutable=True,
                                 previous=previous)
        previous = attributes
        shapes.append({
            "id": tracked.id, "type": tracked.type, "frame": tracked.frame,
            "occluded": tracked.occluded, "outside": tracked.outside,
            "z_order": tracked.z_order, "rotation": tracked.rotation,
            "points": [] if tracked.type == "skeleton" else list(tracked.points or []),
            "attributes": attributes})
    return {
        "id": track.id, "label_id": track.label_id, "frame": track.frame, "group": track.group,
        "source": track.source, "shapes": shapes,
        "attributes": book.filled(track.label_id, track.attributes or [], mutable=False),
    }


# --- writing one job ------------------------------------------------------------------------------
def check(data: dict[str, Any], book: LabelBook) -> None:
    for tag in data.get("tags", []):
        book.check(tag, mutable=None)
        _check_storable(tag)
    for shape in data.get("shapes", []):
        book.check(shape, mutable=None)
        for one in [shape, *(shape.get("elements") or [])]:
            book.check(one, mutable=None)
            _check_storable(one)
    for track in data.get("tracks", []):
        for one in [track, *(track.get("elements") or [])]:
            book.check(one, mutable=False)
            _check_storable(one)
            for tracked in one.get("shapes") or []:
                book.check_attributes(one["label_id"], tracked.get("attributes") or [],
                                      mutable=True)
                _check_storable(tracked)
    for interval in data.get("intervals", []):
        book.check(interval, mutable=None)
        _check_storable(interval)


def _check_storable(item: dict[str, Any]) -> None:
    """What a request's serializer already refuses, for imported files: integers beyond the
    column behind them (CVAT's 500) and non-finite coordinates (CVAT stores them, then every
    read of the job fails)."""
    for key in ("frame", "group", "z_order", "rotation", "start", "stop", "score"):
        if item.get(key) is not None:
            try:
                _STORABLE[key].validate(item[key])
            except ValidationFailed as exc:
                raise ValidationFailed({key: exc.detail}) from None
    if any(isinstance(v, float) and not math.isfinite(v) for v in item.get("points") or []):
        raise ValidationFailed({"points": ["Coordinates must be finite numbers."]})


_STORABLE = {"frame": IntegerField(), "group": IntegerField(), "z_order": IntegerField(),
             "rotation": FloatField(), "start": IntegerField(), "stop": IntegerField(),
             "score": FloatField()}


def insert(db: Session, job_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Stores the objects (keeping ids the client gave); returns them with their ids. Tags,
    shapes and their elements go in one multi-row INSERT each (Core, not ORM objects: a PUT
    of thousands of shapes is mostly this), ids returned in the order of the rows."""
    out = empty()
    tags, shapes = data.get("tags", []), data.get("shapes", [])
    intervals = data.get("intervals", [])
    tag_ids = _insert_rows(db, LabeledImage, [{
        "id": tag.get("id"), "job_id": job_id, "label_id": tag["label_id"],
        "frame": tag["frame"], "group": tag.get("group"), "source": tag.get("source", "manual"),
        "attributes": _attributes(tag)} for tag in tags])
    shape_ids = _insert_rows(db, LabeledShape, [_shape_row(job_id, shape, parent_id=None)
                                                for shape in shapes])
    element_rows = [_shape_row(job_id, element, parent_id=parent_id)
                    for shape, parent_id in zip(shapes, shape_ids, strict=True)
                    for element in shape.get("elements") or []]
    element_ids = iter(_insert_rows(db, LabeledShape, element_rows))
    interval_ids = _insert_rows(db, LabeledInterval, [{
        "id": item.get("id"), "job_id": job_id, "label_id": item["label_id"],
        "start": item["start"], "stop": item.get("stop"), "group": item.get("group"),
        "source": item.get("source", "manual"), "score": item.get("score", 1.0),
        "attributes": _attributes(item)} for item in intervals])
    if "intervals" in out:
        out["intervals"] = [{**item, "id": item_id, "score": item.get("score", 1.0)}
                            for item, item_id in zip(intervals, interval_ids, strict=True)]
    out["tags"] = [{**tag, "id": tag_id} for tag, tag_id in zip(tags, tag_ids, strict=True)]
    scored = compat.current().has(since=compat.SHAPE_SCORES)

    def stored(shape: dict[str, Any], shape_id: int) -> dict[str, Any]:
        return {**shape, "id": shape_id, **({"score": shape.get("score", 1.0)} if scored else {})}

    for shape, shape_id in zip(shapes, shape_ids, strict=True):
        out["shapes"].append({**stored(shape, shape_id), "elements": [
            stored(element, next(element_ids)) for element in shape.get("elements") or []]})
    for track in data.get("tracks", []):
        stored = _insert_track(db, job_id, track, parent_id=None)
        if stored is None:
            continue
        elements_out = [e for e in (_insert_track(db, job_id, element, parent_id=stored["id"])
                                    for element in track.get("elements") or []) if e is not None]
        out["tracks"].append({**stored, "elements": elements_out})
    return out


def _insert_rows(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """INSERT ``rows`` (dicts with the same keys); their ids, in order. One statement per run
    of rows with and without a client id (usually one for all): PostgreSQL takes an explicit
    NULL id literally, and the runs keep the order in which new ids are handed out."""
    table = model.__table__
    statement = sql_insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for given, run in itertools.groupby(rows, key=lambda row: row["id"] is not None):
        values = [row if given else {k: v for k, v in row.items() if k != "id"} for row in run]
        ids.extend(db.execute(statement, values).scalars())
    return ids


def _attributes(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"spec_id": a["spec_id"], "value": a["value"]} for a in item.get("attributes") or []]


# the model's defaults, for what a shape leaves out (every row of one INSERT has every column)
_SHAPE_DEFAULTS = {"occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
                   "points": [], "score": 1.0}


def _shape_row(job_id: int, shape: dict[str, Any], parent_id: int | None) -> dict[str, Any]:
    return {
        "id": shape.get("id"), "job_id": job_id, "label_id": shape["label_id"],
        "parent_id": parent_id, "frame": shape["frame"], "group": shape.get("group"),
        "source": shape.get("source", "manual"), "attributes": _attributes(shape),
        "type": shape["type"],
        **{key: shape[key] if key in shape else default
           for key, default in _SHAPE_DEFAULTS.items()}}


def _insert_track(db: Session, job_id: int, track: dict[str, Any],
                  parent_id: int | None) -> dict[str, Any] | None:
    shapes = sorted(track.get("shapes") or [], key=lambda s: s["frame"])
    if not shapes:  # CVAT drops tracks without keyframes
        return None
    frame = track["frame"]
    if frame < shapes[0]["frame"]:  # the track starts earlier: hidden until its first shape
        shapes.insert(0, {**shapes[0], "id": None, "frame": frame, "outside": True})
    frame = shapes[0]["frame"]
    row = LabeledTrack(id=track.get("id"), job_id=job_id, label_id=track["label_id"],
                       parent_id=parent_id, frame=frame, group=track.get("group"),
                       source=track.get("source", "manual"), attributes=_attributes(track))
    db.add(row)
    db.flush()
    keyframes = [TrackedShape(id=shape.get("id"), track_id=row.id or 0, frame=shape["frame"],
                              attributes=_attributes(shape),
                              **{key: shape[key] for key in SHAPE_FIELDS if key in shape})
                 for shape in shapes]
    db.add_all(keyframes)
    db.flush()
    stored = [{**shape, "id": keyframe.id}
              for shape, keyframe in zip(shapes, keyframes, strict=True)]
    return {**track, "id": row.id, "frame": frame, "shapes": stored}


def remove(db: Session, job_id: int, data: dict[str, Any] | None = None) -> None:
    """Deletes the job's objects with the given ids (all of them without ``data``)."""
    tables = {"tags": LabeledImage, "shapes": LabeledShape, "tracks": LabeledTrack,
              "intervals": LabeledInterval}
    for kind, table in tables.items():
        condition = table.job_id == job_id
        if data is not None:
            ids = [item["id"] for item in data.get(kind, []) if item.get("id") is not None]
            if not ids:
                continue
            condition = condition & table.id.in_(ids)
        if table is LabeledTrack:  # keyframes first: SQLite cascades only to direct children
            tracks = select(LabeledTrack.id).where(condition)
            children = select(LabeledTrack.id).where(LabeledTrack.parent_id.in_(tracks))
            db.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(children)))
            db.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(tracks)))
            db.execute(delete(LabeledTrack).where(LabeledTrack.parent_id.in_(tracks)))
        if table is LabeledShape:
            db.execute(delete(LabeledShape).where(
                LabeledShape.parent_id.in_(select(LabeledShape.id).where(condition))))
        db.execute(delete(table).where(condition))
    db.flush()


def write_job(db: Session, job_id: int, data: dict[str, Any], action: str,
              book: LabelBook) -> dict[str, Any]:
    """PUT (``action`` "put") or PATCH create/update/delete of one job's annotations."""
    if action == "delete":
        remove(db, job_id, data)
        return {"version": 0, **{kind: data.get(kind, []) for kind in kinds()}}
    check(data, book)
    if action == "put":
        remove(db, job_id)
    elif action == "update":
        remove(db, job_id, data)
    try:
        return insert(db, job_id, data)
    except Exception as exc:  # e.g. a client id another object already has
        from sqlalchemy.exc import IntegrityError

        if isinstance(exc, IntegrityError):
            raise ValidationFailed(["An annotation with this id already exists"]) from None
        raise


# --- tasks: fan-out over annotation jobs ---------------------------------------------------------
def annotation_jobs(db: Session, task_id: int) -> list[tuple[Job, Segment]]:
    rows = db.execute(
        select(Job, Segment).join(Segment, Segment.id == Job.segment_id)
        .where(Job.task_id == task_id, Job.type == "annotation")
        .order_by(Segment.start_frame, Job.id)).all()
    return [(job, segment) for job, segment in rows]


def slice_for(data: dict[str, Any], start: int, stop: int, first_job: bool
              ) -> dict[str, Any]:
    """What of a task write belongs to the segment [start, stop]."""
    return {
        "tags": [t for t in data.get("tags", []) if start <= t["frame"] <= stop],
        "shapes": [s for s in data.get("shapes", []) if start <= s["frame"] <= stop],
        "tracks": [t for t in data.get("tracks", []) if start <= _track_start(t) <= stop
                   or (first_job and _track_start(t) < start)],
        "intervals": [i for i in data.get("intervals", []) if start <= i["start"] <= stop
                      or (first_job and i["start"] < start)],
    }


def _track_start(track: dict[str, Any]) -> int:
    frames = [s["frame"] for s in track.get("shapes") or []]
    return min([track["frame"], *frames])


def write_task(db: Session, task: Task, data: dict[str, Any], action: str,
               book: LabelBook, written: Callable[[Job, dict[str, Any]], None] | None = None
               ) -> dict[str, Any]:
    """``written(job, data)``: told what each job got (what it lost, for ``delete``)."""
    pairs = annotation_jobs(db, task.id or 0)
    results = []
    for index, (job, segment) in enumerate(pairs):
        part = slice_for(data, segment.start_frame, segment.stop_frame, index == 0)
        results.append(write_job(db, job.id or 0, part, action, book))
        touch(db, job)
        if written is not None:
            written(job, part if action == "delete" else results[-1])
    return merge(results, task.overlap or 0, [segment.start_frame for _, segment in pairs])


def read_task(db: Session, task: Task, book: LabelBook) -> dict[str, Any]:
    pairs = annotation_jobs(db, task.id or 0)
    return merge(read_jobs(db, [job.id or 0 for job, _ in pairs], book), task.overlap or 0,
                 [segment.start_frame for _, segment in pairs])


def merge(parts: list[dict[str, Any]], overlap: int, starts: list[int]) -> dict[str, Any]:
    """Jobs' annotations as the task's: concatenated, overlap duplicates folded."""
    out = empty()
    for part, start in zip(parts, starts, strict=True):
        zone_end = start + overlap
        for kind in kinds():
            for item in part.get(kind, []):
                if kind in ("tags", "shapes") and overlap and item["frame"] < zone_end and any(
                        _same(kind, item, seen) for seen in out[kind]
                        if seen["frame"] == item["frame"]):
                    continue
                out[kind].append(item)
    return out


def _same(kind: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["label_id"] != b["label_id"]:
        return False
    if kind == "tags":
        return True
    if a["type"] != b["type"] or a["type"] not in ("rectangle", "polygon"):
        return False
    return _iou(_box(a["points"]), _box(b["points"])) >= 0.75


def _box(points: list[float]) -> tuple[float, float, float, float]:
    xs, ys = points[0::2], points[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def touch(db: Session, job: Job) -> None:
    now = utcnow()
    job.updated_date = now
    db.add(job)
    task = db.get(Task, job.task_id)
    if task is not None:
        task.updated_date = now
        db.add(task)


def drop_attribute_values(db: Session, label_id: int, spec_id: int) -> None:
    """An attribute spec goes: its values go from the label's annotations (CVAT's cascade)."""
    tracks = select(LabeledTrack.id).where(LabeledTrack.label_id == label_id)
    queries = [select(table).where(table.label_id == label_id) for table in (
        LabeledImage, LabeledShape, LabeledTrack, LabeledInterval)]
    queries.append(select(TrackedShape).where(TrackedShape.track_id.in_(tracks)))
    for query in queries:
        for row in db.execute(query).scalars():
            kept = [a for a in row.attributes or [] if a.get("spec_id") != spec_id]
            if len(kept) != len(row.attributes or []):
                row.attributes = kept
                db.add(row)


def has_any(data: dict[str, Any]) -> bool:
    return any(data.get(kind) for kind in KINDS)


# --- the endpoints' JSON side (``format`` in the query: exports and imports, elsewhere) --------
ACTIONS = ("create", "update", "delete")


def _validated(raw: Any) -> dict[str, Any]:
    from mockcvat.schemas.annotations import LabeledData

    return LabeledData.validate(raw)


def _target(ctx: Any, db: Session, kind: str, pk: int, scope: str) -> tuple[Task, Job | None]:
    from mockcvat.services import jobs, tasks

    if kind == "job":
        job, task = jobs.load(ctx, db, pk, scope)
        return task, job
    return tasks.load(ctx, db, pk, scope), None


def load_for(ctx: Any, kind: str, pk: int, scope: str) -> None:
    """The view's ``get_object()``: 404 or 403 as CVAT, nothing else."""
    with ctx.mock.db.session() as db:
        _target(ctx, db, kind, pk, scope)


def retrieve(ctx: Any, kind: str, pk: int, *, gone: APIError | None = None) -> Any:
    """``GET …/annotations/``; ``gone``: the 410 a legacy export query gets (2.32+) once the
    object is found (and, for a task, has data)."""
    from mockcvat.http import PlainResponse

    with ctx.mock.db.session() as db:
        task, job = _target(ctx, db, kind, pk, "view:annotations")
        if job is None and not task.data_id:
            return PlainResponse("Exporting annotations from a task without data is not "
                                 "allowed", 400)
        if gone is not None:
            raise gone
        book = LabelBook(db, task)
        if job is not None:
            return read_job(db, job.id or 0, book)
        return read_task(db, task, book)


def replace(ctx: Any, kind: str, pk: int, raw: Any) -> dict[str, Any]:
    return _write(ctx, kind, pk, raw, "put")


def partial_update(ctx: Any, kind: str, pk: int, raw: Any) -> dict[str, Any]:
    action = ctx.params.get("action")
    if action not in ACTIONS:
        raise ValidationFailed(["Please specify a correct 'action' for the request"])
    return _write(ctx, kind, pk, raw, action)


def _write(ctx: Any, kind: str, pk: int, raw: Any, action: str) -> dict[str, Any]:
    scope = "delete:annotations" if action == "delete" else "update:annotations"
    with ctx.mock.db.session() as db:
        task, job = _target(ctx, db, kind, pk, scope)
        data = _validated(raw)
        book = LabelBook(db, task)

        def written(one: Job, what: dict[str, Any]) -> None:  # CVAT logs per job
            event_log.annotations_changed(ctx, db, "create" if action == "put" else action,
                                          what, task=task, job_id=one.id)

        if job is None:
            return write_task(db, task, data, action, book, written)
        result = write_job(db, job.id or 0, data, action, book)
        if has_any(data):
            touch(db, job)
        written(job, data if action == "delete" else result)
        return result


def destroy(ctx: Any, kind: str, pk: int) -> None:
    with ctx.mock.db.session() as db:
        task, job = _target(ctx, db, kind, pk, "delete:annotations")
        pairs = [(job, None)] if job is not None else annotation_jobs(db, task.id or 0)
        book = LabelBook(db, task)
        for one, _ in pairs:
            gone = read_job(db, one.id or 0, book)
            remove(db, one.id or 0)
            touch(db, one)
            event_log.annotations_changed(ctx, db, "delete", gone, task=task, job_id=one.id)
