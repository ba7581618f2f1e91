"""/api/events (the event log)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.routes import params
from mockcvat.schemas.data import RqId
from mockcvat.schemas.events import ClientEvents
from mockcvat.services import event_log

api = Api("events")

# the first release with POST /api/events/export (cvat-sdk 2.38)
EVENTS_EXPORT = "2.38.0"


def _filters() -> list[dict[str, Any]]:
    return [
        params.query("org_id", {"type": "integer"}, "Filter events by organization ID"),
        params.query("project_id", {"type": "integer"}, "Filter events by project ID"),
        params.query("task_id", {"type": "integer"}, "Filter events by task ID"),
        params.query("job_id", {"type": "integer"}, "Filter events by job ID"),
        params.query("user_id", {"type": "integer"}, "Filter events by user ID"),
        params.query("from", {"type": "string", "format": "date-time"},
                     "Filter events after the datetime"),
        params.query("to", {"type": "string", "format": "date-time"},
                     "Filter events before the datetime"),
        params.FILENAME,
    ]


def _sorted(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(parameters, key=lambda p: p["name"])


@api.operation(
    "POST", "/api/events", "events_create", summary="Log client events",
    parameters=ORG_PARAMETERS, body=Body(ClientEvents), status=201,
    responses={201: Reply(ClientEvents)},
)
async def events_create(ctx: Context) -> Any:
    return event_log.create_client_events(ctx, await ctx.json())


LIST_PARAMETERS = _sorted(_filters() + [
    params.query("action", {"type": "string", "enum": ["download"]},
                 "Used to start downloading process after annotation file had been created"),
    params.query("query_id", {"type": "string"},
                 "ID of query request that need to check or download")])
LIST_REPLIES = {200: Reply(description="Download of file started"),
                201: Reply(description="CSV log file is ready for downloading"),
                202: Reply(description="Creating a CSV log file has been started")}


@api.operation(
    "GET", "/api/events", "events_list", summary="Get an event log",
    parameters=LIST_PARAMETERS, responses=LIST_REPLIES, until=EVENTS_EXPORT,
)
async def events_list(ctx: Context) -> Any:
    return event_log.legacy_export(ctx)


# deprecated once the export moved to POST /api/events/export
api.operation("GET", "/api/events", "events_list", summary="Get an event log",
              parameters=LIST_PARAMETERS, responses=LIST_REPLIES, since=EVENTS_EXPORT,
              deprecated=True)(events_list)


@api.operation(
    "POST", "/api/events/export", "events_create_export",
    summary="Initiate a process to export events",
    parameters=_sorted(_filters() + [params.LOCATION, params.CLOUD_STORAGE_ID]),
    responses={202: Reply(RqId)}, since=EVENTS_EXPORT,
)
async def events_create_export(ctx: Context) -> Any:
    return event_log.start_export(ctx)


# the result_url of an export: private, not in CVAT's schema
@api.operation("GET", "/api/events/download", "events_download", since=EVENTS_EXPORT,
               in_schema=False)
async def events_download(ctx: Context) -> Any:
    return event_log.download(ctx)
