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
    """A request body: a serializer (component ``<Name>Request``) and its media types.

    ``since``/``until``: the CVAT versions that document it; an operation whose body changed
    lists one ``Body`` per period (the first present one applies)."""

    serializer: type[Serializer] | None = None
    partial: bool = False
    media_types: tuple[str, ...] = ("application/json",)
    required: bool = True
    schema: Mapping[str, Any] | None = None  # a literal schema instead of a serializer
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class Reply:
    """One documented response of an operation (``since``/``until`` as for ``Body``)."""

    serializer: type[Serializer] | None = None
    description: str = ""
    media_types: tuple[str, ...] = ("application/vnd.cvat+json",)
    schema: Mapping[str, Any] | None = None  # a literal schema instead of a serializer
    many: bool = False  # a JSON array of the serializer (not paginated)
    since: str | None = None
    until: str | None = None


def versioned(param: dict[str, Any], *, since: str | None = None,
              until: str | None = None) -> dict[str, Any]:
    """A parameter the CVAT versions from ``since`` to before ``until`` document (within the
    bounds it already has)."""
    out = dict(param)
    if since and (not out.get("since") or parse_version(since) > parse_version(out["since"])):
        out["since"] = since
    if until and (not out.get("until") or parse_version(until) < parse_version(out["until"])):
        out["until"] = until
    return out


def _present(item: Any) -> bool:
    if isinstance(item, Mapping):
        since, until = item.get("since"), item.get("until")
    else:
        since, until = item.since, item.until
    return compat.current().has(since, until)


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
    body: Body | tuple[Body, ...] | None = None  # several: one per period of CVAT versions
    responses: dict[int, Reply | tuple[Reply, ...]] = field(default_factory=dict)
    public: bool = False  # anonymous callers allowed
    schema_public: bool | None = None  # the schema's "{}" security item; default: public
    negotiate: bool = True  # DRF content negotiation (406 for Accept: application/json)
    # which authenticators the view runs: all of CVAT's, none, or only access tokens
    authenticate: bool | str = True
    access_tokens: bool = True  # False: a view that refuses access tokens (password change)
    since: str | None = None  # first CVAT version that has the operation
    until: str | None = None  # first CVAT version that no longer has it
    in_schema: bool = True  # False: served but undocumented, as CVAT's TUS PATCH/HEAD routes
    deprecated: bool = False

    @property
    def schema_path(self) -> str:
        """The path as OpenAPI writes it (no Starlette converters)."""
        return _strip_converters(self.path)

    # --- what the emulated version (``compat.current()``) documents ---------------------
    def current_parameters(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in p.items() if k not in ("since", "until")}
                for p in self.parameters if _present(p)]

    def current_body(self) -> Body | None:
        bodies = self.body if isinstance(self.body, tuple) else (self.body,)
        return next((b for b in bodies if b is not None and _present(b)), None)

    def current_responses(self) -> dict[int, Reply]:
        out = {}
        for status, replies in sorted(self.responses.items()):
            options = replies if isinstance(replies, tuple) else (replies,)
            reply = next((r for r in options if _present(r)), None)
            if reply is not None:
                out[status] = reply
        return out

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

    # --- background jobs act as the request that queued them, in whichever process ---------
    SECRET_HEADERS = frozenset({b"authorization", b"cookie", b"x-csrftoken"})

    def freeze(self) -> dict[str, Any]:
        """This request as JSON: enough for ``thaw`` to rebuild it in another process (URL,
        host headers, caller, request id); credentials are left out."""
        from mockcvat.events import request_id

        scope = self.request.scope
        identity = self.identity
        return {
            "method": scope.get("method", "GET"), "path": scope.get("path", "/"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")]
                        for k, v in scope.get("headers", [])
                        if k.lower() not in self.SECRET_HEADERS],
            "scheme": scope.get("scheme", "http"),
            "server": list(scope.get("server") or ("127.0.0.1", 80)),
            "path_params": dict(scope.get("path_params") or {}),
            "request_id": request_id(self),
            "identity": None if identity is None else {
                "user_id": identity.user.id, "method": identity.method,
                "privilege": identity.privilege, "access_token_id": identity.access_token_id,
                "read_only": identity.read_only},
        }

    @classmethod
    def thaw(cls, mock: MockCVAT, frozen: dict[str, Any]) -> Context:
        from mockcvat.auth import Identity
        from mockcvat.models import User

        scope = {
            "type": "http", "method": frozen["method"], "path": frozen["path"],
            "raw_path": frozen["path"].encode(), "root_path": "",
            "query_string": frozen["query"].encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in frozen["headers"]],
            "scheme": frozen["scheme"], "server": tuple(frozen["server"]),
            "path_params": frozen["path_params"], "http_version": "1.1",
        }
        request = Request(scope)
        request.state.mockcvat_request_id = frozen["request_id"]
        identity = None
        if frozen["identity"] is not None:
            with mock.db.session() as db:
                user = db.get(User, frozen["identity"]["user_id"])
            if user is not None:
                values = dict(frozen["identity"])
                del values["user_id"]
                identity = Identity(user, **values)
        return cls(request, mock, identity)


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
