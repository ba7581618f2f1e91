"""/api/quality: settings, requirements (2.80), reports and conflicts"""

from __future__ import annotations

from typing import Any

from mockcvat.api import Api, Body, Context, Reply
from mockcvat.compat import PROJECT_QUALITY, QUALITY_REPORT_CSV
from mockcvat.compat import QUALITY_REQUIREMENTS as NEW
from mockcvat.openapi import paginated
from mockcvat.routes import params
from mockcvat.schemas import quality as schemas
from mockcvat.schemas.data import RqId
from mockcvat.services import quality

api = Api("quality")
BINARY = {"type": "string", "format": "binary"}


# --- settings ------------------------------------------------------------------------------------
PARENT_TYPE = params.query("parent_type", {"type": "string", "enum": ["project", "task"]},
                           "Whose settings: a project's or a task's")
INCLUDE_LEGACY = params.query("include_legacy", {"type": "boolean"},
                              "Include the reports of older releases (mockcvat has none)")


def _with(listing: Any, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted([*listing.parameters(), *extra], key=lambda p: p["name"])


def _list_settings_op(parameters: list[dict[str, Any]], **bounds: Any) -> None:
    @api.operation("GET", "/api/quality/settings", "quality_list_settings",
                   summary="List quality settings instances", parameters=parameters,
                   responses={200: Reply(paginated(schemas.QualitySettings))}, **bounds)
    async def quality_list_settings(ctx: Context) -> Any:
        return quality.list_settings(ctx)


_list_settings_op(_with(quality.SETTINGS_226), until=PROJECT_QUALITY)
_list_settings_op(_with(quality.SETTINGS_280, PARENT_TYPE), since=PROJECT_QUALITY)
SETTINGS_ITEM = "/api/quality/settings/{id:pk}"


@api.operation("GET", SETTINGS_ITEM, "quality_retrieve_settings",
               summary="Get quality settings instance details",
               responses={200: Reply(schemas.QualitySettings)})
async def quality_retrieve_settings(ctx: Context) -> Any:
    return quality.retrieve_settings(ctx, ctx.pk())


@api.operation("PATCH", SETTINGS_ITEM, "quality_partial_update_settings",
               summary="Update a quality settings instance",
               body=Body(schemas.QualitySettings, partial=True, required=False),
               responses={200: Reply(schemas.QualitySettings)})
async def quality_partial_update_settings(ctx: Context) -> Any:
    return quality.update_settings(ctx, ctx.pk(), await ctx.json(), partial=True)


@api.operation("PUT", SETTINGS_ITEM, "quality_update_settings",
               summary="Replace a quality settings instance", since=NEW,
               body=Body(schemas.QualitySettings, required=False),
               responses={200: Reply(schemas.QualitySettings)})
async def quality_update_settings(ctx: Context) -> Any:
    return quality.update_settings(ctx, ctx.pk(), await ctx.json(), partial=False)


# --- requirements (2.80) -------------------------------------------------------------------------
REQUIREMENTS = "/api/quality/settings/requirements"
REQUIREMENT = REQUIREMENTS + "/{id:pk}"


@api.operation("GET", REQUIREMENTS, "quality_list_settings_requirements", since=NEW,
               summary="List quality requirements", parameters=quality.REQUIREMENTS.parameters(),
               responses={200: Reply(paginated(schemas.QualityRequirementListItem))})
async def quality_list_settings_requirements(ctx: Context) -> Any:
    return quality.list_requirements(ctx)


@api.operation("POST", REQUIREMENTS, "quality_create_settings_requirements", since=NEW,
               status=201, summary="Create a quality requirement",
               body=Body(schemas.QualityRequirement, required=False),
               responses={201: Reply(schemas.QualityRequirement)})
async def quality_create_settings_requirements(ctx: Context) -> Any:
    return quality.create_requirement(ctx, await ctx.json())


@api.operation("POST", REQUIREMENTS + "/bulk", "quality_create_settings_requirements_bulk",
               since=NEW, status=201, summary="Create quality requirements with their children",
               body=Body(schemas.QualityRequirementBulkCreate),
               responses={201: Reply(schemas.QualityRequirement, many=True)})
async def quality_create_settings_requirements_bulk(ctx: Context) -> Any:
    return quality.bulk_create_requirements(ctx, await ctx.json())


@api.operation("GET", REQUIREMENT, "quality_retrieve_settings_requirements", since=NEW,
               summary="Get a quality requirement",
               responses={200: Reply(schemas.QualityRequirement)})
async def quality_retrieve_settings_requirements(ctx: Context) -> Any:
    return quality.retrieve_requirement(ctx, ctx.pk())


@api.operation("PATCH", REQUIREMENT, "quality_partial_update_settings_requirements", since=NEW,
               summary="Update a quality requirement",
               body=Body(schemas.QualityRequirement, partial=True, required=False),
               responses={200: Reply(schemas.QualityRequirement)})
async def quality_partial_update_settings_requirements(ctx: Context) -> Any:
    return quality.update_requirement(ctx, ctx.pk(), await ctx.json(), partial=True)


@api.operation("PUT", REQUIREMENT, "quality_update_settings_requirements", since=NEW,
               summary="Replace a quality requirement",
               body=Body(schemas.QualityRequirement, required=False),
               responses={200: Reply(schemas.QualityRequirement)})
async def quality_update_settings_requirements(ctx: Context) -> Any:
    return quality.update_requirement(ctx, ctx.pk(), await ctx.json(), partial=False)


@api.operation("DELETE", REQUIREMENT, "quality_destroy_settings_requirements", since=NEW,
               status=204, summary="Delete a quality requirement",
               responses={204: Reply(description="The requirement has been deleted")})
async def quality_destroy_settings_requirements(ctx: Context) -> None:
    quality.destroy_requirement(ctx, ctx.pk())


# --- reports ------------------------------------------------------------------------------------
def _list_reports_op(parameters: list[dict[str, Any]], **bounds: Any) -> None:
    @api.operation("GET", "/api/quality/reports", "quality_list_reports",
                   summary="List quality reports", parameters=parameters,
                   responses={200: Reply(paginated(schemas.QualityReport))}, **bounds)
    async def quality_list_reports(ctx: Context) -> Any:
        return quality.list_reports(ctx)


_list_reports_op(_with(quality.REPORTS_226), until=PROJECT_QUALITY)
_list_reports_op(_with(quality.REPORTS_280), since=PROJECT_QUALITY, until=NEW)
_list_reports_op(_with(quality.REPORTS_280, INCLUDE_LEGACY), since=NEW)


# every release documents ``?rq_id=`` and the 201 report (deprecated from 2.38: see
# ``quality.create_report``)
@api.operation("POST", "/api/quality/reports", "quality_create_report",
               summary="Create a quality report", parameters=[params.RQ_ID],
               body=Body(schemas.QualityReportCreate, required=False),
               responses={201: Reply(schemas.QualityReport), 202: Reply(RqId),
                          400: Reply(description="Invalid or failed request, check the "
                                                 "response data for details")})
async def quality_create_report(ctx: Context) -> Any:
    return quality.create_report(ctx, await ctx.json())


REPORT = "/api/quality/reports/{id:pk}"


@api.operation("GET", REPORT, "quality_retrieve_report", summary="Get quality report details",
               responses={200: Reply(schemas.QualityReport)})
async def quality_retrieve_report(ctx: Context) -> Any:
    return quality.retrieve_report(ctx, ctx.pk())


def _report_data_op(formats: tuple[str, ...], **bounds: Any) -> None:
    """Until 2.55 the JSON; then a file: JSON or (until 2.74) the confusion matrix as CSV."""
    parameters = [params.query("format", {"type": "string", "enum": list(formats)})
                  ] if formats else []
    reply = Reply(schema=BINARY) if formats else Reply(schema={"type": "object"})

    @api.operation("GET", REPORT + "/data", "quality_retrieve_report_data",
                   summary="Get quality report contents", parameters=parameters,
                   negotiate=not formats, responses={200: reply}, **bounds)
    async def quality_retrieve_report_data(ctx: Context) -> Any:
        import json

        from starlette.responses import Response

        from mockcvat.errors import ValidationFailed

        data = quality.report_data_of(ctx, ctx.pk())
        if not formats:
            return data
        chosen = ctx.params.get("format", "json")
        if chosen not in formats:
            raise ValidationFailed({"format": [f'"{chosen}" is not a valid choice.']})
        if chosen == "csv":
            return Response(quality.report_csv(data), media_type="text/csv")
        return Response(json.dumps(data, indent=2) + "\n", media_type="application/json")


_report_data_op((), until=QUALITY_REPORT_CSV)
_report_data_op(("csv", "json"), since=QUALITY_REPORT_CSV, until=NEW)
_report_data_op(("json",), since=NEW)


@api.operation("GET", REPORT + "/confusion", "quality_retrieve_report_confusion", since=NEW,
               summary="Get the confusion matrix of a quality report (JSON file)",
               negotiate=False,
               responses={200: Reply(schema=BINARY)})
async def quality_retrieve_report_confusion(ctx: Context) -> Any:
    return quality.report_confusion(ctx, ctx.pk())


@api.operation("GET", REPORT + "/confusion/matrix", "quality_retrieve_report_requirement_confusion",
               since=NEW, summary="Get the confusion matrix of a quality requirement",
               negotiate=False,
               parameters=[params.query("requirement", {"type": "integer"}, required=True),
                           params.query("format", {"type": "string", "enum": ["csv", "json"]})],
               responses={200: Reply(schemas.QualityReportConfusionMatrix,
                                     media_types=("application/json", "text/csv"))})
async def quality_retrieve_report_requirement_confusion(ctx: Context) -> Any:
    from starlette.responses import JSONResponse, Response

    from mockcvat.errors import ValidationFailed

    raw = ctx.params.get("requirement")
    if raw is None or not raw.isdigit():
        raise ValidationFailed({"requirement": ["A valid integer is required."]})
    matrix = quality.report_confusion(ctx, ctx.pk(), int(raw))
    if ctx.params.get("format") == "csv":
        return Response(quality.confusion_csv(matrix), media_type="text/csv")
    # the view's renderers are plain JSON and CSV (cvat-sdk 2.80 accepts application/json)
    return JSONResponse(schemas.QualityReportConfusionMatrix.dump(matrix))


# --- conflicts ----------------------------------------------------------------------------------
def _list_conflicts_op(listing: Any, **bounds: Any) -> None:
    report_id = params.query("report_id", {"type": "integer"}, "A simple equality filter for "
                             "report id")

    @api.operation("GET", "/api/quality/conflicts", "quality_list_conflicts",
                   summary="List annotation conflicts in a quality report",
                   parameters=_with(listing, report_id),
                   responses={200: Reply(paginated(schemas.AnnotationConflict))}, **bounds)
    async def quality_list_conflicts(ctx: Context) -> Any:
        return quality.list_conflicts(ctx)


_list_conflicts_op(quality.CONFLICTS_226, until=PROJECT_QUALITY)
_list_conflicts_op(quality.CONFLICTS_280, since=PROJECT_QUALITY)
