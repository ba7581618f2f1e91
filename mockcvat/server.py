"""``MockCVAT``: one fake CVAT's state (settings, database, journal) and its control plane.

Everything a server instance owns hangs off this object, so several isolated servers can
live in one process (``create_app`` builds one per call; there are no module globals).
"""

from __future__ import annotations

import json
import secrets
import shutil
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
        self.secret_key = secrets.token_hex(32)  # signs password-reset tokens and URLs
        self.data_dir = Path(settings.data_dir)
        self.media_dir = self.data_dir / "media"
        self.share_dir = settings.resolved_share_dir
        self.journal: list[dict[str, Any]] = []
        self.journal_enabled = False
        self.db = Database(settings.resolved_database_url)
        from mockcvat.background import Background

        self.background = Background(self)  # long operations, recorded as CVAT requests
        self.events = self._event_stream()  # every state change, announced once
        if self._is_empty():
            self.seed()
        self.db.take_snapshot(self.seed)

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

    # --- control plane -------------------------------------------------------------------
    def reset(self) -> float:
        """Back to the seeded state; returns the time it took, in seconds."""
        started = time.perf_counter()
        # first: running work must not write into the restored state (which has no requests)
        self.background.reset(forget=False)
        self.db.reset()
        if self.media_dir.exists():
            shutil.rmtree(self.media_dir, ignore_errors=True)
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
        self.background.close()
        self.db.dispose()
