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

from mockcvat.settings import Settings, listen

if TYPE_CHECKING:
    import cvat_sdk

    from mockcvat.faults import Faults
    from mockcvat.journal import Journal

__all__ = ["MockCVATServer"]


# cvat-sdk's Config.status_check_period for clients made here (its default is 5 s)
STATUS_CHECK_PERIOD = 0.01
# A PostgreSQL server URL: every server made here without a database of its own gets a new
# database on it (dropped when the server stops) instead of an in-memory SQLite one
TEST_DATABASE_URL = "MOCKCVAT_TEST_DATABASE_URL"
# An S3 URL (s3://bucket[/prefix]) and its endpoint: every server made here without media of
# its own keeps them under a prefix of its own there (removed when it stops)
TEST_MEDIA_URL, TEST_MEDIA_ENDPOINT = "MOCKCVAT_TEST_MEDIA_URL", "MOCKCVAT_TEST_MEDIA_ENDPOINT"
_databases = itertools.count(1)


class MockCVATServer:
    """A fake CVAT listening on 127.0.0.1; by default in memory, in a temporary folder.

    ``seed=DIR`` starts from (and resets to) a seed directory (``mockcvat.seeding``); other
    keywords are ``Settings`` fields."""

    def __init__(self, settings: Settings | None = None, *, seed: str | Path | None = None,
                 **overrides: Any) -> None:
        self._tmp: str | None = None
        self._database: str | None = None  # made here, dropped by stop()
        self._own_media = False  # a prefix of the test bucket, emptied by stop()
        if settings is None:
            self._tmp = tempfile.mkdtemp(prefix="mockcvat-")
            # tests want background requests finished when the client first polls
            values: dict[str, Any] = {"data_dir": Path(self._tmp), "database_url": "sqlite://",
                                      "port": 0, "background_mode": "immediate",
                                      "log_level": "warning"}
            values.update(overrides)
            name = f"mockcvat_test_{os.getpid()}_{next(_databases)}"
            if os.environ.get(TEST_DATABASE_URL) and "database_url" not in overrides:
                from mockcvat import pgcluster

                values["database_url"] = self._database = pgcluster.create_database(
                    os.environ[TEST_DATABASE_URL], name)
            if os.environ.get(TEST_MEDIA_URL) and "media_url" not in overrides:
                values["media_url"] = f"{os.environ[TEST_MEDIA_URL].rstrip('/')}/{name}"
                values["media_endpoint"] = os.environ.get(TEST_MEDIA_ENDPOINT)
                self._own_media = True
            settings = Settings(**values)
        if seed is not None:
            settings.seed = Path(seed)
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

        sock = listen(self.settings.host, self.settings.port)
        try:
            self.app = create_app(self.settings)
        except BaseException:
            sock.close()
            raise
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
            if self._own_media:
                self.mock.media.root.delete_prefix("")
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
        """The next request matching ``action`` (create, import, export, autoannotate,
        calculate, merge) and
        ``target`` (project, task, job) fails with ``message`` without doing its work."""
        self.mock.background.fail_next(message, action=action, target=target)

    # --- AI functions (mockcvat.functions) ------------------------------------------------------
    def register_function(self, id: str, handler: Any = None, **spec: Any) -> Any:
        """Register an AI function as Nuclio would serve it: ``kind`` (detector, interactor,
        tracker, reid), ``name``, ``labels`` ([{"name", "type", "attributes": [{"name",
        "input_type", "values"}], "sublabels"}]), ``version``, ``description``,
        ``help_message``; and ``handler(image, request)`` (a PIL image and the call's
        parameters; returns detections in CVAT's shapes), or ``detections`` ({frame: [...]},
        ``"*"`` for any frame), or ``error`` (the message it fails with). Cleared by reset."""
        from mockcvat.functions import Function

        return self.mock.functions.register(Function(id=id, handler=handler, **spec))

    def unregister_function(self, id: str) -> None:
        self.mock.functions.unregister(id)

    def wait_for_requests(self, timeout: float = 30) -> None:
        """Until no background request is queued or running (``TimeoutError`` otherwise)."""
        self.mock.background.wait(timeout)

    def wait_for_deliveries(self, timeout: float = 30) -> None:
        """Until every queued webhook delivery (and other deferred work) has been attempted
        (``TimeoutError`` otherwise). In ``immediate`` mode deliveries are made before the
        request causing them answers, so there is nothing to wait for."""
        self.mock.background.wait_deferred(timeout)

    # --- the request journal (mockcvat.journal) -------------------------------------------------
    def record_requests(self, enabled: bool = True) -> None:
        """Start (or stop) recording every request in ``journal``; clears it either way.
        (Recording is on from the start unless the settings say ``journal=False``.)"""
        self.mock.journal.enabled = enabled
        self.mock.journal.clear()

    @property
    def journal(self) -> Journal:
        """Recorded requests, oldest first (iterate for dicts; ``find``, ``count``,
        ``assert_called``, ``clear``, ``mark``: see ``mockcvat.journal``)."""
        return self.mock.journal  # type: ignore[no-any-return]

    def assert_called(self, operation_id: str | None = None, **criteria: Any
                      ) -> list[dict[str, Any]]:
        """``journal.assert_called``: e.g. ``server.assert_called("tasks_create", times=1,
        with_body={"name": "cars"})``; on failure the message lists the closest requests."""
        return self.journal.assert_called(operation_id, **criteria)

    def assert_not_called(self, operation_id: str | None = None, **criteria: Any) -> None:
        self.journal.assert_not_called(operation_id, **criteria)

    # --- HTTP-level faults (mockcvat.faults) -----------------------------------------------------
    @property
    def faults(self) -> Faults:
        """Fault rules: ``server.faults.add("tasks_retrieve", status=503, headers={"Retry-After":
        "1"}, times=2)`` (also ``with server.faults.add(...):``), ``list()``, ``remove()``,
        ``clear()``; see ``mockcvat.faults``."""
        return self.mock.faults  # type: ignore[no-any-return]

    # --- seeding (mockcvat.seeding) --------------------------------------------------------------
    def dump(self, directory: str | Path, *, media: bool = True,
             base_url: str | None = None) -> Path:
        """Write the current state as a seed directory (users.json, tasks.json, ...; the
        ``url`` fields start with ``base_url``, default this server's URL)."""
        from mockcvat import seeding

        return seeding.dump_mock(self.mock, Path(directory), media=media,
                                 base_url=base_url or self.url)

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

        try:
            client = Client(self.url, config=Config(status_check_period=STATUS_CHECK_PERIOD))
            if access_token is not None:
                from cvat_sdk.core.auth import AccessTokenCredentials  # cvat-sdk 2.48+

                client.login(AccessTokenCredentials(access_token))
            else:
                client.login(credentials or self.admin_credentials)
        except TypeError as exc:  # a generated model missing fields: another CVAT's answers
            if "_from_openapi_data" not in str(exc):
                raise
            raise RuntimeError(version_mismatch(self.settings.cvat_version, exc)) from exc
        return client


def version_mismatch(emulated: str, exc: Exception) -> str:
    """What to do when cvat-sdk cannot read the answers of the emulated CVAT version."""
    from importlib.metadata import version

    sdk = version("cvat-sdk")
    wanted = ".".join(sdk.split(".")[:2])
    return (f"cvat-sdk {sdk} cannot read the answers of CVAT {emulated}, the version this "
            f"mockcvat emulates ({exc}). cvat-sdk X.Y expects a CVAT X.Y server: emulate "
            f"that one (cvat_version=\"{wanted}.0\", the default for cvat-sdk 2.80) or install "
            f"cvat-sdk=={'.'.join(emulated.split('.')[:2])}.*")
