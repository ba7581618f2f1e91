"""The control plane under ``/_mockcvat/``: what a test needs and CVAT does not have.

It sits outside CVAT's API and schema. From Python, ``mockcvat.testing.MockCVATServer``
calls the same functions directly; these routes serve tests written in other languages and
tests of a server started with ``mockcvat serve``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
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
