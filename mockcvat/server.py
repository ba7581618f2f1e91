"""``MockCVAT``: one fake CVAT's state (settings, database, journal) and its control plane.

Everything a server instance owns hangs off this object, so several isolated servers can
live in one process (``create_app`` builds one per call; there are no module globals).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockcvat.compat import Compat
from mockcvat.db import Database
from mockcvat.events import EventStream
from mockcvat.settings import Settings

if TYPE_CHECKING:
    from mockcvat.api import Operation

FIXTURES = [Path(__file__).parent / "fixtures", Path(__file__).parent.parent / "fixtures"]


def fixtures_dir() -> Path:
    """The bundled fixtures: inside the wheel, or the repository's ``fixtures/`` folder."""
    for candidate in FIXTURES:
        if (candidate / "seed.json").exists():
            return candidate
    raise FileNotFoundError("mockcvat fixtures (seed.json) not found")


class MockCVAT:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.compat = Compat(settings.cvat_version)
        self.operations: list[Operation] = []  # what create_app mounted
        self.data_dir = Path(settings.data_dir)
        self.media_dir = self.data_dir / "media"
        self.tmp_dir = self.media_dir / "tmp"  # scratch space of running work; see temp_dir()
        self.share_dir = settings.resolved_share_dir
        self.journal: list[dict[str, Any]] = []
        self.journal_enabled = False
        self.db = Database(settings.resolved_database_url)
        from mockcvat.background import Background

        self.background = Background(self)  # long operations, recorded as CVAT requests
        self.events = self._event_stream()  # every state change, announced once
        # several processes may share the database (PostgreSQL): one starts at a time, and
        # the first of them (no other alive) decides what the state at start-up is
        with self.db.peers.exclusive():
            first = not self.db.peers.others()
            if self._is_empty():  # a new state: media left by an earlier one belongs to nothing
                if first:
                    shutil.rmtree(self.media_dir, ignore_errors=True)
                self.seed()
            else:
                self._recover(clean_files=first)
            self.secret_key = self._secret_key()  # signs sessions, password-reset tokens, URLs
            if first or not self.db.has_snapshot():
                # the media the snapshot's objects own: a reset keeps these, and drops newer
                self._remember_media()
                self.db.take_snapshot(self._reseed)
            else:
                self.db.keep_snapshot(self._reseed)
        self.db.peers.listen(self._on_peer_message)
        if settings.background_mode == "thread" or self.db.shared:
            self.background.start_workers()  # work queued before, or by the other processes

    def _event_stream(self) -> EventStream:
        """The domain-event stream and its subscribers: the event log, webhook delivery."""
        from mockcvat.services import event_log, webhooks

        stream = EventStream(self)
        stream.subscribe(event_log.record)
        stream.subscribe(lambda db, event: webhooks.on_event(self, db, event))
        return stream

    # --- seeding -----------------------------------------------------------------------
    def _is_empty(self) -> bool:
        from sqlmodel import select

        from mockcvat.models import User

        with self.db.session() as session:
            return session.exec(select(User.id).limit(1)).first() is None

    def seed(self, path: Path | None = None) -> None:
        """Load the default seed (the admin account from settings) or an API-shaped file."""
        from mockcvat.services import users

        data = json.loads((path or fixtures_dir() / "seed.json").read_text())
        with self.db.session() as session:
            admin = dict(data.get("admin", {}))
            admin.update(
                username=self.settings.admin_username, password=self.settings.admin_password
            )
            users.create_user(self, session, **admin)
            for spec in data.get("users", []):
                users.create_user(self, session, **spec)

    def _reseed(self) -> None:
        """What a reset without a snapshot (a non-SQLite database) re-creates."""
        self.seed()
        self._secret_key()

    def _secret_key(self) -> str:
        """CVAT's ``SECRET_KEY``: made once per state and stored with it, so session cookies
        and signed tokens work after a restart on the same data (and in every process sharing
        a database); an in-memory database starts with a fresh one."""
        from mockcvat.models import ServerSetting

        with self.db.session() as session:
            row = session.get(ServerSetting, "secret_key")
            if row is None:
                row = ServerSetting(name="secret_key", value=getattr(
                    self, "secret_key", None) or secrets.token_hex(32))
                session.add(row)
            return row.value

    def _recover(self, *, clean_files: bool = True) -> None:
        """Start-up on existing state: what an earlier process left unfinished. Requests it was
        running end as failed; with ``clean_files`` (no other process alive to be using them)
        its scratch files and half-received uploads go, and so does the media of tasks whose
        data never finished (``size`` 0: nothing can read it)."""
        from sqlmodel import select

        from mockcvat.models import Data

        self.background.recover()
        if not clean_files:
            return
        for leftover in (self.tmp_dir, self.media_dir / "uploads"):
            shutil.rmtree(leftover, ignore_errors=True)
        with self.db.session() as session:
            unfinished = session.exec(select(Data.id).where(Data.size == 0)).all()
        for data_id in unfinished:
            shutil.rmtree(self.media_dir / "data" / str(data_id), ignore_errors=True)

    SNAPSHOT_MEDIA = "snapshot_media"

    def _remember_media(self) -> None:
        """Record the media entries of the state at start-up with the state (every process
        resetting it then agrees on what to keep)."""
        from mockcvat.models import ServerSetting

        entries = sorted(str(p.relative_to(self.media_dir)) for p in self._media_entries())
        with self.db.session() as session:
            row = session.get(ServerSetting, self.SNAPSHOT_MEDIA) or ServerSetting(
                name=self.SNAPSHOT_MEDIA, value="")
            row.value = json.dumps(entries)
            session.add(row)

    def _snapshot_media(self) -> set[Path]:
        from mockcvat.models import ServerSetting

        with self.db.session() as session:
            row = session.get(ServerSetting, self.SNAPSHOT_MEDIA)
            return {self.media_dir / p for p in json.loads(row.value)} if row else set()

    def _on_peer_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "reset":  # another process reset the state
            self.journal.clear()

    def _media_entries(self) -> list[Path]:
        """Media, one entry per object and kind (``data/<id>``, ``exports/<file>``, ...)."""
        if not self.media_dir.is_dir():
            return []
        return [entry for area in self.media_dir.iterdir() if area.is_dir()
                for entry in area.iterdir()]

    def temp_dir(self) -> tempfile.TemporaryDirectory[str]:
        """Scratch space for one piece of work (an extraction, an archive being written),
        inside the data dir: removed when the work ends, and at the next start-up if the
        process dies first."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(dir=self.tmp_dir)

    def remove_media_of(self, kind: str, pk: int) -> None:
        """Files made for one project, task or job (exports, backups, uploads): the services
        name them ``<kind>-<pk>-…`` in their area of the media dir."""
        for area in ("exports", "backups", "uploads"):
            for path in (self.media_dir / area).glob(f"{kind}-{pk}-*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    # --- control plane -------------------------------------------------------------------
    def reset(self) -> float:
        """Back to the seeded state (or, on existing data, the state at start-up, media
        included); returns the time it took, in seconds."""
        started = time.perf_counter()
        # first: running work must not write into the restored state (which has no requests)
        self.background.reset(forget=False)
        self.db.reset()
        keep = self._snapshot_media()
        for entry in self._media_entries():
            if entry not in keep:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        self.journal.clear()
        return time.perf_counter() - started

    # --- this server's schema --------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        from mockcvat.app import schema_document

        return schema_document(self.settings.cvat_version)

    def schema_yaml(self) -> str:
        from mockcvat.app import schema_yaml

        return schema_yaml(self.settings.cvat_version)

    def record(self, entry: dict[str, Any]) -> None:
        if self.journal_enabled:
            self.journal.append(entry)

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self.background.close()
        self.db.dispose()
