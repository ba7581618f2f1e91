"""The processes sharing one state: who is alive, one at a time for start-up, and a message
channel between them.

On SQLite one process owns the state, and ``LocalPeers`` answers for it. On PostgreSQL
(``SharedPeers``) each process holds a dedicated connection for its lifetime that

* holds a session-level advisory lock ``(NAMESPACE, key)``: a process is alive exactly as long
  as its lock is held, which PostgreSQL releases itself when the process dies (a kill -9
  closes the socket), so no heartbeat or timeout decides that a process is gone;
* LISTENs on the ``mockcvat`` channel: another process's NOTIFY (new queued work, a reset)
  reaches every process once the transaction that sent it commits.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from mockcvat.db import Database

log = logging.getLogger("mockcvat.cluster")

NAMESPACE = 0x6D63  # "mc": the first half of mockcvat's advisory lock keys
STARTUP = 0  # the key of the start-up lock (process keys are 1..2**31-1)
CHANNEL = "mockcvat"

Listener = Callable[[dict[str, Any]], None]


class LocalPeers:
    """One process: itself."""

    def __init__(self) -> None:
        # a new key per process: rows an earlier process claimed are told apart from ours
        self.key = secrets.randbelow(2**31 - 2) + 1
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._lock:
            yield

    def live(self) -> set[int]:
        return {self.key}

    def others(self) -> set[int]:
        return set()

    def listen(self, listener: Listener) -> None:
        """``listener(message)`` for messages from *other* processes (there are none)."""
        self._listeners.append(listener)

    def notify(self, kind: str, connection: Connection | None = None, **values: Any) -> None:
        return None

    def close(self) -> None:
        return None


class SharedPeers(LocalPeers):
    """Processes sharing a PostgreSQL database (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        import psycopg

        super().__init__()
        self.db = db
        url = db.engine.url.set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        # the name shows which process holds which key (pg_stat_activity joined to pg_locks)
        self._conn = psycopg.connect(self._dsn, autocommit=True,
                                     application_name=f"mockcvat pid {os.getpid()}")
        while True:  # a key no live process holds
            key = secrets.randbelow(2**31 - 2) + 1
            if self._conn.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)",
                                  (NAMESPACE, key)).fetchone()[0]:
                break
        self.key = key
        self._conn.execute(f"LISTEN {CHANNEL}")
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True,
                                        name=f"mockcvat-peers-{key}")
        self._thread.start()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One process at a time, across all of them (start-up: migrate, seed, recover)."""
        keys = {"ns": NAMESPACE, "key": STARTUP}
        with self._lock, self.db.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(CAST(:ns AS int), :key)"), keys)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(CAST(:ns AS int), :key)"),
                                   keys)
                connection.commit()

    def live(self) -> set[int]:
        with self.db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :ns AND objsubid = 2 AND objid <> :startup "
                # advisory locks are per database, pg_locks shows the whole server's
                "AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())"),
                {"ns": NAMESPACE, "startup": STARTUP}).scalars()
            return {int(row) for row in rows}

    def others(self) -> set[int]:
        return self.live() - {self.key}

    def notify(self, kind: str, connection: Connection | None = None, **values: Any) -> None:
        """Tell the other processes; inside ``connection``'s transaction, if given (sent when
        it commits, nothing if it rolls back)."""
        payload = json.dumps({"kind": kind, "from": self.key, **values})
        statement = text("SELECT pg_notify(:channel, :payload)")
        params = {"channel": CHANNEL, "payload": payload}
        if connection is not None:
            connection.execute(statement, params)
            return
        with self.db.engine.connect() as own:
            own.execute(statement, params)
            own.commit()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                for note in self._conn.notifies(timeout=0.5):
                    message = json.loads(note.payload)
                    if message.get("from") == self.key:
                        continue
                    for listener in list(self._listeners):
                        try:
                            listener(message)
                        except Exception:
                            log.exception("peer message %s", message)
            except Exception:
                if self._closed.is_set():
                    return
                log.exception("the peers connection failed")
                self._closed.wait(0.5)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=2)
        try:
            self._conn.close()  # releases this process's lock: it is no longer alive
        except Exception:
            log.debug("closing the peers connection", exc_info=True)


def peers_for(db: Database) -> LocalPeers:
    return SharedPeers(db) if db.shared else LocalPeers()
