"""``MockCVAT``: one fake CVAT's state (settings, database, journal) and its control plane.

Everything a server instance owns hangs off this object, so several isolated servers can
live in one process (``create_app`` builds one per call; there are no module globals).
"""

from __future__ import annotations

import json
import logging
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
from mockcvat.storage import StoreError
from mockcvat.storage.media import SCRATCH_AREA, media_store

if TYPE_CHECKING:
    from mockcvat.api import Operation
    from mockcvat.background import RequestView
    from mockcvat.uploads import UploadArea

log = logging.getLogger("mockcvat")

FIXTURES = [Path(__file__).parent / "fixtures", Path(__file__).parent.parent / "fixtures"]


def fixtures_dir() -> Path:
    """The bundled fixtures: inside the wheel, or the repository's ``fixtures/`` folder."""
    for candidate in FIXTURES:
        if (candidate / "seed.json").exists():
            return candidate
    raise FileNotFoundError("mockcvat fixtures (seed.json) not found")


class MockCVAT:
    def __init__(self, settings: Settings, *, readonly: bool = False) -> None:
        """``readonly``: open an existing state without touching it (``mockcvat dump``): no
        seeding, no recovery of an earlier process's leftovers, no admin update."""
        self.settings = settings.check()
        self.compat = Compat(settings.cvat_version)
        self.operations: list[Operation] = []  # what create_app mounted
        self.data_dir = Path(settings.data_dir)
        # task data, uploads, exports, backups, assets: the data dir's media/, or a bucket's
        self.media = media_store(settings.media_url, self.data_dir,
                                 endpoint=settings.media_endpoint)
        # scratch space of running work, always on this host's disk; see temp_dir()
        self.tmp_dir = self.data_dir / "media" / SCRATCH_AREA
        self.share_dir = settings.resolved_share_dir
        self.journal = Journal(settings.journal_size, enabled=settings.journal)
        # HTTP-level fault rules, checked against the operations create_app mounts
        self.faults = Faults(lambda: [op.operation_id for op in self.operations])
        self._check_media()
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
        try:
            self._start_state(settings)
        except BaseException:  # after the start-up lock's connection went back to the pool
            self.db.dispose()
            raise
        self.db.peers.listen(self._on_peer_message)
        if settings.background_mode == "thread" or self.db.shared:
            self.background.start_workers()  # work queued before, or by the other processes

    def _start_state(self, settings: Settings) -> None:
        with self.db.peers.exclusive():
            first = not self.db.peers.others()
            if self._is_empty():  # a new state: media left by an earlier one belongs to nothing
                if first:
                    self.media.delete_prefix("")
                self.seed()
            else:
                if settings.seed is not None:
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

    def _check_media(self) -> None:
        try:
            problem = self.media.check()
        except StoreError as exc:
            problem = exc.message
        if problem is not None:
            raise SettingsError("media_url", f"the media store {self.media.root.name!r} "
                                f"cannot be used ({problem}): check the bucket, the endpoint "
                                "(--media-endpoint) and the AWS_* credentials")

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
        running end as failed (queued ones stay queued), and the files they had received go
        (``forget_files_of``); with ``clean_files`` (no other process alive to be using them)
        its scratch files and the media of tasks whose data never finished (``size`` 0:
        nothing can read it; a queued creation makes it again) go too."""
        from sqlmodel import select

        from mockcvat.models import Data

        self.background.recover(lambda db, failed: self.forget_files_of(
            db, failed, alone=clean_files))
        if not clean_files:
            return
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        with self.db.session() as session:
            unfinished = session.exec(select(Data.id).where(Data.size == 0)).all()
        for data_id in unfinished:
            self.media.delete_prefix(f"data/{data_id}/")

    def forget_files_of(self, db: Any, failed: list[RequestView], *, alone: bool) -> None:
        """What requests that died with their process had received or half-stored: the upload
        areas of their objects, and the media of the task data a creation was making (it
        never finished: nothing reads it, a new creation makes it again). Called before their
        failure is committed, so that a client's retry never meets the removal. A user's
        backup uploads share one area: only when no other process is alive (``alone``)."""
        from mockcvat.models import Data, Task

        for request in failed:
            if request.action not in ("create", "import"):
                continue
            if request.target_id:
                self._remove_named("uploads", f"{request.target}-{request.target_id}-")
            elif alone:
                self._remove_named("uploads", f"{request.target}-backup-by-{request.owner_id}")
            if request.action == "create" and request.target == "task" and request.target_id:
                task = db.get(Task, request.target_id)
                data = db.get(Data, task.data_id) if task is not None and task.data_id else None
                if data is not None and data.size == 0:
                    self.media.delete_prefix(f"data/{data.id}/")

    SNAPSHOT_MEDIA = "snapshot_media"

    def _remember_media(self) -> None:
        """Record the media entries of the state at start-up with the state (every process
        resetting it then agrees on what to keep)."""
        from mockcvat.models import ServerSetting

        entries = sorted(self.media.entries())
        with self.db.session() as session:
            row = session.get(ServerSetting, self.SNAPSHOT_MEDIA) or ServerSetting(
                name=self.SNAPSHOT_MEDIA, value="")
            row.value = json.dumps(entries)
            session.add(row)

    def _snapshot_media(self) -> list[str]:
        from mockcvat.models import ServerSetting

        with self.db.session() as session:
            row = session.get(ServerSetting, self.SNAPSHOT_MEDIA)
            return json.loads(row.value) if row else []

    def _on_peer_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "reset":  # another process reset the state
            self.journal.clear()

    def _keep_snapshot_media(self) -> None:
        """Copies of the start-up media beside them (``reset-media/``: hard links in a data
        dir, server-side copies in a bucket), so that a reset brings back the files of a
        deleted seeded task too."""
        self.media.keep(self._snapshot_media())

    def temp_dir(self) -> tempfile.TemporaryDirectory[str]:
        """Scratch space for one piece of work (an extraction, an archive being written),
        inside the data dir: removed when the work ends, and at the next start-up if the
        process dies first."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(dir=self.tmp_dir)

    def upload_area(self, name: str) -> UploadArea:
        """Where the files of one upload endpoint and object arrive (``uploads/<name>/``)."""
        from mockcvat.uploads import UploadArea

        return UploadArea(self.media, f"uploads/{name}/", self.tmp_dir)

    def remove_media_of(self, kind: str, pk: int) -> None:
        """Files made for one project, task or job (exports, backups, uploads): the services
        name them ``<kind>-<pk>-…`` in their area of the media."""
        for area in ("exports", "backups", "uploads"):
            self._remove_named(area, f"{kind}-{pk}-")

    def _remove_named(self, area: str, start: str) -> None:
        """The entries of a media area whose names start with ``start``."""
        for page in self.media.pages(f"{area}/{start}"):
            for entry in page.files + page.dirs:
                self.media.remove(entry)

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
        kept = set(keep)
        for entry in self.media.entries():
            if entry not in kept:
                self.media.remove(entry)
        self.media.restore(keep)  # what a deleted object took with it comes back
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
