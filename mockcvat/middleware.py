"""The one ASGI middleware: the request journal, the access log, and HTTP-level fault and
latency injection.

Every request passes through here before routing. The journal entry and the access-log line
are written just *before* the last message of the answer is handed to the server, so a client
that has its answer finds its request in the journal. Fault rules (``mockcvat.faults``) are
picked before the operation runs; the control plane (``/_mockcvat``) is never faulted,
journaled or logged above debug level.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockcvat.journal import BodyCapture, Entry, redact_query

if TYPE_CHECKING:
    from mockcvat.faults import Fault
    from mockcvat.server import MockCVAT

access_log = logging.getLogger("mockcvat.access")

CONTROL_PREFIX = "/_mockcvat"
# what the endpoint wrapper (mockcvat.api.endpoint) leaves in scope["state"]
USER_KEY = "mockcvat.user"
OPERATION_KEY = "mockcvat.operation_id"


class _Stop(Exception):
    """Ends the application's answer early (a truncated body)."""


class JournalMiddleware:
    def __init__(self, app: ASGIApp, mock: MockCVAT) -> None:
        self.app = app
        self.mock = mock
        self._operations: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mock = self.mock
        control = scope["path"] == CONTROL_PREFIX or scope["path"].startswith(
            CONTROL_PREFIX + "/")
        journal = mock.journal.enabled and not control
        log = access_log.isEnabledFor(logging.DEBUG if control else logging.INFO)
        fault = None if control or not mock.faults else self._pick(scope)
        if not (journal or log or fault):
            await self.app(scope, receive, send)
            return

        started, clock = time.time(), time.perf_counter()
        state = scope.setdefault("state", {})
        headers = scope.get("headers", [])
        entry = Entry(id=mock.journal.new_id() if journal else 0, started=started,
                      method=scope["method"], path=scope["path"],
                      query=scope.get("query_string", b"").decode("latin-1"),
                      headers=list(headers), request=BodyCapture(_header(headers, b"content-type")),
                      fault=fault.id if fault else None)

        async def capturing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                entry.request.feed(message.get("body", b""))
            return message

        def finish(status: int) -> None:
            entry.status = status
            entry.duration_ms = round((time.perf_counter() - clock) * 1000, 3)
            entry.operation_id = state.get(OPERATION_KEY) or entry.operation_id
            entry.user = state.get(USER_KEY)
            if journal:
                mock.journal.record(entry)
            if log:
                _log_access(entry, control)

        if fault is not None:
            entry.operation_id = state.get(OPERATION_KEY) or self._operation_of(scope)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                await _drain(capturing_receive)
                await self._answer(fault, entry, send, finish)
                return
            if fault.reset:
                await _drain(capturing_receive)
                finish(0)
                await _abort(receive)
                return

        truncate = fault is not None and fault.truncate
        entry.response = BodyCapture("")
        response_started = False
        status = 500
        sent = 0
        cut: int | None = None

        async def capturing_send(message: Message) -> None:
            nonlocal response_started, status, sent, cut
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                entry.response = BodyCapture(_header(message.get("headers", []),
                                                     b"content-type"))
                if truncate:
                    length = _header(message.get("headers", []), b"content-length")
                    cut = int(length) // 2 if length.isdigit() else None
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            entry.response.feed(body)
            if truncate:
                if cut is None:
                    cut = len(body) // 2
                part = body[:max(cut - sent, 0)]
                sent += len(part)
                if sent >= cut or not message.get("more_body", False):
                    finish(status)
                    if part:
                        await send({"type": "http.response.body", "body": part,
                                    "more_body": True})
                    await _abort(receive)
                    raise _Stop()
                await send({"type": "http.response.body", "body": part, "more_body": True})
                return
            if not message.get("more_body", False):
                finish(status)
            await send(message)

        try:
            await self.app(scope, capturing_receive if journal else receive, capturing_send)
        except _Stop:
            return
        except BaseException:
            if not response_started:  # the server will answer 500
                finish(500)
            raise

    # --- faults ----------------------------------------------------------------------------
    def _pick(self, scope: Scope) -> Fault | None:
        faults = self.mock.faults
        operation_id = self._operation_of(scope) if faults.needs_operation else None
        if operation_id is not None:
            scope.setdefault("state", {})[OPERATION_KEY] = operation_id
        found: list[str | None] = []

        def user() -> str | None:
            if not found:
                found.append(self._user_of(scope))
            return found[0]

        return faults.pick(operation_id, scope["method"], scope["path"], user)

    def _operation_of(self, scope: Scope) -> str | None:
        """The operationId of the route the request goes to (cached per method and path)."""
        key = (scope["method"], scope["path"])
        if key in self._operations:
            self._operations.move_to_end(key)
            return self._operations[key]
        known = {op.operation_id for op in self.mock.operations}
        operation_id = None
        app = scope.get("app")
        for route in getattr(getattr(app, "router", None), "routes", []):
            if getattr(route, "name", None) in known and route.matches(scope)[0] == Match.FULL:
                operation_id = route.name
                break
        self._operations[key] = operation_id
        if len(self._operations) > 4096:
            self._operations.popitem(last=False)
        return operation_id

    def _user_of(self, scope: Scope) -> str | None:
        from starlette.requests import Request

        from mockcvat.auth import authenticate
        from mockcvat.errors import APIError

        try:
            identity = authenticate(self.mock, Request(scope))
        except APIError:
            return None
        return identity.user.username if identity is not None else None

    @staticmethod
    async def _answer(fault: Fault, entry: Entry, send: Send, finish: Any) -> None:
        body: Any = fault.body
        if body is None:
            from http import HTTPStatus

            try:
                phrase = HTTPStatus(fault.status or 500).phrase
            except ValueError:
                phrase = "Error"
            body = {"detail": f"{phrase} (a fault injected by mockcvat)"}
        if isinstance(body, bytes):
            content, media = body, "application/octet-stream"
        elif isinstance(body, str):
            content, media = body.encode(), "text/plain; charset=utf-8"
        else:
            content, media = json.dumps(body).encode(), "application/json"
        headers = {"content-type": media, **{k.lower(): v for k, v in fault.headers.items()}}
        headers["content-length"] = str(len(content))
        entry.response = BodyCapture(headers["content-type"])
        entry.response.feed(content)
        finish(fault.status or 500)
        await send({"type": "http.response.start", "status": fault.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": content})


def _header(headers: Any, name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _drain(receive: Receive) -> None:
    """Read the request body (so the client is not writing into a closed socket)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _abort(receive: Receive) -> None:
    """Close the connection at once, with a TCP RST where the socket can be reached (uvicorn:
    the transport of the request's cycle); else end the answer with an error."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("mockcvat fault: connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    await asyncio.sleep(0)  # let the server see the connection go before the app returns


def _log_access(entry: Entry, control: bool) -> None:
    level = logging.DEBUG if control else logging.INFO
    user = entry.user or "-"
    query = f"?{redact_query(entry.query)}" if entry.query else ""
    access_log.log(level, "%s %s%s %s %.1fms user=%s", entry.method, entry.path, query,
                   entry.status, entry.duration_ms, user,
                   extra={"method": entry.method, "path": entry.path,
                          "query": redact_query(entry.query),
                          "status": entry.status, "duration_ms": entry.duration_ms,
                          "user": entry.user, "operation_id": entry.operation_id,
                          "fault": entry.fault})
