"""The request journal: what every request to the fake CVAT asked and got, for verification.

``mockcvat.middleware`` records one ``Entry`` per request *before* the last byte of the answer
leaves, so a client that has its answer always finds the request in the journal. The journal is
a ring buffer (``Settings.journal_size``, default 5,000 entries: the oldest go first); a reset
clears it. Entries are captured cheaply (raw bytes, at most ``BODY_LIMIT`` of each body) and
rendered as JSON-ready dicts when read:

=================  ==========================================================================
``id``             sequence number, from 1, never reused (a ``clear`` does not restart it)
``time``           arrival, ISO 8601 UTC
``method``         ``GET``, ``POST``, ...
``path``           ``/api/tasks/1``
``query``          the raw query string (a ``sign=`` value is redacted)
``operation_id``   CVAT's operationId (``tasks_retrieve``), None for unknown paths
``status``         the status sent (0: the connection was reset by a fault)
``duration_ms``    from arrival to the answer's last byte being handed to the server
``user``           the authenticated username, None for anonymous or failed authentication
``org``            the ``X-Organization`` header, else the ``org`` parameter (``""`` is the
                   personal workspace), else None; ``org_id``: the ``org_id`` parameter
``request_headers``  lower-case names; ``Authorization`` keeps only its scheme, cookie values
                   and ``X-CSRFToken`` are ``***``
``request_body``   JSON parsed (``password*`` fields ``***``); multipart as
                   ``{"fields": {name: value}, "files": [{"field", "filename", "size"}]}``;
                   a form as a dict; else ``None`` (empty) or ``"<N bytes of TYPE>"``
``response_body``  JSON parsed; else ``"<N bytes of TYPE>"``; bodies larger than
                   ``BODY_LIMIT`` appear as ``{"truncated": text, "size": N}``
``response_size``  bytes of the answer's body
``fault``          the id of the fault rule that answered (``mockcvat.faults``), else None
=================  ==========================================================================

``Journal.find``/``count``/``assert_called`` select entries by operationId, method, path
pattern, status, user, organization, body or any predicate; a failed ``assert_called`` lists
the closest entries and how each one differs, as WireMock's near misses do.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

BODY_LIMIT = 8192  # bytes of each request and response body kept per entry
REDACTED = "***"
SECRET_HEADERS = frozenset({"cookie", "x-csrftoken", "proxy-authorization"})
_SECRET_FIELD = re.compile(r"password|secret", re.IGNORECASE)


# --- capturing ---------------------------------------------------------------------------------
class _MultipartSummary:
    """Field names and values, file names and sizes, from a multipart stream of any size."""

    def __init__(self, boundary: bytes) -> None:
        self.fields: dict[str, str] = {}
        self.files: list[dict[str, Any]] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._size = 0
        self._value = bytearray()
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._name,
            "on_header_value": self._value_part, "on_header_end": self._header_end,
            "on_part_data": self._data, "on_part_end": self._end})

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except Exception:  # a malformed body: the server answers it; keep what was read
            self.feed = lambda chunk: None  # type: ignore[method-assign]

    def _begin(self) -> None:
        self._disposition, self._size, self._value = b"", 0, bytearray()

    def _name(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if len(self._value) < BODY_LIMIT:
            self._value += data[start:min(end, start + BODY_LIMIT - len(self._value))]

    def _end(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self.files.append({"field": name, "size": self._size,
                               "filename": options[b"filename"].decode("utf-8", "replace")})
        else:
            self.fields[name] = _redact_field(name, bytes(self._value).decode("utf-8", "replace"))


class BodyCapture:
    """The first ``BODY_LIMIT`` bytes of a body and its size (multipart: a summary)."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.head = bytearray()
        self.size = 0
        self.multipart: _MultipartSummary | None = None
        mime, options = parse_options_header(content_type)
        if mime == b"multipart/form-data" and options.get(b"boundary"):
            self.multipart = _MultipartSummary(options[b"boundary"])

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if len(self.head) < BODY_LIMIT:
            self.head += chunk[:BODY_LIMIT - len(self.head)]
        if self.multipart is not None:
            self.multipart.feed(chunk)

    def render(self, *, redact: bool) -> Any:
        if self.multipart is not None:
            return {"fields": self.multipart.fields, "files": self.multipart.files}
        if not self.size:
            return None
        mime = self.content_type.split(";", 1)[0].strip().lower()
        text_like = mime.endswith("json") or mime.startswith("text/") or not mime
        if self.size > BODY_LIMIT:
            if text_like:
                return {"truncated": self.head.decode("utf-8", "replace"), "size": self.size}
            return f"<{self.size} bytes of {mime or 'unknown type'}>"
        if mime.endswith("json") or (not mime and self.head[:1] in (b"{", b"[")):
            try:
                body = json.loads(bytes(self.head))
            except ValueError:
                return self.head.decode("utf-8", "replace")
            return _redact_json(body) if redact else body
        if mime == "application/x-www-form-urlencoded":
            pairs = parse_qsl(self.head.decode("latin-1"), keep_blank_values=True)
            return {name: _redact_field(name, value) for name, value in pairs}
        if mime.startswith("text/"):
            return self.head.decode("utf-8", "replace")
        return f"<{self.size} bytes of {mime or 'unknown type'}>"


def _redact_field(name: str, value: Any) -> Any:
    return REDACTED if _SECRET_FIELD.search(name) else value


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and _SECRET_FIELD.search(k)
                else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "authorization":
            scheme = value.split(" ", 1)[0]
            value = f"{scheme} {REDACTED}" if " " in value else REDACTED
        elif name == "cookie":
            value = "; ".join(f"{part.split('=', 1)[0].strip()}={REDACTED}"
                              for part in value.split(";") if part.strip())
        elif name in SECRET_HEADERS:
            value = REDACTED
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def redact_query(query: str) -> str:
    return re.sub(r"(^|&)(sign=)[^&]*", rf"\1\2{REDACTED}", query)


# --- entries -----------------------------------------------------------------------------------
@dataclass(eq=False)
class Entry:
    """One request, as captured (see the module docstring for the rendered fields)."""

    id: int
    started: float  # time.time() at arrival
    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    request: BodyCapture
    response: BodyCapture | None = None
    status: int = 0
    duration_ms: float = 0.0
    operation_id: str | None = None
    user: str | None = None
    fault: int | None = None
    _rendered: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        if self._rendered is None:
            headers = redact_headers(self.headers)
            params = parse_qs(self.query, keep_blank_values=True)
            org = headers.get("x-organization")
            if org is None and "org" in params:
                org = params["org"][0]
            org_id = params.get("org_id", [None])[0]
            self._rendered = {
                "id": self.id,
                "time": dt.datetime.fromtimestamp(self.started, dt.UTC).isoformat(
                    timespec="milliseconds").replace("+00:00", "Z"),
                "method": self.method, "path": self.path, "query": redact_query(self.query),
                "operation_id": self.operation_id, "status": self.status,
                "duration_ms": self.duration_ms, "user": self.user, "org": org,
                "org_id": org_id, "request_headers": headers,
                "request_body": self.request.render(redact=True),
                "response_body": (self.response.render(redact=False)
                                  if self.response is not None else None),
                "response_size": self.response.size if self.response is not None else 0,
                "fault": self.fault,
            }
        return self._rendered


# --- selecting -----------------------------------------------------------------------------------
def path_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """A path pattern: ``{name}`` and ``*`` match one path segment, ``**`` any run of them; or
    a compiled regular expression (matched against the whole path)."""
    if isinstance(pattern, re.Pattern):
        return pattern
    out = []
    for token in re.split(r"(\*\*|\*|\{[^}/]*\})", pattern):
        if token == "**":
            out.append(".*")
        elif token == "*" or (token.startswith("{") and token.endswith("}")):
            out.append("[^/]+" if token != "*" else "[^/]*")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))


def status_matches(expected: Any, status: int) -> bool:
    if isinstance(expected, str):  # "4xx"
        return len(expected) == 3 and str(status)[0] == expected[0] and expected[1:] == "xx"
    if isinstance(expected, int):
        return status == expected
    return status in expected


def body_matches(expected: Any, actual: Any) -> str | None:
    """None if ``actual`` contains ``expected`` (dicts: a subset, recursively; lists: the same
    length, item by item; a callable: its verdict); else where they differ."""
    if callable(expected):
        return None if expected(actual) else "the body predicate is false"
    return _differs(expected, actual, "body")


def _differs(expected: Any, actual: Any, where: str) -> str | None:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{where} is {_short(actual)}, not an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key} is missing"
            found = _differs(value, actual[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{where} has {len(actual)} items, not {len(expected)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = _differs(want, got, f"{where}[{index}]")
            if found:
                return found
        return None
    if expected != actual:
        return f"{where} is {_short(actual)}, not {_short(expected)}"
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Criteria:
    """What ``Journal.find`` and ``assert_called`` select on (None: anything)."""

    operation_id: str | None = None
    method: str | None = None
    path: str | re.Pattern[str] | None = None
    status: int | str | Iterable[int] | None = None
    user: str | None = None
    org: str | None = None
    with_body: Any = None
    where: Callable[[dict[str, Any]], bool] | None = None
    since: int | None = None  # entries with an id >= this (see Journal.mark)

    def __post_init__(self) -> None:
        self._path = path_pattern(self.path) if self.path is not None else None
        if self.status is not None and not isinstance(self.status, int | str):
            self.status = frozenset(self.status)

    def differences(self, entry: dict[str, Any]) -> list[str]:
        """How an entry differs from these criteria (empty: it matches)."""
        out = []
        if self.since is not None and entry["id"] < self.since:
            out.append(f"recorded before #{self.since}")
        if self.operation_id is not None and entry["operation_id"] != self.operation_id:
            out.append(f"operation is {entry['operation_id']}")
        if self.method is not None and entry["method"] != self.method.upper():
            out.append(f"method is {entry['method']}")
        if self._path is not None and not self._path.fullmatch(entry["path"]):
            out.append(f"path is {entry['path']}")
        if self.status is not None and not status_matches(self.status, entry["status"]):
            out.append(f"status is {entry['status']}")
        if self.user is not None and entry["user"] != self.user:
            out.append(f"user is {entry['user']}")
        if self.org is not None and entry["org"] != self.org:
            out.append(f"org is {entry['org']!r}")
        if self.with_body is not None:
            found = body_matches(self.with_body, entry["request_body"])
            if found:
                out.append(found)
        if self.where is not None and not self.where(entry):
            out.append("the predicate is false")
        return out

    def describe(self) -> str:
        parts = [self.operation_id or ""]
        if self.method or self.path:
            parts.append(" ".join(str(p) for p in (self.method, self.path) if p))
        for name in ("status", "user", "org"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}" if not isinstance(value, frozenset)
                             else f"{name} in {sorted(value)}")
        if self.with_body is not None:
            parts.append("with body " + ("matching a predicate" if callable(self.with_body)
                                         else _short(self.with_body, 200)))
        if self.where is not None:
            parts.append("matching the predicate")
        return " ".join(p for p in parts if p) or "any request"


# --- the journal ---------------------------------------------------------------------------------
class Journal:
    """A bounded, thread-safe record of requests (one per ``MockCVAT``: ``mock.journal``).

    Iterating (or indexing) gives entries as dicts, oldest first."""

    def __init__(self, size: int = 5000, *, enabled: bool = True) -> None:
        self.size = size
        self.enabled = enabled
        self._entries: deque[Entry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._next = 1

    # --- recording (the middleware) --------------------------------------------------------
    def new_id(self) -> int:
        with self._lock:
            value, self._next = self._next, self._next + 1
            return value

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every entry (ids go on counting)."""
        with self._lock:
            self._entries.clear()

    def mark(self) -> int:
        """The id the next request will get: ``find(since=journal.mark())`` later selects only
        what came after this call."""
        with self._lock:
            return self._next

    # --- reading ----------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            captured = list(self._entries)
        return [entry.as_dict() for entry in captured]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        with self._lock:
            entry = self._entries[index]
        return entry.as_dict()

    def find(self, operation_id: str | None = None, **criteria: Any) -> list[dict[str, Any]]:
        """Entries matching every criterion given: ``operation_id``, ``method``, ``path`` (a
        pattern: ``/api/tasks/{id}``, ``/api/tasks/*``, ``/api/**`` or a compiled regex),
        ``status`` (``404``, ``"4xx"`` or a collection), ``user``, ``org``, ``with_body`` (a
        dict the JSON body contains, or a predicate on the body), ``where`` (a predicate on
        the entry), ``since`` (an id from ``mark()``)."""
        wanted = Criteria(operation_id, **criteria)
        return [entry for entry in self.entries() if not wanted.differences(entry)]

    def count(self, operation_id: str | None = None, **criteria: Any) -> int:
        return len(self.find(operation_id, **criteria))

    def last(self, operation_id: str | None = None, **criteria: Any) -> dict[str, Any] | None:
        found = self.find(operation_id, **criteria)
        return found[-1] if found else None

    # --- verifying --------------------------------------------------------------------------
    def verify(self, operation_id: str | None = None, *, times: int | None = None,
               at_least: int | None = None, **criteria: Any) -> tuple[list[dict[str, Any]],
                                                                      str | None]:
        """(matching entries, None) if the expectation holds, else (matches, the message)."""
        wanted = Criteria(operation_id, **criteria)
        everything = self.entries()
        scored = [(wanted.differences(entry), entry) for entry in everything]
        found = [entry for differences, entry in scored if not differences]
        if times is None and at_least is None:
            at_least = 1
        if (times is None or len(found) == times) and (at_least is None or
                                                       len(found) >= at_least):
            return found, None
        expected = (f"exactly {times} time{'s' * (times != 1)}" if times is not None
                    else f"at least {at_least} time{'s' * (at_least != 1)}")
        lines = [f"Expected {wanted.describe()} to be called {expected}; it was called "
                 f"{len(found)} time{'s' * (len(found) != 1)} "
                 f"(of {len(everything)} recorded request{'s' * (len(everything) != 1)})."]
        if found and times is not None and len(found) > times:
            lines.append("Matching requests:")
            lines += [f"  {_line(entry)}" for entry in found[:10]]
        near = sorted((pair for pair in scored if pair[0]),
                      key=lambda pair: (len(pair[0]), -pair[1]["id"]))[:5]
        if near:
            lines.append("Closest requests:")
            lines += [f"  {_line(entry)}: {'; '.join(differences)}"
                      for differences, entry in near]
        elif not everything:
            lines.append("The journal is empty" + ("" if self.enabled else
                                                    " (recording is off)") + ".")
        return found, "\n".join(lines)

    def assert_called(self, operation_id: str | None = None, *, times: int | None = None,
                      at_least: int | None = None, **criteria: Any) -> list[dict[str, Any]]:
        """Assert that matching requests were made (``times``: exactly; ``at_least``; neither:
        at least once); returns them. On failure, the message shows the closest entries."""
        found, message = self.verify(operation_id, times=times, at_least=at_least, **criteria)
        if message is not None:
            raise AssertionError(message)
        return found

    def assert_not_called(self, operation_id: str | None = None, **criteria: Any) -> None:
        self.assert_called(operation_id, times=0, **criteria)


def _line(entry: dict[str, Any]) -> str:
    query = f"?{entry['query']}" if entry["query"] else ""
    who = f" user={entry['user']}" if entry["user"] else ""
    return (f"#{entry['id']} {entry['method']} {entry['path']}{query} -> {entry['status']} "
            f"[{entry['operation_id'] or 'no operation'}]{who}")
