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
from starlette.responses import JSONResponse

from mockcvat.errors import ValidationFailed
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

    @control.get("/journal")
    async def journal() -> dict[str, Any]:
        return {"enabled": mock.journal_enabled, "entries": mock.journal}

    @control.post("/journal")
    async def set_journal(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        mock.journal_enabled = bool(body.get("enabled", True)) if isinstance(body, dict) else True
        mock.journal.clear()
        return {"enabled": mock.journal_enabled}

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
