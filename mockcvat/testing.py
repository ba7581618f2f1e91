"""Run a fake CVAT on a real socket from Python: for tests, scripts and the pytest plugin.

    from mockcvat.testing import MockCVATServer

    with MockCVATServer() as server:
        client = server.make_client()       # a cvat_sdk.Client logged in as the admin
        ...
        server.reset()                      # back to the seeded state in milliseconds

cvat-sdk talks to the server through urllib3, so an in-process HTTP mock cannot intercept it;
the server listens on 127.0.0.1 on a free port, in a background thread.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mockcvat.settings import Settings

if TYPE_CHECKING:
    import cvat_sdk

__all__ = ["MockCVATServer"]


# cvat-sdk's Config.status_check_period for clients made here (its default is 5 s)
STATUS_CHECK_PERIOD = 0.01
# A PostgreSQL server URL: every server made here without a database of its own gets a new
# database on it (dropped when the server stops) instead of an in-memory SQLite one
TEST_DATABASE_URL = "MOCKCVAT_TEST_DATABASE_URL"
_databases = itertools.count(1)


class MockCVATServer:
    """A fake CVAT listening on 127.0.0.1; by default in memory, in a temporary folder."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self._tmp: str | None = None
        self._database: str | None = None  # made here, dropped by stop()
        if settings is None:
            self._tmp = tempfile.mkdtemp(prefix="mockcvat-")
            # tests want background requests finished when the client first polls
            values: dict[str, Any] = {"data_dir": Path(self._tmp), "database_url": "sqlite://",
                                      "port": 0, "background_mode": "immediate"}
            values.update(overrides)
            if os.environ.get(TEST_DATABASE_URL) and "database_url" not in overrides:
                from mockcvat import pgcluster

                name = f"mockcvat_test_{os.getpid()}_{next(_databases)}"
                values["database_url"] = self._database = pgcluster.create_database(
                    os.environ[TEST_DATABASE_URL], name)
            settings = Settings(**values)
        self.settings = settings
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._socket: socket.socket | None = None
        self.app: Any = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> MockCVATServer:
        import uvicorn

        from mockcvat.app import create_app

        self.app = create_app(self.settings)
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created so; without
        # it every keep-alive request waits ~40 ms for a delayed ACK
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])),
            name=f"mockcvat:{self.port}",
            daemon=True,
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("mockcvat failed to start")
            self._thread.join(0.001)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        if self.app is not None:
            self.mock.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if self._database:
            from mockcvat import pgcluster

            pgcluster.drop_database(self._database)
            self._database = None
        self._thread = self._server = self._socket = self.app = None

    def __enter__(self) -> MockCVATServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- what tests use ------------------------------------------------------------------
    @property
    def mock(self) -> Any:
        """The server's ``MockCVAT`` state (database, journal, outbox)."""
        return self.app.state.mock

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def admin_credentials(self) -> tuple[str, str]:
        return (self.settings.admin_username, self.settings.admin_password)

    def reset(self) -> float:
        """Back to the seeded state; returns the seconds it took."""
        return float(self.mock.reset())

    def create_user(self, username: str, password: str = "password", **fields: Any
                    ) -> dict[str, Any]:
        """Create a user directly in the state (``groups`` default to ``["user"]``)."""
        from mockcvat.services import users

        with self.mock.db.session() as session:
            user = users.create_user(self.mock, session, username=username, password=password,
                                     **fields)
            return {"id": user.id, "username": user.username, "password": password}

    def create_organization(self, slug: str, owner: str, members: dict[str, str] | None = None,
                            *, name: str = "") -> dict[str, Any]:
        """Create an organization owned by ``owner`` with ``members`` (username -> role:
        worker, supervisor, maintainer, owner) who have accepted their invitations."""
        from mockcvat.services import organizations

        with self.mock.db.session() as session:
            org = organizations.seed_organization(session, slug=slug, owner=owner,
                                                  members=members, name=name)
            return {"id": org.id, "slug": org.slug}

    # --- background requests (task data, exports, imports): timing control ------------------
    @property
    def background(self) -> Any:
        """The server's background engine (``mockcvat.background.Background``)."""
        return self.mock.background

    def set_background_mode(self, mode: str) -> None:
        """``"thread"`` (default: work runs on worker threads) or ``"immediate"`` (work runs
        inside the request that starts it: finished or failed before the first poll)."""
        self.mock.background.set_mode(mode)

    def hold_polls(self, n: int) -> None:
        """Each request started from now on answers its first ``n`` polls of
        ``/api/requests/{id}`` (and the legacy status endpoints) with ``queued`` (the first)
        and ``started`` (the others) before its real state shows."""
        self.mock.background.hold_polls(n)

    def fail_next(self, message: str, action: str | None = None,
                  target: str | None = None) -> None:
        """The next request matching ``action`` (create, import, export, autoannotate) and
        ``target`` (project, task, job) fails with ``message`` without doing its work."""
        self.mock.background.fail_next(message, action=action, target=target)

    def wait_for_requests(self, timeout: float = 30) -> None:
        """Until no background request is queued or running (``TimeoutError`` otherwise)."""
        self.mock.background.wait(timeout)

    def wait_for_deliveries(self, timeout: float = 30) -> None:
        """Until every queued webhook delivery (and other deferred work) has been attempted
        (``TimeoutError`` otherwise). In ``immediate`` mode deliveries are made before the
        request causing them answers, so there is nothing to wait for."""
        self.mock.background.wait_deferred(timeout)

    def record_requests(self, enabled: bool = True) -> None:
        """Start (or stop) recording every request in ``journal``; clears it either way."""
        self.mock.journal_enabled = enabled
        self.mock.journal.clear()

    @property
    def journal(self) -> list[dict[str, Any]]:
        """Recorded requests: method, path, query, status, duration_ms (see record_requests)."""
        return list(self.mock.journal)

    def outbox(self) -> list[dict[str, Any]]:
        """The mails CVAT would have sent (password resets, ...), oldest first."""
        from mockcvat.services import auth

        with self.mock.db.session() as session:
            return auth.outbox(session)

    def make_client(self, credentials: tuple[str, str] | None = None, *,
                    access_token: str | None = None) -> cvat_sdk.Client:
        """A ``cvat_sdk.Client`` for this server, logged in (as the admin by default), polling
        background requests every ``STATUS_CHECK_PERIOD`` seconds instead of cvat-sdk's 5 (2.26
        sleeps that long before its first poll, even for a finished request)."""
        from cvat_sdk import Client, Config

        client = Client(self.url, config=Config(status_check_period=STATUS_CHECK_PERIOD))
        if access_token is not None:
            from cvat_sdk.core.auth import AccessTokenCredentials  # cvat-sdk 2.48+

            client.login(AccessTokenCredentials(access_token))
        else:
            client.login(credentials or self.admin_credentials)
        return client
