"""The control plane under ``/_mockcvat/``: what a test needs and CVAT does not have.

It sits outside CVAT's API and schema. From Python, ``mockcvat.testing.MockCVATServer``
calls the same functions directly; these routes serve tests written in other languages and
tests of a server started with ``mockcvat serve``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockcvat import background
from mockcvat.errors import NotFound, ValidationFailed
from mockcvat.faults import FaultError, suggest
from mockcvat.http import read_json
from mockcvat.server import MockCVAT
from mockcvat.services import auth as auth_service
from mockcvat.services import organizations as organizations_service
from mockcvat.services import users as users_service


def router(mock: MockCVAT) -> APIRouter:
    control = APIRouter(prefix="/_mockcvat", include_in_schema=False)

    @control.post("/reset")
    async def reset() -> dict[str, Any]:
        return {"reset_ms": round(mock.reset() * 1000, 3)}

    @control.get("/outbox")
    async def outbox() -> list[dict[str, Any]]:
        with mock.db.session() as session:
            return auth_service.outbox(session)

    @control.post("/users")
    async def create_user(request: Request) -> JSONResponse:
        spec = await read_json(request)
        if not isinstance(spec, dict) or not spec.get("username"):
            raise ValidationFailed({"username": ["This field is required."]})
        with mock.db.session() as session:
            user = users_service.create_user(mock, session, **spec)
            return JSONResponse({"id": user.id, "username": user.username}, status_code=201)

    @control.post("/organizations")
    async def create_organization(request: Request) -> JSONResponse:
        """{"slug", "owner": username, "members": {username: role}, "name"}"""
        spec = await read_json(request)
        if not isinstance(spec, dict) or not spec.get("slug") or not spec.get("owner"):
            raise ValidationFailed({"slug": ["slug and owner are required."]})
        with mock.db.session() as session:
            org = organizations_service.seed_organization(
                session, slug=str(spec["slug"]), owner=str(spec["owner"]),
                members=spec.get("members") or {}, name=str(spec.get("name") or ""))
            return JSONResponse({"id": org.id, "slug": org.slug}, status_code=201)

    @control.get("/background")
    async def background_state() -> dict[str, Any]:
        return background_status(mock)

    @control.post("/background")
    async def set_background(request: Request) -> JSONResponse:
        """{"mode": "thread"|"immediate", "hold_polls": n, "fail_next": {"message", "action",
        "target"} (or a list of them), "wait": seconds or true}; answers the state."""
        spec = await read_json(request)
        if not isinstance(spec, dict):
            raise ValidationFailed(["Expected a JSON object."])
        configure_background(mock, spec)
        wait = spec.get("wait")
        if wait is not None and wait is not False:
            timeout = 30.0 if wait is True else _number(wait, "wait")
            try:
                await run_in_threadpool(mock.background.wait, timeout)
            except TimeoutError as exc:
                return JSONResponse({"detail": str(exc)}, status_code=504)
        return JSONResponse(background_status(mock))

    @control.post("/webhooks/wait")
    async def wait_for_deliveries(request: Request) -> JSONResponse:
        """{"timeout": seconds} (default 30): until every queued webhook delivery has been
        attempted; 504 if some are still queued or running then."""
        spec = await read_json(request) if await request.body() else {}
        timeout = _number((spec or {}).get("timeout", 30), "timeout") if isinstance(
            spec, dict) else 30.0
        try:
            await run_in_threadpool(mock.background.wait_deferred, timeout)
        except TimeoutError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=504)
        return JSONResponse({"busy": False})

    @control.post("/lambda/functions")
    async def register_function(request: Request) -> JSONResponse:
        """A declarative AI function: its spec (``id``, ``kind``, ``name``, ``labels``,
        ``version``, ``description``, ``help_message``) and ``detections`` ({frame: [...]},
        ``"*"`` for any frame) or ``error``; answers what ``/api/lambda/functions`` shows."""
        from mockcvat.functions import Function

        spec = await read_json(request)
        if not isinstance(spec, dict) or "id" not in spec:
            raise ValidationFailed(["Expected a JSON object with an 'id'."])
        allowed = set(Function.__dataclass_fields__) - {"handler"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValidationFailed([f"Unknown fields: {', '.join(unknown)}"])
        try:
            function = mock.functions.register(Function(**spec))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValidationFailed([str(exc)]) from None
        return JSONResponse(function.to_dict(), status_code=201)

    @control.delete("/lambda/functions/{function_id}")
    async def unregister_function(function_id: str) -> JSONResponse:
        mock.functions.unregister(function_id)
        return JSONResponse({}, status_code=204)

    add_journal_routes(control, mock)
    add_fault_routes(control, mock)
    add_state_routes(control, mock)
    return control


def background_status(mock: MockCVAT) -> dict[str, Any]:
    engine = mock.background
    return {"mode": engine.mode, "hold_polls": engine.held_polls,
            "fail_next": engine.pending_faults, "busy": engine.busy()}


def configure_background(mock: MockCVAT, spec: dict[str, Any]) -> None:
    """Apply a ``POST /_mockcvat/background`` body (checked whole before anything changes)."""
    engine = mock.background
    mode = spec.get("mode")
    if mode is not None and mode not in ("thread", "immediate"):
        raise ValidationFailed({"mode": ['Must be "thread" or "immediate".']})
    hold = spec.get("hold_polls")
    if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold < 0):
        raise ValidationFailed({"hold_polls": ["Must be an integer >= 0."]})
    faults = spec.get("fail_next")
    faults = [] if faults is None else faults if isinstance(faults, list) else [faults]
    for fault in faults:
        if not isinstance(fault, dict) or not isinstance(fault.get("message"), str):
            raise ValidationFailed({"fail_next": ['Each item needs a "message" string.']})
        for name, known in (("action", background.ACTIONS), ("target", background.TARGETS)):
            value = fault.get(name)
            if value is not None and value not in known:
                raise ValidationFailed({"fail_next": [
                    f"Unknown {name} {value!r}{suggest(str(value), known)} "
                    f"(known: {', '.join(known)})."]})
    if mode is not None:
        engine.set_mode(mode)
    if hold is not None:
        engine.hold_polls(hold)
    for fault in faults:
        engine.fail_next(fault["message"], action=fault.get("action"),
                         target=fault.get("target"))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationFailed({name: ["Must be a number of seconds >= 0, or true."]})
    return float(value)


# --- the request journal (mockcvat.journal) ------------------------------------------------
CRITERIA = ("operation_id", "method", "path", "status", "user", "org", "with_body", "since")


def _criteria(spec: Any, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Journal criteria from JSON (or query parameters); unknown keys are refused."""
    if not isinstance(spec, dict):
        raise ValidationFailed(["Expected a JSON object."])
    unknown = [key for key in spec if key not in CRITERIA + extra]
    if unknown:
        known = CRITERIA + extra
        raise ValidationFailed({unknown[0]: [
            f"Unknown criterion{suggest(unknown[0], known)} (known: {', '.join(known)})."]})
    criteria = {key: value for key, value in spec.items() if value is not None}
    status = criteria.get("status")
    if isinstance(status, str) and status.isdigit():
        criteria["status"] = int(status)
    for key in ("since", "times", "at_least"):
        value = criteria.get(key)
        if isinstance(value, str) and value.isdigit():
            criteria[key] = int(value)
        if key in criteria and (isinstance(criteria[key], bool)
                                or not isinstance(criteria[key], int) or criteria[key] < 0):
            raise ValidationFailed({key: ["Must be an integer >= 0."]})
    return criteria


def add_journal_routes(control: APIRouter, mock: MockCVAT) -> None:
    journal = mock.journal

    @control.get("/journal")
    async def read_journal(request: Request) -> dict[str, Any]:
        """Entries, oldest first; query parameters filter them as ``find`` does, ``limit``
        keeps the newest N."""
        params = dict(request.query_params)
        limit = params.pop("limit", None)
        entries = journal.find(**_criteria(params)) if params else journal.entries()
        if limit is not None:
            if not limit.isdigit():
                raise ValidationFailed({"limit": ["Must be an integer >= 0."]})
            entries = entries[len(entries) - min(int(limit), len(entries)):]
        return {"enabled": journal.enabled, "size": journal.size, "next_id": journal.mark(),
                "entries": entries}

    @control.post("/journal")
    async def set_journal(request: Request) -> dict[str, Any]:
        """{"enabled": bool}: recording on or off; the journal is cleared either way."""
        body = await read_json(request)
        journal.enabled = bool(body.get("enabled", True)) if isinstance(body, dict) else True
        journal.clear()
        return {"enabled": journal.enabled}

    @control.delete("/journal")
    async def clear_journal() -> Response:
        journal.clear()
        return Response(status_code=204)

    @control.post("/journal/find")
    async def find_requests(request: Request) -> dict[str, Any]:
        entries = journal.find(**_criteria(await read_json(request)))
        return {"count": len(entries), "entries": entries}

    @control.post("/journal/verify")
    async def verify_requests(request: Request) -> JSONResponse:
        """{criteria, "times": n or "at_least": n}: 200 with the matches, or 417 with a
        message listing the closest requests."""
        criteria = _criteria(await read_json(request), extra=("times", "at_least"))
        found, message = journal.verify(**criteria)
        if message is not None:
            return JSONResponse({"detail": message, "count": len(found)}, status_code=417)
        return JSONResponse({"count": len(found), "entries": found})


# --- HTTP-level faults (mockcvat.faults) ----------------------------------------------------
def add_fault_routes(control: APIRouter, mock: MockCVAT) -> None:
    faults = mock.faults

    @control.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return faults.list()

    @control.post("/faults")
    async def add_faults(request: Request) -> JSONResponse:
        """A rule (or a list of them, added all or none): see ``mockcvat.faults``."""
        spec = await read_json(request)
        specs = spec if isinstance(spec, list) else [spec]
        added = []
        try:
            for item in specs:
                added.append(faults.add_spec(item))
        except FaultError as exc:
            for rule in added:
                faults.remove(rule)
            raise ValidationFailed({exc.field: [str(exc)]}) from None
        rules = [rule.as_dict() for rule in added]
        return JSONResponse(rules if isinstance(spec, list) else rules[0], status_code=201)

    @control.delete("/faults")
    async def clear_faults() -> Response:
        faults.clear()
        return Response(status_code=204)

    @control.delete("/faults/{rule_id:int}")
    async def remove_fault(rule_id: int) -> Response:
        if not faults.remove(rule_id):
            raise NotFound(f"No fault rule {rule_id}.")
        return Response(status_code=204)


# --- the state page (mockcvat.pages) -----------------------------------------------------------
def add_state_routes(control: APIRouter, mock: MockCVAT) -> None:
    from mockcvat import pages

    control.add_api_route("/", pages.state_page, methods=["GET"])
    control.add_api_route("", pages.state_page, methods=["GET"])

    @control.get("/state")
    async def state() -> Response:
        return Response(pages.state_json(mock), media_type="application/json")
