"""HTTP helpers shared by the routes: CVAT's JSON response, content negotiation, body parsing
and absolute URLs."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from email.header import Header, decode_header, make_header
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

from mockcvat.errors import NotAcceptable, ParseError, UnsupportedMediaType

if TYPE_CHECKING:
    from mockcvat.storage import ByteStore

CVAT_JSON = "application/vnd.cvat+json"
API_VERSION = "2.0"


def dumps(content: Any) -> bytes:
    """DRF's JSONRenderer: compact separators, UTF-8, non-ASCII kept as is.

    orjson writes the same bytes as ``json.dumps`` (key order, escapes, integers, strings),
    several times faster, except for floats below 1e-4, which Python writes ``1e-05`` and orjson
    ``1e-5`` or ``0.00001``: an answer where such a number may appear is written again by
    ``json.dumps``. Whatever orjson refuses or would write differently (integers beyond 64
    bits, lone surrogates, non-string keys, datetimes, subclasses) goes to ``json.dumps`` too.
    (NaN and infinities never reach here: the input edge refuses them, ``http.parse_json``.)
    """
    try:
        out = orjson.dumps(content, option=_ORJSON_OPTIONS)
    except TypeError:
        return _stdlib_dumps(content)
    if _has_small_float(out):
        return _stdlib_dumps(content)
    return out


_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
                   | orjson.OPT_PASSTHROUGH_DATACLASS)
_DIGITS = frozenset(b"0123456789")


def _has_small_float(out: bytes) -> bool:
    """Whether orjson's output may hold a float below 1e-4, where Python's repr differs: an
    exponent of one digit (``1e-5``, ``2.5e-7``; Python writes ``1e-05``) or a plain
    ``0.0000…`` (Python: ``1e-05``). Strings may match too (then ``json.dumps`` writes the
    answer, the same bytes). ``bytes.find`` rather than a regular expression: this runs over
    every answer, megabytes for big annotations."""
    end = len(out)
    i = out.find(b"e-")
    while i != -1:  # <digit>e-<digit> and no digit after it
        if (0 < i and i + 2 < end and out[i - 1] in _DIGITS and out[i + 2] in _DIGITS
                and (i + 3 == end or out[i + 3] not in _DIGITS)):
            return True
        i = out.find(b"e-", i + 2)
    i = out.find(b"0.0000")
    while i != -1:  # not the end of a bigger number (10.00001)
        if i == 0 or (out[i - 1] not in _DIGITS and out[i - 1] != 0x2E):
            return True
        i = out.find(b"0.0000", i + 1)
    return False


def _stdlib_dumps(content: Any) -> bytes:
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate echoed from the input: escape it instead
        return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


class _Rendered(bytes):
    """A body already rendered (a cached answer)."""


class CvatJSONResponse(Response):
    """A JSON body under CVAT's media type (CVAT's only JSON renderer; no charset)."""

    media_type = CVAT_JSON

    def render(self, content: Any) -> bytes:
        return content if type(content) is _Rendered else dumps(content)

    @classmethod
    def of_bytes(cls, body: bytes) -> CvatJSONResponse:
        """A 200 answer whose JSON was rendered before."""
        return cls(_Rendered(body))


class PlainResponse(Response):
    """CVAT's plain Django responses (``HttpResponseBadRequest``, ``HttpResponseGone``, ...):
    text under Django's default content type."""

    def __init__(self, text: str, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(text, status_code=status, headers=headers,
                         media_type="text/html; charset=utf-8")


class PkConvertor(Convertor[str]):
    """A DRF router lookup (``[^/.]+``): ``/api/users/abc`` reaches the view and gets a JSON
    404, as in CVAT, instead of missing the route."""

    regex = "[^/.]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("pk", PkConvertor())


class FunctionIdConvertor(PkConvertor):
    """A lambda function id (``FunctionViewSet.lookup_value_regex``)."""

    regex = "[a-zA-Z0-9_.-]+"


register_url_convertor("funcid", FunctionIdConvertor())


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
    return parse_json(raw)


def _not_compliant(literal: str) -> float:
    # DRF's ``strict_constant``: the message its JSONParser wraps in "JSON parse error - "
    raise ValueError(f"Out of range float values are not JSON compliant: {literal!r}")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400: Python reads infinity; no SQL column or JSON holds it
        _not_compliant(literal)
    return value


def parse_json(raw: bytes | str) -> Any:
    """DRF's strict JSON parsing: ``NaN``/``Infinity`` refused (as DRF does) and so are number
    literals too large for a float, and nesting deeper than Python's parser can follow (CVAT
    answers those two with a 500; a stored infinity poisons every later read)."""
    try:
        return json.loads(raw, parse_constant=_not_compliant, parse_float=_finite)
    except RecursionError:
        raise ParseError("JSON parse error - the document is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"JSON parse error - {exc}") from None


def content_disposition(name: str) -> str:
    """The ``Content-Disposition`` of a download: CVAT's ``make_attachment_file_name`` (quotes
    and backslashes escaped, whitespace runs folded, control characters dropped), then
    django-sendfile2's header: an ASCII ``filename`` plus RFC 6266 ``filename*`` when the name
    is not ASCII."""
    name = name.replace("\\", "\\\\").replace('"', '\\"')
    name = re.sub(r"\s+", " ", "".join(ch for ch in name if ch.isprintable() or ch.isspace()))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name)}"
    return header


def header_value(value: str) -> str:
    """A response header value as Django sends it: as is when Latin-1 can carry it, else
    MIME-encoded (``=?utf-8?b?...?=``). Callers refuse CR/LF first (Django raises
    ``BadHeaderError`` on them)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return Header(value, "utf-8", maxlinelen=1 << 30).encode()
    return value


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


def decode_header_value(value: str) -> str:
    """The inverse of ``header_value``: RFC 2047 words decoded, anything else as it is."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def stored_file(store: ByteStore, key: str, *, media_type: str,
                headers: dict[str, str] | None = None,
                then: Callable[[], Any] | None = None) -> Response:
    """A download of an object of the media store: the file itself where the store is a
    directory, else streamed from the store in pieces with its length. ``then`` runs once the
    answer is sent (a served-once export removes its file)."""
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse, StreamingResponse

    after = BackgroundTask(then) if then is not None else None
    local = store.local_path(key)
    if local is not None:
        return FileResponse(local, media_type=media_type, headers=headers, background=after)
    size = store.head(key).size
    return StreamingResponse(store.iter_bytes(key), media_type=media_type, background=after,
                             headers={**(headers or {}), "Content-Length": str(size)})
