"""``/api/requests``: the background requests of the caller (CVAT's ``RequestViewSet``).

CVAT builds this list from Redis, not from a model: it reads every RQ job of the caller (only
the caller's, admins included), then filters with its ``NonModel*`` filter backends
(``cvat/apps/engine/filters.py``). Their quirks are kept here, over SQL:

* a simple filter applies whenever its parameter is present, even empty; a value made of
  digits is compared as a number, anything else as a string, so a mismatch of types simply
  matches nothing (no 400); ``org=`` (empty) selects the requests made outside organizations;
* ``sort``: when any term is descending, every term is (the whole list is reversed);
* ``filter`` (JSON Logic) also accepts ``!=``.

The detail views answer Django's plain-text pages: 404 ``There is no request with specified
id`` and, for a cancel of a request that has started, 400 ``Only requests that have not yet
been started can be cancelled``; they carry ``never_cache``'s headers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, select
from starlette.responses import Response

from mockcvat import background, compat, iam, jsonlogic, listing
from mockcvat.background import NEW_REQUEST_IDS, RequestView, view_of, visible_status
from mockcvat.compat import ByVersion
from mockcvat.http import CVAT_JSON, CvatJSONResponse
from mockcvat.jsonlogic import FilterField
from mockcvat.models import BackgroundRequest
from mockcvat.schemas.requests import (
    REQUEST_ACTIONS,
    REQUEST_STATUSES,
    REQUEST_SUBRESOURCES,
    REQUEST_TARGETS,
    RequestRead,
)

if TYPE_CHECKING:
    from mockcvat.api import Context

NOT_FOUND = "There is no request with specified id"
NOT_CANCELLABLE = "Only requests that have not yet been started can be cancelled"
_MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class NonModelListing(listing.Listing):
    """``Listing`` with the semantics of CVAT's ``NonModelSimpleFilter``,
    ``NonModelJsonLogicFilter`` and ``NonModelOrderingFilter``."""

    def apply_filters(self, query: Select[Any], params: Mapping[str, str]) -> Select[Any]:
        for name in self.simple_filters:
            if name in params and self.has_simple_filter(name):
                query = query.where(self._equals(name, params[name]))
        raw_filter = params.get("filter")
        if raw_filter:
            rules = _rewrite_not_equal(jsonlogic.parse(raw_filter))
            allowed = {name: self.fields[name] for name in self.filter_fields if self.has(name)}
            query = query.where(jsonlogic.compile_filter(rules, allowed))
        return query

    def _equals(self, name: str, raw: str) -> Any:
        spec = self.fields[name]
        if name == "org" and not raw:
            return spec.expr.is_(None)
        number: int | None = None
        if raw.isdigit():
            try:
                number = int(raw)
            except ValueError:  # digits Python cannot read as a number ("²")
                return false()
        if spec.type == "int":
            return spec.expr == number if number is not None and number <= _MAX_INT else false()
        return spec.expr == raw if number is None else false()

    def ordering(self, params: Mapping[str, str]) -> list[Any]:
        terms = [t.strip() for t in (params.get("sort") or "").split(",")]
        terms = [t for t in terms if t.lstrip("-") in self.ordering_fields]
        terms = terms or list(self.default_ordering)
        descending = any(t.startswith("-") for t in terms)
        exprs = [self.fields[t.lstrip("-")].expr for t in terms]
        return [e.desc() if descending else e.asc() for e in exprs]


def _rewrite_not_equal(rules: Any) -> Any:
    """``{"!=": [a, b]}`` as ``{"!": {"==": [a, b]}}`` (the shared compiler has no ``!=``)."""
    if isinstance(rules, list):
        return [_rewrite_not_equal(r) for r in rules]
    if isinstance(rules, dict):
        if len(rules) == 1 and "!=" in rules:
            return {"!": {"==": _rewrite_not_equal(rules["!="])}}
        return {k: _rewrite_not_equal(v) for k, v in rules.items()}
    return rules


_R = BackgroundRequest
FILTERS = ("status", "project_id", "task_id", "job_id", "action", "target", "subresource",
           "format")
REQUESTS = NonModelListing(
    fields={
        "status": FilterField("status", visible_status()),
        "project_id": FilterField("project_id", _R.project_id, "int", nullable=True),
        "task_id": FilterField("task_id", _R.task_id, "int", nullable=True),
        "job_id": FilterField("job_id", _R.job_id, "int", nullable=True),
        "action": FilterField("action", _R.action),
        "target": FilterField("target", _R.target),
        "subresource": FilterField("subresource", _R.subresource, nullable=True),
        "format": FilterField("format", _R.format, nullable=True),
        "org": FilterField("org", _R.org_slug, nullable=True),
        # cvat-sdk 2.65: requests filtered by organization id
        "org_id": FilterField("org_id", _R.organization_id, "int", nullable=True,
                              since=compat.RELEASE_2_65),
        "created_date": FilterField("created_date", _R.created_date, "datetime"),
    },
    filter_fields=FILTERS,
    simple_filters=(*FILTERS, "org", "org_id"),
    ordering_fields=("created_date", "status", "action"),
    default_ordering=("-created_date",),
    # PR 9230 (cvat-sdk 2.38): action, target and subresource are free strings
    simple_filter_choices={
        "status": REQUEST_STATUSES,
        "action": ByVersion(REQUEST_ACTIONS, (NEW_REQUEST_IDS, None)),
        "target": ByVersion(REQUEST_TARGETS, (NEW_REQUEST_IDS, None)),
        "subresource": ByVersion(REQUEST_SUBRESOURCES, (NEW_REQUEST_IDS, None)),
    },
    org_scoped=False,
)


# --- representation ---------------------------------------------------------------------------
def represent(view: RequestView) -> dict[str, Any]:
    """``RequestSerializer``: progress is never null (0.0 until reported); ``result_url`` only
    for a finished export, ``result_id`` only for another finished request."""
    finished = view.status == "finished"
    export = view.action == "export"
    return RequestRead.dump({
        "status": view.status,
        "message": view.message,
        "id": view.id,
        "operation": {
            "type": view.operation_type,
            "target": view.target,
            "project_id": view.project_id,
            "task_id": view.task_id,
            "job_id": view.job_id,
            "org_id": view.organization_id,
            "format": view.format,
            "function_id": view.function_id if view.action == "autoannotate" else None,
            "lightweight": view.lightweight,
        },
        "progress": float(view.progress or 0.0),
        "created_date": view.created_date,
        "started_date": view.started_date,
        "finished_date": view.finished_date,
        "expiry_date": view.expiry_date,
        "owner": {"id": view.owner_id, "username": view.owner_username},
        "result_url": view.result_url if finished and export else None,
        "result_id": view.result_id if finished and not export else None,
    }) or {}


def never_cache() -> dict[str, str]:
    """Django's ``never_cache`` headers."""
    return {"Expires": formatdate(time.time(), usegmt=True),
            "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private"}


def _plain(status: int, text: str) -> Response:
    """Django's ``HttpResponseNotFound``/``HttpResponseBadRequest`` with a message."""
    return Response(text, status_code=status, media_type="text/html; charset=utf-8",
                    headers=never_cache())


# --- operations -------------------------------------------------------------------------------
def list_requests(ctx: Context) -> Response:
    policy = iam.requests(ctx)
    query = select(*_R.__table__.columns).where(policy.visible(), background.not_expired())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, REQUESTS, ctx.params, ctx.url, pk=_R.pk)
    body = page.body([represent(view_of(row)) for row in page.rows])
    return CvatJSONResponse(body, headers=never_cache())


def _checked(ctx: Context, rq_id: str) -> RequestView | Response:
    """The request if the caller may see it; a 404 page if it does not exist; 403 if it is
    someone else's (after the org context is resolved, as CVAT's permission check does)."""
    found = ctx.mock.background.get(rq_id)
    if found is None:
        return _plain(404, NOT_FOUND)
    iam.requests(ctx).check(found.owner_id)
    return found


def retrieve_request(ctx: Context, rq_id: str) -> Response:
    found = _checked(ctx, rq_id)
    if isinstance(found, Response):
        return found
    view = ctx.mock.background.get(rq_id, poll=True) or found  # counts as a poll
    return CvatJSONResponse(represent(view), headers=never_cache())


def cancel_request(ctx: Context, rq_id: str) -> Response:
    found = _checked(ctx, rq_id)
    if isinstance(found, Response):
        return found
    if not ctx.mock.background.cancel(rq_id):
        return _plain(400, NOT_CANCELLABLE)
    return Response(status_code=200, media_type=CVAT_JSON, headers=never_cache())
