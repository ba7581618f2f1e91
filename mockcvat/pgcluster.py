"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` and ``pg_ctl`` from the
machine's PostgreSQL (Debian's ``postgresql`` package), a cluster in a temporary folder, on a
free port of 127.0.0.1, trusting local connections.

PostgreSQL refuses to run as root; run as root, the cluster belongs to an unprivileged user
(``postgres``, which Debian's package creates, else ``nobody``). Nothing is installed here:
``make install-test`` installs the package where it is missing.

    with TempCluster() as cluster:
        url = cluster.create_database("mockcvat_1")   # postgresql+psycopg://...
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

DRIVER = "postgresql+psycopg"


def find_binary(name: str) -> str | None:
    """``initdb``/``pg_ctl`` on PATH, else in Debian's versioned folder (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    return candidates[-1] if candidates else None


def available() -> str | None:
    """None if a cluster can be started here, else why not."""
    missing = [name for name in ("initdb", "pg_ctl") if find_binary(name) is None]
    if missing:
        return (f"PostgreSQL's {' and '.join(missing)} not found: install Debian's "
                "postgresql package (make install-test does)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install 'mockcvat[postgres]'"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to "
                       "run PostgreSQL as")


class TempCluster:
    """One PostgreSQL server in a temporary folder; ``stop()`` removes everything."""

    def __init__(self, *, port: int = 0, max_connections: int = 1000) -> None:
        self.port = port or _free_port()
        self.max_connections = max_connections
        self.folder: str | None = None
        self.user = _unprivileged_user()
        self.superuser = "mockcvat"
        self._running = False

    @property
    def server_url(self) -> str:
        """The URL of the ``postgres`` maintenance database."""
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"{DRIVER}://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> TempCluster:
        why = available()
        if why:
            raise RuntimeError(why)
        self.folder = tempfile.mkdtemp(prefix="mockcvat-pg-")
        os.chmod(self.folder, 0o755)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        data = os.path.join(self.folder, "data")
        # C collation: byte order, as SQLite compares text (and as the musl-based images of
        # CVAT's own compose file sort); UTF-8 so any name can be stored
        self._run(str(find_binary("initdb")), "-D", data, "-U", self.superuser,
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off "
                   f"-c max_connections={self.max_connections}")
        self._run(str(find_binary("pg_ctl")), "-D", data, "-o", options,
                  "-l", os.path.join(self.folder, "server.log"), "-w", "-t", "60", "start")
        self._running = True
        return self

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if it exists); its SQLAlchemy URL."""
        return create_database(self.server_url, name)

    def stop(self) -> None:
        if self._running and self.folder:
            data = os.path.join(self.folder, "data")
            try:
                self._run(str(find_binary("pg_ctl")), "-D", data, "-m", "immediate", "-w",
                          "stop")
            except RuntimeError:
                time.sleep(0.1)
        self._running = False
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server of ``server_url`` (any database URL of it, e.g.
    ``postgresql+psycopg://user@host:5432/postgres``): its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database=url.database or "postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url_text: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(url_text)
    name = url.database
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
