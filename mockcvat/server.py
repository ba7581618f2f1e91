"""``MockCVAT``: one fake CVAT's state (settings, database, journal) and its control plane.

Everything a server instance owns hangs off this object, so several isolated servers can
live in one process (``create_app`` builds one per call; there are no module globals).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockcvat.compat import Compat
from mockcvat.db import Database
from mockcvat.events import EventStream
from mockcvat.faults import Faults
from mockcvat.journal import Journal
from mockcvat.readcache import ReadCache
from mockcvat.settings import Settings, SettingsError

if TYPE_CHECKING:
    from mockcvat.api import Operation

log = logging.getLogger("mockcvat")

FIXTURES = [Path(__file__).parent / "fixtures", Path(__file__).parent.parent / "fixtures"]


def fixtures_dir() -> Path:
    """The bundled fixtures: inside the wheel, or the repository's ``fixtures/`` folder."""
    for candidate in FIXTURES:
        if (candidate / "seed.json").exists():
            return candidate
    raise FileNotFoundError("mockcvat fixtures (seed.json) not found")


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """A hard link (no bytes copied; the file outlives the other name), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


class MockCVAT:
    def __init__(self, settings: Settings, *, readonly: bool = False) -> None:
        """``readonly``: open an existing state without touching it (``mockcvat dump``): no
        seeding, no recovery of an earlier process's leftovers, no admin update."""
        self.settings = settings.check()
        self.compat = Compat(settings.cvat_version)
        self.operations: list[Operation] = []  # what create_app mounted
        self.data_dir = Path(settings.data_dir)
        self.media_dir = self.data_dir / "media"
        self.tmp_dir = self.media_dir / "tmp"  # scratch space of running work; see temp_dir()
        self.share_dir = settings.resolved_share_dir
        self.journal = Journal(settings.journal_size, enabled=settings.journal)
        # HTTP-level fault rules, checked against the operations create_app mounts
        self.faults = Faults(lambda: [op.operation_id for op in self.operations])
        self.db = Database(settings.resolved_database_url)
        # answers of hot reads, kept until the next change
        self.read_cache = ReadCache(self.db, enabled=settings.read_cache)
        from mockcvat.background import Background

        self.background = Background(self)  # long operations, recorded as CVAT requests
        from mockcvat.functions import Registry

        self.functions = Registry()  # AI functions test authors registered (no Nuclio here)
        self.events = self._event_stream()  # every state change, announced once
        if readonly:
            if self._is_empty():
                self.db.dispose()
                raise SettingsError("data_dir", f"{str(self.data_dir)!r} holds no state "
                                    "(no users); give the --data-dir (or --database-url) of "
                                    "a server that ran")
            self.secret_key = self._secret_key()
            return
        # several processes may share the database (PostgreSQL): one starts at a time, and
        # the first of them (no other alive) decides what the state at start-up is
        with self.db.peers.exclusive():
            first = not self.db.peers.others()
            if self._is_empty():  # a new state: media left by an earlier one belongs to nothing
                if first:
                    shutil.rmtree(self.media_dir, ignore_errors=True)
                try:
                    self.seed()
                except BaseException:
                    self.db.dispose()
                    raise
            else:
                if settings.seed is not None:
                    self.db.dispose()
                    raise SettingsError("seed", f"the database {self.db.url!r} already holds "
                                        "a state; give an empty --data-dir, or --database-url "
                                        "sqlite:// to keep the seeded state in memory")
                self._recover(clean_files=first)
                self.ensure_admin()
            self.secret_key = self._secret_key()  # signs sessions, password-reset tokens, URLs
            if first or not self.db.has_snapshot():
                self.take_snapshot()
            else:
                self.db.keep_snapshot(self._reseed)
        self.db.peers.listen(self._on_peer_message)
        if settings.background_mode == "thread" or self.db.shared:
            self.background.start_workers()  # work queued before, or by the other processes

    def take_snapshot(self, *, keep_media: bool = True) -> None:
        """The current state becomes the one ``reset`` returns to (at start-up: the seeded
        state or the state found; later, e.g., a fuzzer's state with the admin logged in
        once), with the media its objects own: a reset keeps these and drops everything newer."""
        self._remember_media()
        self.db.take_snapshot(self._reseed)
        if keep_media:
            self._keep_snapshot_media()

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
        """Load the default seed (the admin account from settings) or an API-shaped file;
        with ``settings.seed``, the seed directory first (``mockcvat.seeding``), then the
        admin of the settings if the directory has none of that name."""
        from mockcvat.services import users

        if self.settings.seed is not None:
            from mockcvat import seeding

            seeding.load(self, Path(self.settings.seed))
            self.ensure_admin()
            return
        data = json.loads((path or fixtures_dir() / "seed.json").read_text())
        with self.db.session() as session:
            admin = dict(data.get("admin", {}))
            admin.update(
                username=self.settings.admin_username, password=self.settings.admin_password
            )
            users.create_user(self, session, **admin)
            for spec in data.get("users", []):
                users.create_user(self, session, **spec)

    def ensure_admin(self) -> None:
        """The admin of the settings can log in with the settings' password: created as a
        superuser if missing, its password (and superuser standing) set if they differ, so
        the credentials the banner shows are the ones that work."""
        from sqlmodel import select

        from mockcvat.models import User
        from mockcvat.passwords import check_password, make_password
        from mockcvat.services import users

        name, password = self.settings.admin_username, self.settings.admin_password
        with self.db.session() as session:
            user = session.exec(select(User).where(User.username == name)).first()
            if user is None:
                profile = json.loads((fixtures_dir() / "seed.json").read_text())["admin"]
                users.create_user(self, session, **{**profile, "username": name,
                                                    "password": password})
                log.info("created the admin %r", name)
                return
            if not check_password(password, user.password):
                user.password = make_password(password, self.settings.password_iterations)
                log.info("set the password of the admin %r from the settings", name)
            if not (user.is_superuser and user.is_staff and user.is_active):
                user.is_superuser = user.is_staff = user.is_active = True
            session.add(user)
            if "admin" not in users.groups_of(session, [user.id or 0])[user.id or 0]:
                users.set_groups(session, user, [*users.groups_of(
                    session, [user.id or 0])[user.id or 0], "admin"])

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
        running end as failed (queued ones stay queued); with ``clean_files`` (no other
        process alive to be using them) its scratch files, the uploads of the requests that
        failed, and the media of tasks whose data never finished (``size`` 0: nothing can read
        it; a queued creation makes it again) go."""
        from sqlmodel import select

        from mockcvat.models import Data

        failed = self.background.recover()
        if not clean_files:
            return
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        for request in failed:  # the files a failed creation or import received go with it
            if request.action in ("create", "import"):
                owner = (f"{request.target}-{request.target_id}-" if request.target_id
                         else f"{request.target}-backup-by-{request.owner_id}")
                for path in (self.media_dir / "uploads").glob(owner + "*"):
                    shutil.rmtree(path, ignore_errors=True)
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

    @property
    def kept_media_dir(self) -> Path:
        """Hard links to the media of the state a reset returns to (beside, not in, the media
        dir), so that a reset brings back the files of a deleted seeded task too."""
        return self.data_dir / "reset-media"

    def _keep_snapshot_media(self) -> None:
        shutil.rmtree(self.kept_media_dir, ignore_errors=True)
        for entry in self._snapshot_media():
            kept = self.kept_media_dir / entry.relative_to(self.media_dir)
            kept.parent.mkdir(parents=True, exist_ok=True)
            if entry.is_dir():
                shutil.copytree(entry, kept, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, kept)

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
        self.read_cache.clear()  # unreachable already (the epoch moved): free the memory
        for entry in self._media_entries():
            if entry not in keep:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() \
                    else entry.unlink(missing_ok=True)  # a download may remove it meanwhile
        for entry in keep:  # what a deleted object took with it comes back
            if not entry.exists():
                kept = self.kept_media_dir / entry.relative_to(self.media_dir)
                if kept.is_dir():
                    shutil.copytree(kept, entry, copy_function=_link_or_copy)
                elif kept.exists():
                    _link_or_copy(kept, entry)
        self.journal.clear()
        self.faults.clear()
        self.functions.clear()
        return time.perf_counter() - started

    # --- this server's schema --------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        from mockcvat.app import schema_document

        return schema_document(self.settings.cvat_version)

    def schema_yaml(self) -> str:
        from mockcvat.app import schema_yaml

        return schema_yaml(self.settings.cvat_version)

    @property
    def journal_enabled(self) -> bool:
        return self.journal.enabled

    @journal_enabled.setter
    def journal_enabled(self, value: bool) -> None:
        self.journal.enabled = value

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self.background.close()
        self.db.dispose()
