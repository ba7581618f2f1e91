"""Answers of the hot read operations, kept until the database next changes.

A contract-test suite reads the same few resources again and again between writes (the SDK
fetches a task after each step, lists jobs, re-reads the current user). Building those answers
is most of a read's cost: SQL statements, one query per related table, the serializer. The
answer of a read depends only on the rows it reads and on what the request says, so it is kept
under a key made of both:

* the database's *generation* (``Database.generation``: SQLite's change counter and an epoch
  bumped by resets and rollbacks) — any row change, committed or not, by a request, a
  background worker or a reset, makes every entry unreachable. Correct by construction: no
  write path has to remember to invalidate anything. A database that cannot tell (another
  SQL server, one other processes write) has no generation, and nothing is kept;
* what the handler can read from the request: operation, path, query string, the caller
  (user, how authenticated), the organization header, and the headers absolute URLs are made
  from (``Host``, ``X-Forwarded-Host``, ``X-Forwarded-Proto``) and the scheme.

Only the operations of ``CACHED`` are kept: their answers come from the rows alone, never from
the clock, files or in-memory state (background-request holds, registered functions, the
journal). Only ``200`` JSON answers are kept, and only when the handler wrote nothing
(the generation before equals the one after): a read that changes state (a quality setting
made on first use, a legacy export) is recomputed every time.

``MockCVAT.read_cache.enabled = False`` turns it off; ``tests/test_readcache.py`` compares
cached and uncached answers over random interleavings of writes and reads.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

    from mockcvat.auth import Identity
    from mockcvat.db import Database

# operationId -> query parameters that make the answer something else than a plain read
# (the legacy export/import actions on the annotation endpoints): not kept when present
CACHED: dict[str, frozenset[str]] = {
    **{op: frozenset() for op in (
        "users_retrieve_self", "users_list", "users_retrieve",
        "tasks_list", "tasks_retrieve", "jobs_list", "jobs_retrieve",
        "projects_list", "projects_retrieve", "labels_list", "labels_retrieve",
        # the same for every caller of a server (its version, the request's host)
        "server_retrieve_about", "server_retrieve_annotation_formats",
    )},
    **{op: frozenset({"format", "action", "rq_id", "filename", "location",
                      "cloud_storage_id", "use_default_location"})
       for op in ("jobs_retrieve_annotations", "tasks_retrieve_annotations")},
}

MAX_BYTES = 64 << 20  # the answers kept at once; bigger ones are rebuilt each time

_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-organization")


class ReadCache:
    """Rendered answers (status 200, JSON bytes) of the ``CACHED`` operations.

    It holds answers of one generation only: the first answer kept after a change drops the
    others (unreachable already), so memory stays within ``MAX_BYTES``. Used from the event
    loop's thread only (handlers run there; background workers never read it)."""

    def __init__(self, db: Database, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.db = db
        self._generation: Any = None
        self._entries: dict[Hashable, bytes] = {}
        self._bytes = 0
        self.hits = self.misses = 0

    def key(self, operation_id: str, request: Request, identity: Identity | None
            ) -> Hashable | None:
        """The key of this request's answer, or ``None`` when it is not to be kept."""
        if not self.enabled:
            return None
        skip = CACHED.get(operation_id)
        if skip is None:
            return None
        scope = request.scope
        query = scope.get("query_string", b"")
        if skip and query and not skip.isdisjoint(request.query_params):
            return None
        wanted = dict.fromkeys(_HEADERS)
        for name, value in scope.get("headers", ()):
            if name in wanted and wanted[name] is None:  # the first, as Starlette reads them
                wanted[name] = value
        who = None if identity is None else (identity.user.id, identity.method,
                                             identity.access_token_id)
        return (operation_id, scope.get("scheme"), scope["path"], query, who,
                *wanted.values())

    def generation(self) -> Any:
        return self.db.generation()

    def get(self, key: Hashable) -> bytes | None:
        body = self._entries.get(key)
        if body is not None and self._generation != self.db.generation():
            body = None
        if body is None:
            self.misses += 1
        else:
            self.hits += 1
        return body

    def put(self, key: Hashable, body: bytes, before: Any) -> None:
        """Keep ``body``, computed from the state of generation ``before``, if the database
        has not changed since (a write meanwhile, even the handler's own, voids it)."""
        if before is None or before != self.db.generation() or len(body) > MAX_BYTES:
            return
        if before != self._generation or self._bytes + len(body) > MAX_BYTES:
            self.clear()
            self._generation = before
        self._entries[key] = body
        self._bytes += len(body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
