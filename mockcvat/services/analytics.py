"""Analytics reports (CVAT 2.26's ``cvat/apps/analytics_report``): statistics per job, task and
project, computed from the event log and the stored annotations.

A job's report has five metrics: ``objects`` (objects created/updated/deleted per day, from the
annotation events), ``annotation_speed`` (objects counted in the job and the working time the
event log holds, one entry per computation, kept across computations), ``annotation_time``
(hours the job spent ``in progress``, from its ``update:job`` state events),
``total_object_count`` and ``average_annotation_speed``. A task's and a project's reports
combine their jobs' (recomputed when outdated). Reports are computed by ``POST`` as polled
deferred work (``analytics:calculate-report-<target>-<id>``) and read by ``GET``, which falls
back to an empty job-style report when none was computed, as CVAT does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.responses import Response

from mockcvat import iam
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.http import CvatJSONResponse
from mockcvat.models import (
    AnalyticsReport,
    EventRecord,
    Job,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
    Project,
    Segment,
    Task,
    TrackedShape,
)
from mockcvat.models.users import utcnow
from mockcvat.schemas.events import AnalyticsReport as AnalyticsReportRead
from mockcvat.schemas.events import AnalyticsReportCreate
from mockcvat.services.event_log import parse_when

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

STAMP = "%Y-%m-%dT%H:%M:%SZ"
ACTIONS = ("create", "update", "delete")
KINDS = ("tracks", "shapes", "tags")
LEVEL_NAMES = {"job": "Job", "task": "Task", "project": "Project"}
SPEED = [{"name": "annotation_speed",
          "binary": {"left": "object_count", "operator": "/", "right": "working_time"}}]

# key -> (title, description with {level}/{lower}, granularity, default view, filterable by
# date, transformations); the descriptions' wording per level is CVAT's
METRICS: dict[str, tuple[str, str, str | None, str, bool, list[dict[str, Any]]]] = {
    "objects": ("Objects", "Metric shows number of added/changed/deleted objects for the "
                "{level}.", "day", "histogram", True, []),
    "annotation_speed": ("Annotation speed (objects per hour)",
                         "Metric shows annotation speed in the {lower} as number of objects "
                         "per hour.", "day", "histogram", False, SPEED),
    "annotation_time": ("Annotation time (hours)",
                        "Metric shows how long the {level} is in progress state.", None,
                        "numeric", False, []),
    "total_object_count": ("Total Object Count", "Metric shows total object count in the "
                           "{level}.", None, "numeric", False, []),
    "average_annotation_speed": ("Average Annotation Speed (objects per hour)",
                                 "Metric shows average annotation speed in the {level}.", None,
                                 "numeric", False, []),
}


def _stamp(value: dt.datetime | dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(STAMP)


def _entry(key: str, level: str, data_series: dict[str, Any]) -> dict[str, Any]:
    title, description, granularity, view, filterable, transformations = METRICS[key]
    return {"name": key, "title": title,
            "description": description.format(level=LEVEL_NAMES[level], lower=level),
            "granularity": granularity, "default_view": view,
            "transformations": deepcopy(transformations),
            "is_filterable_by_date": filterable, "data_series": data_series}


def _single(key: str, value: float = 0, when: dt.datetime | None = None) -> dict[str, Any]:
    return {key: [{"value": value, "datetime": _stamp(when or utcnow())}]}


def empty_statistics() -> list[dict[str, Any]]:
    """``get_empty_report``: the job metrics with nothing in them (for any target)."""
    return [
        _entry("objects", "job", {"created": [], "updated": [], "deleted": []}),
        _entry("annotation_speed", "job", {"object_count": [], "working_time": []}),
        _entry("annotation_time", "job", _single("total_annotating_time")),
        _entry("total_object_count", "job", _single("total_object_count")),
        _entry("average_annotation_speed", "job", _single("average_annotation_speed")),
    ]


# --- a job's metrics -----------------------------------------------------------------------------
def _window(job: Job) -> Any:
    return (EventRecord.job_id == job.id, EventRecord.timestamp >= job.created_date,
            EventRecord.timestamp < job.updated_date + dt.timedelta(seconds=1))


def _objects(db: Session, job: Job) -> dict[str, Any]:
    scopes = [f"{action}:{kind}" for action in ACTIONS for kind in KINDS]
    per_day: dict[dt.date, dict[str, int]] = {}
    for scope, stamp, count in db.execute(
            select(EventRecord.scope, EventRecord.timestamp, EventRecord.count)
            .where(*_window(job), EventRecord.scope.in_(scopes))):
        day = stamp.astimezone(dt.UTC).date() if stamp.tzinfo else stamp.date()
        totals = per_day.setdefault(day, dict.fromkeys(ACTIONS, 0))
        totals[scope.split(":")[0]] += count or 0
    series: dict[str, list[dict[str, Any]]] = {f"{a}d": [] for a in ACTIONS}
    for day in sorted(per_day):
        for action in ACTIONS:
            series[f"{action}d"].append({"value": per_day[day][action], "datetime": _stamp(day)})
    return series


def object_count(db: Session, job: Job) -> int:
    """Tags, shapes (skeletons' points count, not the skeletons) and every frame a track is
    visible on, of what was not imported from a file."""
    count = len(db.execute(select(LabeledImage.id).where(
        LabeledImage.job_id == job.id, LabeledImage.source != "file")).all())
    count += len(db.execute(select(LabeledShape.id).where(
        LabeledShape.job_id == job.id, LabeledShape.source != "file",
        LabeledShape.type != "skeleton")).all())
    segment = db.get(Segment, job.segment_id)
    stop = segment.stop_frame if segment else 0
    for (track_id,) in db.execute(select(LabeledTrack.id).where(
            LabeledTrack.job_id == job.id, LabeledTrack.source != "file")):
        shapes = db.execute(select(TrackedShape.frame, TrackedShape.type, TrackedShape.outside)
                            .where(TrackedShape.track_id == track_id)
                            .order_by(TrackedShape.frame)).all()
        if not shapes or shapes[0].type == "skeleton":
            continue
        if len(shapes) == 1:
            count += stop - shapes[0].frame + 1
            continue
        count += 1
        for previous, current in zip(shapes, shapes[1:], strict=False):
            if not previous.outside:
                count += current.frame - previous.frame
        last = shapes[-1]
        if not last.outside and last.frame < stop:
            count += stop - last.frame
    return count


def _working_time_ms(db: Session, job: Job, since: dt.datetime, until: dt.datetime) -> int:
    total = 0
    for stamp, payload in db.execute(select(EventRecord.timestamp, EventRecord.payload)
                                     .where(*_window(job))):
        try:
            value = json.loads(payload or "{}").get("working_time", 0)
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int) and value > 0 and since <= stamp < until:
            total += value
    return total


def _annotation_speed(db: Session, job: Job, previous: list[dict[str, Any]]) -> dict[str, Any]:
    count = object_count(db, job)
    start, stamp = job.created_date, job.updated_date
    series: dict[str, list[dict[str, Any]]] = {"object_count": [], "working_time": []}
    earlier = next((m for m in previous if m["name"] == "annotation_speed"), None)
    if earlier is not None:
        series = deepcopy(earlier["data_series"])
    counted = 0
    if series["object_count"]:
        last = dt.datetime.strptime(series["object_count"][-1]["datetime"], STAMP).replace(
            tzinfo=dt.UTC)
        if last.date() == stamp.astimezone(dt.UTC).date():  # recomputed: same day
            series["object_count"].pop()
            series["working_time"].pop()
        counted = sum(e["value"] for e in series["object_count"])
        if series["object_count"]:
            start = dt.datetime.strptime(series["object_count"][-1]["datetime"], STAMP).replace(
                tzinfo=dt.UTC)
    series["object_count"].append({"value": count - counted, "datetime": _stamp(stamp)})
    hours = _working_time_ms(db, job, start, stamp) / (1000 * 3600)
    series["working_time"].append({"value": hours, "datetime": _stamp(stamp)})
    return series


def _annotation_time(db: Session, job: Job) -> dict[str, Any]:
    rows = db.execute(select(EventRecord.timestamp, EventRecord.obj_val).where(
        *_window(job), EventRecord.scope == "update:job", EventRecord.obj_name == "state")
        .order_by(EventRecord.timestamp, EventRecord.pk)).all()
    seconds, last_change = 0, None
    for previous, current in zip(rows, rows[1:], strict=False):
        if previous.obj_val == "in progress":
            seconds += int((current.timestamp - previous.timestamp).total_seconds())
            last_change = current.timestamp
    if rows and rows[-1].obj_val == "in progress":
        seconds += int((job.updated_date - rows[-1].timestamp).total_seconds())
    return _single("total_annotating_time", seconds / 3600, last_change)


def _totals(level: str, speeds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """total_object_count and average_annotation_speed from annotation_speed series."""
    count = hours = 0.0
    for series in speeds:
        for counted, worked in zip(series["object_count"], series["working_time"],
                                   strict=False):
            count += counted["value"]
            hours += worked["value"]
    return [_entry("total_object_count", level, _single("total_object_count", count)),
            _entry("average_annotation_speed", level,
                   _single("average_annotation_speed", count / hours if hours else 0))]


def _report_of(db: Session, **target: int) -> AnalyticsReport | None:
    (column, value), = target.items()
    return db.execute(select(AnalyticsReport).where(
        getattr(AnalyticsReport, column) == value)).scalar_one_or_none()


def compute_job(db: Session, job: Job) -> AnalyticsReport:
    report = _report_of(db, job_id=job.id or 0) or AnalyticsReport(job_id=job.id, statistics=[])
    if report.id is None or report.created_date < job.updated_date:
        speed = _annotation_speed(db, job, report.statistics or [])
        report.statistics = [
            _entry("objects", "job", _objects(db, job)),
            _entry("annotation_speed", "job", speed),
            _entry("annotation_time", "job", _annotation_time(db, job)),
            *_totals("job", [speed]),
        ]
        report.created_date = utcnow()
        db.add(report)
        db.flush()
    return report


def _metric(report: AnalyticsReport, key: str) -> dict[str, Any]:
    return next(m for m in report.statistics if m["name"] == key)


def _combined(level: str, jobs: list[AnalyticsReport]) -> list[dict[str, Any]]:
    """TaskObjects, TaskAnnotationSpeed, TaskAnnotationTime and the totals, from job reports."""
    def per_day(key: str, names: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        days: dict[str, dict[str, float]] = {}
        for report in jobs:
            series = _metric(report, key)["data_series"]
            for entries in zip(*(series[n] for n in names), strict=False):
                day = entries[0]["datetime"][:10]
                totals = days.setdefault(day, dict.fromkeys(names, 0))
                for name, entry in zip(names, entries, strict=True):
                    totals[name] += entry["value"]
        return {name: [{"value": days[d][name], "datetime": f"{d}T00:00:00Z"}
                       for d in sorted(days)] for name in names}

    longest = {"value": 0, "datetime": _stamp(utcnow())}
    for report in jobs:
        for entry in _metric(report, "annotation_time")["data_series"]["total_annotating_time"]:
            if entry["value"] > longest["value"]:
                longest = dict(entry)
    return [
        _entry("objects", level, per_day("objects", ("created", "updated", "deleted"))),
        _entry("annotation_speed", level, per_day("annotation_speed",
                                                  ("object_count", "working_time"))),
        _entry("annotation_time", level, {"total_annotating_time": [longest]}),
        *_totals(level, [_metric(r, "annotation_speed")["data_series"] for r in jobs]),
    ]


def _compute_combined(db: Session, level: str, target: Any, jobs: list[Job],
                      updated: dt.datetime) -> AnalyticsReport:
    job_reports = [compute_job(db, job) for job in jobs]
    report = _report_of(db, **{f"{level}_id": target.id}) or AnalyticsReport(
        **{f"{level}_id": target.id}, statistics=[])
    if report.id is None or report.created_date < updated or any(
            r.created_date > report.created_date for r in job_reports):
        report.statistics = _combined(level, job_reports)
        report.created_date = utcnow()
        db.add(report)
        db.flush()
    return report


def compute(mock: MockCVAT, target: str, pk: int) -> bool:
    """``_check_analytics_report``: False when the object is gone."""
    with mock.db.session() as db:
        if target == "job":
            job = db.get(Job, pk)
            if job is None:
                return False
            compute_job(db, job)
            return True
        if target == "task":
            task = db.get(Task, pk)
            if task is None:
                return False
            jobs = list(db.execute(select(Job).where(Job.task_id == pk).order_by(Job.id))
                        .scalars())
            _compute_combined(db, "task", task, jobs, task.updated_date)
            return True
        project = db.get(Project, pk)
        if project is None:
            return False
        tasks = list(db.execute(select(Task).where(Task.project_id == pk)).scalars())
        jobs = list(db.execute(select(Job).where(Job.task_id.in_([t.id for t in tasks]))
                               .order_by(Job.id)).scalars()) if tasks else []
        for task in tasks:
            _compute_combined(db, "task", task, [j for j in jobs if j.task_id == task.id],
                              task.updated_date)
        updated = max([t.updated_date for t in tasks] or [project.updated_date])
        _compute_combined(db, "project", project, jobs, updated)
        return True


# --- endpoints ----------------------------------------------------------------------------------
def _check_target(ctx: Context, db: Session, target: str, pk: int, message: str) -> None:
    """The object must exist (404 ``message``) and the caller see it."""
    from mockcvat.services import jobs, projects, tasks

    model = {"job": Job, "task": Task, "project": Project}[target]
    if db.get(model, pk) is None:
        raise NotFound(message.format(model=model.__name__, pk=pk))
    if target == "job":
        jobs.load(ctx, db, pk, "view")
    elif target == "task":
        tasks.load(ctx, db, pk, "view")
    else:
        projects.load(ctx, db, pk, "view")


def _allowed(ctx: Context, least: str) -> None:
    """analytics_reports.rego: create needs the ``user`` privilege, list ``worker``."""
    if not (iam.is_admin(ctx) or iam.has_privilege(ctx, least)):
        raise PermissionDenied()


def create_report(ctx: Context, raw: Any) -> Response:
    _allowed(ctx, "user")
    polled = ctx.mock.background.polled
    rq_id = ctx.params.get("rq_id")
    if rq_id is None:
        data = AnalyticsReportCreate.validate(raw if raw is not None else {})
        chosen = next(((t, data[f"{t}_id"]) for t in ("job", "task", "project")
                       if data.get(f"{t}_id") is not None), None)
        if chosen is None:  # CVAT fails on a None target with a 500
            raise ValidationFailed("No any job, task or project specified")
        target, pk = chosen
        with ctx.mock.db.session() as db:
            _check_target(ctx, db, target, pk, "The specified resource does not exist. "
                                               "Please check the provided identifiers")
        rq_id = f"analytics:calculate-report-{target}-{pk}"
        state = polled.state(rq_id)
        if state is None or state[0] != "queued":
            mock = ctx.mock
            polled.start(rq_id, lambda: compute(mock, target, pk))
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
    state = polled.state(rq_id)
    if state is None:
        raise NotFound("Unknown request id")
    status, value = state
    if status == "failed":
        polled.drop(rq_id)
        raise ValidationFailed(str(value))
    if status == "queued":
        return Response(status_code=202)
    polled.drop(rq_id)
    if not value:
        raise ValidationFailed("No report has been computed")
    return CvatJSONResponse({"rq_id": rq_id}, status_code=201)


def get_report(ctx: Context) -> dict[str, Any]:
    _allowed(ctx, "worker")
    params = ctx.params
    start, end = parse_when(params.get("start_date"), "start_date"), parse_when(
        params.get("end_date"), "end_date")
    if start and end and start > end:
        raise ValidationFailed("'start_date' must be before than 'end_date'")
    if start is None and end is None:
        end = utcnow()
        start = end - dt.timedelta(days=30)
    elif end is None:
        end = utcnow()
    elif start is None:  # CVAT sets end_date to datetime.min here: nothing dated passes
        start, end = end, dt.datetime.min.replace(tzinfo=dt.UTC)
    named = [(t, params.get(f"{t}_id")) for t in ("job", "task", "project")
             if params.get(f"{t}_id") not in (None, "")]
    if not named:
        raise ValidationFailed("No any job, task or project specified")
    if len(named) > 1:
        raise ValidationFailed("Only one of job_id, task_id or project_id must be specified")
    target, raw = named[0]
    try:
        pk = int(raw)
    except ValueError:  # CVAT: int() fails with a 500
        raise ValidationFailed({f"{target}_id": ["A valid integer is required."]}) from None
    with ctx.mock.db.session() as db:
        _check_target(ctx, db, target, pk, "{model} object with pk={pk} does not exist")
        report = _report_of(db, **{f"{target}_id": pk})
        statistics = deepcopy(report.statistics) if report else empty_statistics()
        created = report.created_date if report else utcnow()
    for metric in statistics:
        for name, entries in metric["data_series"].items():
            kept = []
            for entry in entries:
                when = dt.datetime.strptime(entry["datetime"], STAMP).replace(tzinfo=dt.UTC)
                if metric.get("is_filterable_by_date") and not start <= when <= end:
                    continue
                kept.append({"value": entry["value"], "date": when.date()})
            metric["data_series"][name] = kept
    return AnalyticsReportRead.dump({"created_date": created, "target": target,
                                     f"{target}_id": pk, "statistics": statistics}) or {}

