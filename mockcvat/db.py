"""The store: one engine per server, transactions, and snapshot/restore for fast resets.

SQLite (the default) runs on a single connection guarded by a lock, so request handlers and
background workers never interleave half-finished transactions, and a reset can copy a
snapshot over the live database with SQLite's backup API in about a millisecond. Other
SQLAlchemy URLs work too; their reset drops and re-creates the tables instead.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import mockcvat.models  # noqa: F401  (registers the tables on SQLModel.metadata)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.exclusive = True  # no other process writes this database (see generation())
        self.lock = threading.RLock()
        self.engine = self._create_engine(url)
        self._snapshot: sqlite3.Connection | None = None
        self._reseed: Callable[[], None] | None = None
        _never_reuse_ids()
        SQLModel.metadata.create_all(self.engine)
        self._epoch = 0  # bumped by reset: restores change data without counting as changes
        self._raw: sqlite3.Connection | None = None
        if self.is_sqlite:  # StaticPool: this is the one connection every session uses
            raw = self.engine.raw_connection()
            self._raw = raw.driver_connection
            raw.close()
        self.cache = GenerationCache(self)

    def _create_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            return create_engine(url)
        # the file's folder must exist (Settings.check): nothing is created outside the data dir
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool,
            json_deserializer=_json_loads,
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
                self._epoch += 1  # values cached inside the failed transaction are void
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A Core connection for read-only queries (cheaper than an ORM session)."""
        with self.lock, self.engine.connect() as connection:
            yield connection

    def generation(self) -> tuple[int, int] | None:
        """Changes when any row changes (SQLite's ``total_changes`` on the one connection,
        and an epoch bumped by resets and rollbacks); ``None`` when the database cannot tell,
        and then nothing is cached. ``total_changes`` sees only this process's writes: a
        database other processes write too must set ``exclusive = False`` (or bring its own
        generation)."""
        if self._raw is None or not self.exclusive:
            return None
        return (self._epoch, self._raw.total_changes)

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
            self._epoch += 1
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


def _json_loads(text: str) -> Any:
    """JSON columns as ``json.loads`` reads them, by orjson (reading thousands of shapes'
    points and attributes is a good part of an export). What orjson reads otherwise goes to
    ``json.loads``: integers of 19 digits or more (orjson makes floats of those beyond 64 bits;
    found by mapping digits to ``0``, in C) and what it refuses (``NaN``, lone surrogates)."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        return json.loads(text)
    if _NINETEEN_DIGITS not in raw.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


_DIGITS_AS_ZEROS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_NINETEEN_DIGITS = b"0" * 19


def _never_reuse_ids() -> None:
    """Integer primary keys come from a sequence that never goes back, as CVAT's PostgreSQL
    sequences: without AUTOINCREMENT, SQLite hands a deleted newest row's id to the next row,
    and whatever still names the old object (a download, a request) would name the new one.
    Tables created by an older mockcvat keep their old behaviour (SQLite cannot alter it)."""
    for table in SQLModel.metadata.tables.values():
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and keys[0].type.python_type is int:
            table.dialect_options["sqlite"]["autoincrement"] = True


class GenerationCache:
    """Values computed from the database, valid until the next change to any row.

    Exact by construction: an entry is served only while ``Database.generation()`` is what it
    was when the entry was stored, so a cached count or identity is never stale. Used on hot
    read paths (authentication, list counts); bounded, and cleared wholesale when full.
    """

    MAX_ENTRIES = 4096

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[Any, tuple[Any, Any]] = {}

    def get(self, key: Any) -> Any:
        generation = self.db.generation()
        hit = self._entries.get(key)
        if hit is None or generation is None or hit[0] != generation:
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> Any:
        generation = self.db.generation()
        if generation is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (generation, value)
        return value
