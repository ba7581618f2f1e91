"""The event log (``cvat/apps/events``): what the server records from the domain-event stream,
the client event batches of ``POST /api/events``, and the CSV export.

CVAT ships events through Vector into ClickHouse, so an export may miss the last moments;
mockcvat writes each event in the transaction of the change that caused it, so an export
always includes everything committed before it started.

Server events follow ``handlers.py``: ``create:<resource>`` with the object's cleaned read
shape as payload, one ``update:<resource>`` row per changed field (``obj_name`` the field,
``obj_val`` its new value, ``payload`` ``{"old_value": ...}``), ``delete:<resource>``, and for
annotations one row per kind (``create:tags``, ``update:shapes`` with ``obj_name`` the shape
type, ...) with ``count``. Every payload carries ``{"request": {"id": ...}}``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import Response

from mockcvat import background, iam
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.http import CvatJSONResponse
from mockcvat.models import EventRecord
from mockcvat.models.users import utcnow
from mockcvat.schemas.events import ClientEvents, Event

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.events import DomainEvent
    from mockcvat.server import MockCVAT

COLUMNS = ("scope", "obj_name", "obj_id", "obj_val", "source", "timestamp", "count",
           "duration", "project_id", "task_id", "job_id", "user_id", "user_name", "user_email",
           "org_id", "org_slug", "payload")
FILTERS = ("org_id", "project_id", "task_id", "job_id", "user_id")
# ClientEventsSerializer.ALLOWED_SCOPES
CLIENT_SCOPES = frozenset((
    "load:cvat", "load:job", "save:job", "restore:job", "upload:annotations", "send:exception",
    "send:task_info", "draw:object", "paste:object", "copy:object", "propagate:object",
    "drag:object", "resize:object", "delete:object", "lock:object", "merge:objects",
    "split:objects", "group:objects", "slice:object", "join:objects", "change:attribute",
    "change:label", "change:frame", "zoom:image", "fit:image", "rotate:image", "action:undo",
    "action:redo", "debug:info", "run:annotations_action", "click:element"))
# handlers.py: _cleanup_fields
CLEANED = ("slug", "id", "name", "username", "display_name", "message", "organization",
           "project", "size", "task", "tasks", "job", "jobs", "comments", "url", "issues",
           "attributes", "key")
NOT_LOGGED = ("labels",)  # get_instance_diff skips related fields
ANNOTATION_KINDS = ("tags", "shapes", "tracks")


# --- recording (the stream's subscriber) -------------------------------------------------------
def _cleanup(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in CLEANED:
            continue
        out[key] = ({k: v for k, v in value.items() if k != "url"}
                    if isinstance(value, Mapping) else value)
    return out


def _row(event: DomainEvent, payload: dict[str, Any], **columns: Any) -> EventRecord:
    actor = event.actor
    return EventRecord(
        scope=columns.pop("scope", event.scope), source="server", timestamp=event.timestamp,
        project_id=event.project_id, task_id=event.task_id, job_id=event.job_id,
        user_id=actor.user_id, user_name=actor.username, user_email=actor.email,
        org_id=event.org_id, org_slug=event.org_slug,
        payload=json.dumps({**payload, "request": {"id": actor.request_id}}, default=str),
        **columns)


def record(db: Session, event: DomainEvent) -> None:
    if event.resource in ANNOTATION_KINDS:
        db.add(_row(event, event.details, obj_name=event.obj_name, count=event.count))
    elif event.action == "update":
        for name, (old, new) in event.changes.items():
            if name in NOT_LOGGED:
                continue
            db.add(_row(event, {"old_value": old}, obj_name=name, obj_val=str(new),
                        obj_id=_related_id(new)))
    elif event.action == "create":
        db.add(_row(event, _cleanup(event.obj or {}), obj_id=event.obj_id,
                    obj_name=event.obj_name))
    else:
        db.add(_row(event, {}, obj_id=event.obj_id, obj_name=event.obj_name))


def _related_id(value: Any) -> int | None:
    """``getattr(instance, f"{prop}_id")``: the id of a changed relation (owner, assignee)."""
    return value.get("id") if isinstance(value, Mapping) and isinstance(
        value.get("id"), int) else None


def annotations_changed(ctx: Context, db: Session, action: str, data: Mapping[str, Any], *,
                        task: Any, job_id: int | None) -> None:
    """``handle_annotations_change``: one event per kind (shapes and tracks per type)."""
    stream = ctx.mock.events
    ids = {"org_id": task.organization_id, "project_id": task.project_id,
           "task_id": task.id, "job_id": job_id}
    tags = [{"id": t.get("id")} for t in data.get("tags") or []]
    if tags:
        stream.emit(ctx, db, f"{action}:tags", None, count=len(tags), details={"tags": tags},
                    **ids)
    for kind in ("shapes", "tracks"):
        by_type: dict[str, list[dict[str, Any]]] = {}
        for item in data.get(kind) or []:
            shape_type = item.get("type") if kind == "shapes" else (
                (item.get("shapes") or [{}])[0].get("type"))
            entry: dict[str, Any] = {"id": item.get("id")}
            if kind == "tracks":
                entry["shapes"] = [{"id": s.get("id")} for s in item.get("shapes") or []]
            by_type.setdefault(str(shape_type), []).append(entry)
        for shape_type, items in by_type.items():
            stream.emit(ctx, db, f"{action}:{kind}", None, obj_name=shape_type,
                        count=len(items), details={kind: items}, **ids)


# --- POST /api/events --------------------------------------------------------------------------
def create_client_events(ctx: Context, raw: Any) -> Response:
    data = ClientEvents.validate(raw)
    organization = ctx.org.organization
    received = utcnow()
    correction = received - data["timestamp"]
    user = ctx.user
    if data.get("previous_event"):
        data["previous_event"]["timestamp"] += correction
    for event in data["events"]:
        scope = event["scope"]
        if scope not in CLIENT_SCOPES:
            raise ValidationFailed({"scope": f"Event scope **{scope}** is not allowed from "
                                             "client"})
        try:
            payload = json.loads(event.get("payload") or "{}")
        except json.JSONDecodeError:
            raise ValidationFailed({"payload": "JSON payload is not valid in passed event"}
                                   ) from None
        event.update(timestamp=event["timestamp"] + correction, source="client",
                     org_id=organization.id if organization else None,
                     org_slug=organization.slug if organization else None,
                     user_id=user.id, user_name=user.username, user_email=user.email,
                     payload=json.dumps(payload))
    with ctx.mock.db.session() as db:
        for event in data["events"]:
            db.add(EventRecord(**{name: event.get(name) for name in COLUMNS
                                  if name not in ("duration",)},
                               duration=event.get("duration") or 0))
    # CVAT answers its validated data as it is: the write-only previous_event included
    body = ClientEvents.dump(data) or {}
    body["previous_event"] = Event.dump(data.get("previous_event"))
    return CvatJSONResponse(body, status_code=201)


# --- the CSV -----------------------------------------------------------------------------------
def parse_when(raw: str | None, name: str) -> dt.datetime | None:
    """A datetime query parameter (``dateutil.parser.parse`` in CVAT), with its 400."""
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationFailed(f"Cannot parse '{name}' datetime parameter: {raw}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def query_of(ctx: Context, *, last_30_days: bool) -> dict[str, Any]:
    """The export's filters: the request's, then the policy's (which win), and the time range
    (the legacy export defaults to the last 30 days; the newer one to everything until now)."""
    params = ctx.params
    query: dict[str, Any] = {}
    for name in FILTERS:
        raw = params.get(name)
        if raw:
            try:
                query[name] = int(raw)
            except ValueError:  # CVAT's ClickHouse query fails with a 500
                raise ValidationFailed({name: ["A valid integer is required."]}) from None
    for name, value in iam.events(ctx).dump_filter().items():
        if query.get(name, value) != value:  # asking for someone else's events
            raise PermissionDenied()
        query[name] = value
    start, end = parse_when(params.get("from"), "from"), parse_when(params.get("to"), "to")
    if start and end and start > end:
        raise ValidationFailed("'from' must be before than 'to'")
    if start is None and end is None:
        end = utcnow()
        start = end - dt.timedelta(days=30) if last_30_days else None
    query["from"], query["to"] = start, end
    return query


def _frozen(query: Mapping[str, Any]) -> dict[str, Any]:
    """The query as JSON (its times as ISO 8601), for a job."""
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in query.items()}


def _thawed(query: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dt.datetime.fromisoformat(v) if k in ("from", "to") and v else v
            for k, v in query.items()}


@background.job("event_log.write_csv")
def _write_csv_job(mock: MockCVAT, query: dict[str, Any], key: str) -> None:
    write_csv(mock, _thawed(query), key)


@background.job("event_log.export")
def _export_job(mock: MockCVAT, reporter: background.Reporter, query: dict[str, Any],
                key: str, result_url: str) -> background.Result:
    write_csv(mock, _thawed(query), key)
    return background.Result(result_url=result_url)


def write_csv(mock: MockCVAT, query: Mapping[str, Any], key: str) -> None:
    """The events ``query`` selects, as CSV under ``key`` of the media store."""
    row_t = EventRecord
    statement = select(*(getattr(row_t, c) for c in COLUMNS))
    for name in FILTERS:
        if query.get(name) is not None:
            statement = statement.where(getattr(row_t, name) == query[name])
    if query.get("from") is not None:
        statement = statement.where(row_t.timestamp >= query["from"])
    if query.get("to") is not None:
        statement = statement.where(row_t.timestamp <= query["to"])
    with mock.db.read() as connection:
        rows = list(connection.execute(statement.order_by(row_t.timestamp, row_t.pk)))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    mock.media.put(key, text.getvalue().encode("utf-8"))


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # ClickHouse's DateTime64 in UTC, as Python prints it
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    return value


def export_key(export_id: str) -> str:
    return f"events/{export_id}.csv"


def _serve(mock: MockCVAT, key: str, filename: str) -> Response:
    from mockcvat.http import content_disposition
    from mockcvat.services import exports

    # once, as CVAT deletes the job after the download
    return exports.serve_once(mock, key, lambda _stored: content_disposition(filename),
                              media_type="text/csv")


def default_filename() -> str:
    return f"logs_{dt.datetime.now().strftime('%Y_%m_%d_%H_%M_%S')}.csv"


# --- GET /api/events (the legacy export: 202, 201, then ?action=download; CVAT's RQ job
# ``export:csv-logs-<query_id>-by-<user>``) --------------------------------------------------------
def legacy_export(ctx: Context) -> Response:
    if ctx.params.get("cloud_storage_id") or ctx.params.get("location") == "cloud_storage":
        raise ValidationFailed("This endpoint does not support exporting events to cloud storage")
    query = query_of(ctx, last_30_days=True)
    action = ctx.params.get("action")
    if action not in (None, "download"):
        raise ValidationFailed("Unexpected action specified for the request")
    query_id = ctx.params.get("query_id") or str(uuid.uuid4())
    key = f"export:csv-logs-{query_id}-by-{ctx.user.username}"
    jobs = ctx.mock.background.polled
    stored = export_key(query_id)
    state = jobs.state(key)
    if state is not None and state[0] == "finished" and ctx.mock.media.exists(stored):
        if action == "download":
            jobs.drop(key)
            return _serve(ctx.mock, stored, ctx.params.get("filename") or default_filename())
        return Response(status_code=201)
    if state is not None and state[0] == "failed":
        jobs.drop(key)
        return CvatJSONResponse(state[1], status_code=500)
    if state is None or state[0] == "finished":  # new, or its file is gone: (re)start
        jobs.start(key, job="event_log.write_csv",
                   args={"query": _frozen(query), "key": stored})
    return CvatJSONResponse({"query_id": query_id}, status_code=202)


# --- POST /api/events/export + GET /api/events/download?rq_id= (newer releases) ----------------
def start_export(ctx: Context) -> Response:
    location = ctx.params.get("location")
    if location not in (None, "", "local", "cloud_storage"):
        raise ValidationFailed({"location": [f'"{location}" is not a valid choice.']})
    if location == "cloud_storage" or ctx.params.get("cloud_storage_id"):
        raise ValidationFailed("Exporting events to a cloud storage is not supported by mockcvat")
    query = query_of(ctx, last_30_days=False)
    mock = ctx.mock
    organization = ctx.org.organization
    export_id = str(uuid.uuid4())
    filename = ctx.params.get("filename") or ""
    work = background.Work(
        action="export", target="events", target_id=0, owner_id=ctx.user.id or 0,
        organization_id=organization.id if organization else None, target_uuid=export_id,
        job="event_log.export")
    query_args = {"rq_id": mock.background.rq_id_for(work),
                  **({"filename": filename} if filename else {})}
    work.args = {"query": _frozen(query), "key": export_key(export_id), "result_url": ctx.absolute(
        f"/api/events/download?{urlencode(query_args)}")}
    rq_id = mock.background.submit(work)
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


def download(ctx: Context) -> Response:
    rq_id = ctx.params.get("rq_id")
    if not rq_id:
        raise ValidationFailed({"rq_id": ["This field is required."]})
    view = ctx.mock.background.get(rq_id)
    if view is None or view.owner_id != ctx.user.id or view.target != "events":
        raise NotFound("Unknown request id")
    if view.status != "finished":
        raise ValidationFailed("The export is not finished")
    from mockcvat.models import BackgroundRequest

    with ctx.mock.db.session() as db:
        row = db.execute(select(BackgroundRequest.target_uuid).where(
            BackgroundRequest.rq_id == rq_id)).scalar_one_or_none()
    stored = export_key(str(row))
    if not ctx.mock.media.exists(stored):
        raise NotFound("The export result is not found")
    ctx.mock.background.forget(rq_id)
    return _serve(ctx.mock, stored, ctx.params.get("filename") or default_filename())
