"""Operations: the one table that drives routing, request handling and the OpenAPI schema.

Each route module declares its operations with ``Api.operation`` using CVAT's operationIds.
``create_app`` mounts the operations the emulated CVAT version has; ``mockcvat.openapi``
turns the same declarations into the schema. Handlers take a ``Context`` and return either
data (rendered as CVAT JSON with the operation's status) or a ready ``Response``.

Routing is plain Starlette under FastAPI: FastAPI's own request parsing and schema generation
answer in pydantic's shapes (422s, JSON Schema), not in DRF's, so the serializer layer
(``mockcvat.schemas.fields``) does both jobs instead.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from mockcvat import compat
from mockcvat.errors import APIError, NotAuthenticated, NotFound, render
from mockcvat.http import CvatJSONResponse, absolute_url, negotiate, read_json
from mockcvat.middleware import OPERATION_KEY, USER_KEY
from mockcvat.readcache import CACHED
from mockcvat.schemas.fields import Serializer
from mockcvat.settings import parse_version

if TYPE_CHECKING:
    from mockcvat.auth import Identity
    from mockcvat.iam import OrgContext
    from mockcvat.models import User
    from mockcvat.server import MockCVAT

Handler = Callable[["Context"], Awaitable[Any]]
MAX_SQL_INT = 2**63 - 1


@dataclass(frozen=True)
class Body:
    """A request body: a serializer (component ``<Name>Request``) and its media types."""

    serializer: type[Serializer] | None = None
    partial: bool = False
    media_types: tuple[str, ...] = ("application/json",)
    required: bool = True
    schema: Mapping[str, Any] | None = None  # a literal schema instead of a serializer


@dataclass(frozen=True)
class Reply:
    """One documented response of an operation."""

    serializer: type[Serializer] | None = None
    description: str = ""
    media_types: tuple[str, ...] = ("application/vnd.cvat+json",)
    schema: Mapping[str, Any] | None = None  # a literal schema instead of a serializer
    many: bool = False  # a JSON array of the serializer (not paginated)


@dataclass
class Operation:
    method: str
    path: str  # Starlette template, e.g. /api/users/{id:int}
    operation_id: str
    tag: str
    handler: Handler
    status: int = 200
    summary: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)
    body: Body | None = None
    responses: dict[int, Reply] = field(default_factory=dict)
    public: bool = False  # anonymous callers allowed
    schema_public: bool | None = None  # the schema's "{}" security item; default: public
    negotiate: bool = True  # DRF content negotiation (406 for Accept: application/json)
    # which authenticators the view runs: all of CVAT's, none, or only access tokens
    authenticate: bool | str = True
    since: str | None = None  # first CVAT version that has the operation
    until: str | None = None  # first CVAT version that no longer has it
    in_schema: bool = True  # False: served but undocumented, as CVAT's TUS PATCH/HEAD routes
    deprecated: bool = False

    @property
    def schema_path(self) -> str:
        """The path as OpenAPI writes it (no Starlette converters)."""
        return _strip_converters(self.path)

    def exists_in(self, version: tuple[int, ...]) -> bool:
        if self.since and version < parse_version(self.since):
            return False
        if self.until and version >= parse_version(self.until):
            return False
        return True


def _strip_converters(path: str) -> str:
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


class Api:
    """The operations of one OpenAPI tag (one route module)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def operation(
        self, method: str, path: str, operation_id: str, **kwargs: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(method, path, operation_id, self.tag, handler, **kwargs)
            )
            return handler

        return register


class Context:
    """What a handler knows about the request it serves."""

    def __init__(self, request: Request, mock: MockCVAT, identity: Identity | None) -> None:
        self.request = request
        self.mock = mock
        self.identity = identity

    @property
    def user(self) -> User:
        if self.identity is None:
            raise NotAuthenticated()
        return self.identity.user

    @property
    def params(self) -> Mapping[str, str]:
        return self.request.query_params

    def pk(self, name: str = "id") -> int:
        """An integer lookup from the path; anything else is DRF's plain 404."""
        raw = self.request.path_params[name]
        try:
            value = int(raw)
        except ValueError:
            raise NotFound() from None
        if not 0 <= value <= MAX_SQL_INT:  # beyond a SQL integer: it cannot exist
            raise NotFound()
        return value

    async def json(self) -> Any:
        return await read_json(self.request)

    @property
    def url(self) -> str:
        """The absolute URL of this request (Django's ``build_absolute_uri``)."""
        return absolute_url(self.request)

    def absolute(self, path: str) -> str:
        return absolute_url(self.request, path)

    @cached_property
    def org(self) -> OrgContext:
        from mockcvat.iam import resolve_org_context

        return resolve_org_context(self)


def endpoint(op: Operation, mock: MockCVAT, *, allow: str | None = None
             ) -> Callable[[Request], Awaitable[Response]]:
    """The ASGI endpoint of one operation: authenticate, run the handler, render (with
    ``allow`` as the ``Allow`` header, as DRF adds to every response of a view)."""
    from mockcvat.auth import authenticate, authenticate_bearer

    challenge = "Bearer" if op.authenticate == "bearer" else "Token"
    cache = mock.read_cache
    cacheable = op.status == 200 and op.method == "GET" and op.operation_id in CACHED

    async def run(request: Request) -> Response:
        response = await handle(request)
        if allow is not None:
            response.headers["Allow"] = allow
        return response

    async def handle(request: Request) -> Response:
        # for the journal and the access log (mockcvat.middleware)
        state = request.scope.setdefault("state", {})
        state[OPERATION_KEY] = op.operation_id
        try:
            with compat.emulating(mock.compat):
                if op.negotiate:
                    negotiate(request)
                identity = None
                if op.authenticate == "bearer":
                    identity = authenticate_bearer(mock, request)
                elif op.authenticate:
                    identity = authenticate(mock, request)
                if identity is not None:
                    state[USER_KEY] = identity.user.username
                if identity is None and not op.public:
                    raise NotAuthenticated(challenge=challenge)
                key = cache.key(op.operation_id, request, identity) if cacheable else None
                if key is not None:
                    body = cache.get(key)
                    if body is not None:
                        return CvatJSONResponse.of_bytes(body)
                    before = cache.generation()
                result = await op.handler(Context(request, mock, identity))
                if isinstance(result, Response):
                    return result
                if result is None and op.status == 204:
                    return Response(status_code=204)
                response = CvatJSONResponse(result, status_code=op.status)
        except APIError as exc:
            return render(exc)
        if key is not None:
            cache.put(key, response.body, before)
        return response

    run.__name__ = op.operation_id
    return run
