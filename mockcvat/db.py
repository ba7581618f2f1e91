"""The store: one engine per server, transactions, and snapshot/restore for fast resets.

Two kinds of database, one interface:

* SQLite (the default) runs on a single connection guarded by a lock, so request handlers and
  background workers never interleave half-finished transactions, and a reset copies a
  snapshot over the live database with SQLite's backup API in about a millisecond. One process
  owns it.
* PostgreSQL (``postgresql+psycopg://…``) is shared: several processes, on one host or many,
  serve the same state. Transactions run concurrently on a connection pool; a committed write
  bumps the ``mockcvat_generation`` counter, which is what every process's caches are keyed on;
  the state a reset returns to is kept in the database itself (schema ``mockcvat_snapshot``)
  and restored in one transaction, so every process sees the reset at once.

The schema comes from Alembic (``mockcvat/migrations``): a new database is created from the
models and stamped, an existing one is upgraded (``migrations.prepare``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import mockcvat.models  # noqa: F401  (registers the tables on SQLModel.metadata)

SNAPSHOT_SCHEMA = "mockcvat_snapshot"
# tables a reset leaves alone: the schema's version, and the counter it bumps instead
NOT_SNAPSHOTTED = ("alembic_version", "mockcvat_generation")


class _SharedSession(Session):
    """Sessions on a shared database: remember whether they wrote, so that their commit bumps
    the generation counter (see ``Database.session``)."""


@event.listens_for(_SharedSession, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info["wrote"] = True


@event.listens_for(_SharedSession, "do_orm_execute")
def _executed(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


class _IntegerAsSent(sqltypes.Integer):
    render_bind_cast = False


class _NoLock:
    """The lock of a shared database: none in the process (the database orders writers)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class Database:
    def __init__(self, url: str) -> None:
        from mockcvat import cluster, migrations

        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.shared = not self.is_sqlite
        self.lock: Any = threading.RLock() if self.is_sqlite else _NoLock()
        self.engine = self._create_engine(url)
        self._snapshot: sqlite3.Connection | None = None
        self._reseed: Callable[[], None] | None = None
        # this process among the ones sharing the database (one, on SQLite)
        self.peers = cluster.peers_for(self)
        _never_reuse_ids()
        with self.peers.exclusive():
            migrations.prepare(self.engine)
        self._epoch = 0  # bumped by reset: restores change data without counting as changes
        self._raw: sqlite3.Connection | None = None
        if self.is_sqlite:  # StaticPool: this is the one connection every session uses
            raw = self.engine.raw_connection()
            self._raw = raw.driver_connection
            raw.close()
        self.cache = GenerationCache(self)

    def _create_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            # UTC, so naive timestamps read back as SQLite returns them
            engine = create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True,
                                   connect_args={"options": "-c timezone=UTC"})
            # integers go as psycopg types them (smallint to numeric, by value), not cast to
            # INTEGER: an id beyond the column then finds nothing, a 404 as in CVAT (whose
            # driver inlines the number), instead of the cast's "integer out of range"
            engine.dialect.colspecs = {**engine.dialect.colspecs,
                                       sqltypes.Integer: _IntegerAsSent}
            return engine
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
            session = (_SharedSession if self.shared else Session)(
                self.engine, expire_on_commit=False)
            try:
                yield session
                if self.shared:
                    session.flush()
                    if session.info.get("wrote"):
                        _bump(session.connection())
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
        """Changes when any row changes: SQLite's ``total_changes`` on the one connection, or
        the shared counter every committed write bumps; ``None`` when the database cannot
        tell, and then nothing is cached."""
        if self._raw is not None:
            return (self._epoch, self._raw.total_changes)
        if self.shared:
            with self.engine.connect() as connection:
                value = connection.execute(
                    text("SELECT value FROM mockcvat_generation WHERE id = 1")).scalar()
            return None if value is None else (self._epoch, int(value))
        return None

    # --- snapshot / reset --------------------------------------------------------
    def has_snapshot(self) -> bool:
        if self.is_sqlite:
            return self._snapshot is not None
        with self.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"),
                {"name": SNAPSHOT_SCHEMA}).first())

    def take_snapshot(self, reseed: Callable[[], None]) -> None:
        """Remember the current state as the one ``reset`` returns to."""
        self._reseed = reseed
        if self.shared:
            self._store_snapshot()
            return
        with self.lock:
            snapshot = sqlite3.connect(":memory:", check_same_thread=False)
            self._raw_backup(source=None, target=snapshot)
            previous, self._snapshot = self._snapshot, snapshot
            if previous is not None:
                previous.close()

    def keep_snapshot(self, reseed: Callable[[], None]) -> None:
        """Another process took the snapshot of this shared state: reset returns to it."""
        self._reseed = reseed

    def reset(self) -> None:
        with self.lock:
            self._epoch += 1
            if self._snapshot is not None:
                self._raw_backup(source=self._snapshot, target=None)
                return
            if self.shared and self.has_snapshot():
                self._restore_snapshot()
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

    def _tables(self) -> list[str]:
        return [t.name for t in SQLModel.metadata.sorted_tables
                if t.name not in NOT_SNAPSHOTTED]

    def _sequences(self, connection: Connection) -> list[tuple[str, str]]:
        """(table, sequence) of every table whose integer key comes from a sequence."""
        found = []
        for table in SQLModel.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if table.name in NOT_SNAPSHOTTED or len(keys) != 1:
                continue
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {
                "t": table.name, "c": keys[0].name}).scalar()
            if sequence:
                found.append((table.name, sequence))
        return found

    def advance_sequences(self, connection: Connection) -> None:
        """After rows were written with the ids they name (a seed): each id sequence moves past
        its table's highest id, as SQLite's AUTOINCREMENT does by itself."""
        if self.is_sqlite:
            return
        for table, sequence in self._sequences(connection):
            key = next(iter(SQLModel.metadata.tables[table].primary_key.columns)).name
            # the sequence's next value is last_value, or last_value + 1 once it was called
            connection.execute(text(
                f'SELECT setval(:seq, top) FROM (SELECT max("{key}") AS top FROM "{table}") AS t, '
                f"{sequence} AS s WHERE top >= s.last_value + s.is_called::int"),
                {"seq": sequence})

    def _store_snapshot(self) -> None:
        """Copy every table (and where each id sequence stands) into the snapshot schema."""
        with self.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}"))
            for name in self._tables():
                connection.execute(text(
                    f'CREATE TABLE {SNAPSHOT_SCHEMA}."{name}" AS TABLE public."{name}"'))
            connection.execute(text(
                f"CREATE TABLE {SNAPSHOT_SCHEMA}._sequences "
                "(name text PRIMARY KEY, last_value bigint, is_called boolean)"))
            for _table, sequence in self._sequences(connection):
                connection.execute(text(
                    f"INSERT INTO {SNAPSHOT_SCHEMA}._sequences "
                    f"SELECT :name, last_value, is_called FROM {sequence}"), {"name": sequence})

    def _restore_snapshot(self) -> None:
        """One transaction: every table emptied and refilled from the snapshot, sequences put
        back. The LOCK takes each table exclusively, so other processes' transactions wait and
        then see the restored state, never a half-restored one."""
        from sqlalchemy.exc import OperationalError

        tables = self._tables()
        for attempt in range(RESET_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    # one round trip: statements without parameters go together
                    connection.exec_driver_sql(";\n".join([
                        # DELETE, not TRUNCATE: TRUNCATE makes new files for every table
                        # (most of a reset's time on small tables); the lock keeps its effect
                        "LOCK TABLE " + ", ".join(f'public."{name}"' for name in tables)
                        + " IN ACCESS EXCLUSIVE MODE",
                        *(f'DELETE FROM public."{name}"' for name in reversed(tables)),
                        *(f'INSERT INTO public."{name}" SELECT * FROM {SNAPSHOT_SCHEMA}."{name}"'
                          for name in tables),
                        f"SELECT setval(name, last_value, is_called) "
                        f"FROM {SNAPSHOT_SCHEMA}._sequences",
                        _BUMP]))
                return
            except OperationalError as exc:
                # LOCK takes its table locks one by one: a transaction already holding one
                # and waiting for another deadlocks with it, and PostgreSQL aborts one of the
                # two. The reset was that one (nothing of it happened): take them again.
                if "deadlock" not in str(exc).lower() or attempt == RESET_ATTEMPTS - 1:
                    raise

    def dispose(self) -> None:
        self.peers.close()
        self.engine.dispose()
        if self._snapshot is not None:
            self._snapshot.close()


RESET_ATTEMPTS = 5


def _bump(connection: Connection) -> None:
    """Count a committed write (in the writing transaction: the new value shows with it)."""
    connection.execute(text(_BUMP))


_BUMP = "UPDATE mockcvat_generation SET value = value + 1 WHERE id = 1"


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
    was when the entry was stored, so a cached count or identity is never stale (on a shared
    database, whichever process made the change). Used on hot read paths (authentication, list
    counts); bounded, and cleared wholesale when full.
    """

    MAX_ENTRIES = 4096

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[Any, tuple[Any, Any]] = {}
        # the generation each thread saw at its last miss: a value computed after a miss is
        # stored under it (never under a later one, which could postdate the value's read)
        self._seen = threading.local()

    def get(self, key: Any) -> Any:
        generation = self.db.generation()
        self._seen.key, self._seen.generation = key, generation
        hit = self._entries.get(key)
        if hit is None or generation is None or hit[0] != generation:
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> Any:
        if getattr(self._seen, "key", None) == key:
            generation = self._seen.generation
        else:
            generation = self.db.generation()
        if generation is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (generation, value)
        return value
