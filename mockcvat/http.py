"""HTTP helpers shared by the routes: CVAT's JSON response, content negotiation, body parsing
and absolute URLs."""

from __future__ import annotations

import json
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

from mockcvat.errors import NotAcceptable, ParseError, UnsupportedMediaType

CVAT_JSON = "application/vnd.cvat+json"
API_VERSION = "2.0"


def dumps(content: Any) -> bytes:
    # DRF's JSONRenderer: compact separators, UTF-8, non-ASCII kept as is
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class CvatJSONResponse(Response):
    """A JSON body under CVAT's media type (CVAT's only JSON renderer; no charset)."""

    media_type = CVAT_JSON

    def render(self, content: Any) -> bytes:
        return dumps(content)


class PlainResponse(Response):
    """CVAT's plain Django responses (``HttpResponseBadRequest``, ``HttpResponseNotFound``)."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text, status_code=status, media_type="text/html; charset=utf-8")


class PkConvertor(Convertor[str]):
    """A DRF router lookup (``[^/.]+``): ``/api/users/abc`` reaches the view and gets a JSON
    404, as in CVAT, instead of missing the route."""

    regex = "[^/.]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("pk", PkConvertor())


def negotiate(request: Request) -> None:
    """DRF content negotiation against CVAT's renderers, before authentication.

    Only ``application/vnd.cvat+json`` (and wildcards, and ``text/html`` for the browsable
    API) can be served; ``Accept: application/json`` is a 406 in CVAT. The ``version``
    parameter is checked the way CVAT's settings make DRF check it: a substring of ``2.0``.
    """
    accept = request.headers.get("accept")
    if not accept:
        return
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if media in ("*/*", "application/*", CVAT_JSON, "text/html"):
            for param in params:
                key, _, value = param.partition("=")
                if key.strip() == "version" and value.strip() not in API_VERSION:
                    raise NotAcceptable('Invalid version in "Accept" header.')
            return
    raise NotAcceptable()


async def read_json(request: Request) -> Any:
    """Parse a request body the way DRF's JSONParser does (CVAT's only parser).

    An empty body is an empty mapping: raw SDK calls send ``Content-Type: application/json``
    with no body on POSTs that take no input.
    """
    raw = await request.body()
    if not raw:
        return {}
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(content_type)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"JSON parse error - {exc}") from None


def origin(request: Request) -> str:
    """``scheme://host`` as Django sees it behind CVAT's proxy settings
    (``SECURE_PROXY_SSL_HEADER``, ``USE_X_FORWARDED_HOST``)."""
    scheme = "https" if request.headers.get("x-forwarded-proto") == "https" else request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or (
        f"{request.url.hostname}:{request.url.port}"
    )
    return f"{scheme}://{host.split(',')[0].strip()}"


def absolute_url(request: Request, path: str | None = None) -> str:
    """Django's ``build_absolute_uri``: this request's URL, or ``path`` on this host."""
    if path is None:
        query = request.url.query
        return origin(request) + request.url.path + (f"?{query}" if query else "")
    return origin(request) + path
