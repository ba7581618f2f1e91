"""The one ASGI middleware: the request journal (and the seam for fault/latency injection).

Every request passes through here before routing, so a later fault-injection feature (delay or
fail matching requests) belongs in ``JournalMiddleware.__call__`` too, next to the journal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from mockcvat.server import MockCVAT


class JournalMiddleware:
    def __init__(self, app: ASGIApp, mock: MockCVAT) -> None:
        self.app = app
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.mock.journal_enabled:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/_mockcvat/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.mock.record({
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                })

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the client can see the end of the answer
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            record()
