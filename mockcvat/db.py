"""The store: one engine per server, transactions, and snapshot/restore for fast resets.

SQLite (the default) runs on a single connection guarded by a lock, so request handlers and
background workers never interleave half-finished transactions, and a reset can copy a
snapshot over the live database with SQLite's backup API in about a millisecond. Other
SQLAlchemy URLs work too; their reset drops and re-creates the tables instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import mockcvat.models  # noqa: F401  (registers the tables on SQLModel.metadata)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.lock = threading.RLock()
        self.engine = self._create_engine(url)
        self._snapshot: sqlite3.Connection | None = None
        self._reseed: Callable[[], None] | None = None
        SQLModel.metadata.create_all(self.engine)

    def _create_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            return create_engine(url)
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _: Any) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # CVAT runs on PostgreSQL, where LIKE is case-sensitive; make SQLite agree
            cursor.execute("PRAGMA case_sensitive_like=ON")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()

        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.lock:
            session = Session(self.engine, expire_on_commit=False)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    # --- snapshot / reset --------------------------------------------------------
    def take_snapshot(self, reseed: Callable[[], None]) -> None:
        """Remember the current state as the one ``reset`` returns to."""
        self._reseed = reseed
        if not self.is_sqlite:
            return
        with self.lock:
            snapshot = sqlite3.connect(":memory:", check_same_thread=False)
            self._raw_backup(source=None, target=snapshot)
            self._snapshot = snapshot

    def reset(self) -> None:
        with self.lock:
            if self._snapshot is not None:
                self._raw_backup(source=self._snapshot, target=None)
                return
            SQLModel.metadata.drop_all(self.engine)
            SQLModel.metadata.create_all(self.engine)
            if self._reseed:
                self._reseed()

    def _raw_backup(
        self, *, source: sqlite3.Connection | None, target: sqlite3.Connection | None
    ) -> None:
        raw = self.engine.raw_connection()
        try:
            live = raw.driver_connection
            assert isinstance(live, sqlite3.Connection)
            live.commit()
            (source or live).backup(target or live)
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._snapshot is not None:
            self._snapshot.close()
