"""``create_app``: build one fake CVAT (its own state, routes and schema) per call."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import Scope

from mockcvat import compat, errors, metadata, pages
from mockcvat.api import endpoint
from mockcvat.middleware import JournalMiddleware
from mockcvat.routes import control, operations
from mockcvat.server import MockCVAT
from mockcvat.settings import Settings, from_env


def create_app(settings: Settings | None = None, *, mock: MockCVAT | None = None) -> FastAPI:
    settings = settings or from_env()
    mock = mock or MockCVAT(settings)
    app = FastAPI(
        title="mockcvat", openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.mock = mock
    app.router.redirect_slashes = False  # CVAT's paths are exact; see _append_slash
    errors.install_handlers(app)
    app.add_exception_handler(404, _not_found)
    emulated = compat.Compat(settings.cvat_version)
    mounted = [op for op in operations() if op.exists_in(emulated.version)]
    by_path: dict[str, list[Any]] = {}
    for op in mounted:
        by_path.setdefault(op.path, []).append(op)
    for op in mounted:  # every DRF response carries the view's Allow header
        allow = metadata.allow(other.method for other in by_path[op.path])
        app.router.add_route(op.path, endpoint(op, mock, allow=allow), methods=[op.method],
                             name=op.operation_id)
    mock.operations = mounted
    for path, path_ops in by_path.items():  # DRF answers OPTIONS on every view
        app.router.add_route(path, metadata.options_endpoint(path_ops, mock),
                             methods=["OPTIONS"], include_in_schema=False)
    app.router.add_route("/api/docs", pages.swagger_ui, methods=["GET"], include_in_schema=False)
    app.router.add_route("/api/docs/", pages.swagger_ui, methods=["GET"],
                         include_in_schema=False)
    app.router.add_route(pages.STATIC_PREFIX + "{name}", pages.swagger_static, methods=["GET"],
                         include_in_schema=False)
    app.router.add_route("/static/logo.svg", _logo, methods=["GET"], include_in_schema=False)
    app.include_router(control.router(mock))
    app.add_middleware(JournalMiddleware, mock=mock)
    # a worker process of `serve --workers` is stopped through its lifespan: running
    # background requests get their grace period (MockCVAT.close)
    app.router.add_event_handler("shutdown", mock.close)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    """Django's APPEND_SLASH: a path that only exists with a trailing slash gets a 301."""
    path = request.url.path
    if not path.endswith("/") and _routes_match(request.app.routes, request.scope, path + "/"):
        target = path + "/" + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(target, status_code=301)
    return HTMLResponse(errors.DJANGO_NOT_FOUND_PAGE, status_code=404)


def _routes_match(routes: Iterable[Any], scope: Scope, path: str) -> bool:
    probe = dict(scope, path=path)
    return any(route.matches(probe)[0] != Match.NONE for route in routes)


LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32">'
    '<text x="0" y="24" font-family="sans-serif" font-size="24">mockcvat</text></svg>'
)


async def _logo(request: Request) -> Response:
    return Response(LOGO, media_type="image/svg+xml")


@lru_cache(maxsize=8)
def schema_document(version: str) -> dict[str, Any]:
    """The OpenAPI document of an emulated CVAT version (shared: do not mutate)."""
    from mockcvat.openapi import build_schema

    return build_schema(operations(), version)


@lru_cache(maxsize=8)
def schema_yaml(version: str) -> str:
    """The same document as YAML (what ``mockcvat schema dump`` writes); shared parts are
    written out each time, as drf-spectacular does, not as YAML anchors."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(schema_document(version), Dumper=Dumper, sort_keys=False,
                     allow_unicode=True, width=100)
