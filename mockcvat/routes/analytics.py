"""/api/analytics/reports (CVAT 2.26 up to the release that dropped the analytics app)"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.routes import params
from mockcvat.schemas.data import RqId
from mockcvat.schemas.events import AnalyticsReport, AnalyticsReportCreate
from mockcvat.services import analytics

api = Api("analytics")

# in cvat-sdk 2.31, gone from cvat-sdk 2.32
NO_ANALYTICS = "2.32.0"
DATE_TIME = {"type": "string", "format": "date-time"}


@api.operation(
    "GET", "/api/analytics/reports", "analytics_get_reports", summary="Get an analytics report",
    parameters=[
        params.query("end_date", DATE_TIME, "Specify the end date for filtering report data."),
        params.query("job_id", {"type": "integer"}, "Specify job ID"),
        params.query("project_id", {"type": "integer"}, "Specify project ID"),
        params.query("start_date", DATE_TIME, "Specify a start date for filtering report data."),
        params.query("task_id", {"type": "integer"}, "Specify task ID"),
    ],
    responses={200: Reply(AnalyticsReport), 404: Reply(description="Not found")},
    until=NO_ANALYTICS,
)
async def analytics_get_reports(ctx: Context) -> Any:
    return analytics.get_report(ctx)


@api.operation(
    "POST", "/api/analytics/reports", "analytics_create_report",
    summary="Create an analytics report",
    parameters=[params.query("rq_id", {"type": "string"},
                             "The report creation request id. Can be specified to check the "
                             "report creation status.")],
    body=Body(AnalyticsReportCreate, required=False),
    responses={201: Reply(description="A analytics report request has been computed"),
               202: Reply(RqId, description="A analytics report request has been enqueued"),
               400: Reply(description="Invalid or failed request, check the response data "
                                      "for details")},
    until=NO_ANALYTICS,
)
async def analytics_create_report(ctx: Context) -> Any:
    body = await ctx.json() if await ctx.request.body() else None
    return analytics.create_report(ctx, body)
