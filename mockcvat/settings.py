"""Server settings: one dataclass, filled from flags, ``MOCKCVAT_*`` variables or defaults.

Every setting is checked once, before anything starts (``Settings.check``): a bad one raises
``SettingsError``, which names the setting (flag and variable) and says how to fix it; the
``mockcvat`` command prints it as one line and exits with status 2, without a traceback.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_CVAT_VERSION = "2.80.0"  # in the range cvat-sdk 2.80 accepts without a warning
# The CVAT release lines mockcvat emulates (docs/versions.md): any X.Y.Z of these; a version
# behaves as the newest behaviour change dated at or before it (the nearest-version rule).
OLDEST_LINE, NEWEST_LINE = (2, 26), (2, 80)
_VERSION = __import__("re").compile(r"^\d+\.\d+\.\d+$")


def check_version(text: str) -> str:
    """``text`` if mockcvat can emulate it, else ``ValueError`` naming what it can."""
    if _VERSION.match(str(text)) and OLDEST_LINE <= parse_version(text)[:2] <= NEWEST_LINE:
        return str(text)
    raise SettingsError("cvat_version",
        f"mockcvat cannot emulate CVAT {text!r}: use a version X.Y.Z of the release lines "
        f"{OLDEST_LINE[0]}.{OLDEST_LINE[1]} to {NEWEST_LINE[0]}.{NEWEST_LINE[1]} "
        f"(e.g. 2.26.2, 2.40.0, 2.80.0); see docs/versions.md")

BACKGROUND_MODES = ("thread", "immediate")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
# SQLAlchemy backend -> the extra of mockcvat that installs its driver, and the URL scheme
# that uses that driver
DRIVER_EXTRAS = {"postgresql": ("postgres", "postgresql+psycopg")}


class SettingsError(ValueError):
    """A setting that cannot work: ``option`` is its name (``port``), ``str()`` one line."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(f"{flag(option)} ({env_name(option)}): {message}")


@dataclasses.dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".mockcvat")
    database_url: str | None = None  # None: SQLite file in data_dir; "sqlite://": in memory
    admin: str = "admin:admin"
    cvat_version: str = DEFAULT_CVAT_VERSION
    share_dir: Path | None = None  # the directory /api/server/share lists; None: data_dir/share
    # "thread": background requests (task data, exports...) run off the request, as in CVAT;
    # "immediate": they finish inside the request that queued them (deterministic tests)
    background_mode: str = "thread"
    seed: Path | None = None  # a directory of API-shaped JSON files (mockcvat.seeding)
    journal: bool = True  # record requests (mockcvat.journal)
    journal_size: int = 5000  # entries kept; the oldest go first
    read_cache: bool = True  # keep answers of hot reads until the state changes (readcache.py)
    log_level: str = "info"
    log_format: str = "text"
    # refuse API calls that would lock the admin out (for fuzzers); not CVAT behaviour
    protect_admin: bool = False
    # Django's default is hundreds of thousands of PBKDF2 rounds; a fake needs fast logins.
    password_iterations: int = 1000
    # webhook deliveries: seconds before a receiver counts as timed out (None: CVAT's), and
    # whether CVAT's SSRF protection (its egress proxy's rules) applies to target URLs
    webhook_timeout: float | None = None
    webhook_ssrf_checks: bool = False
    # several server processes (uvicorn workers) on one shared database (PostgreSQL)
    workers: int = 1
    # the media (task data, uploads, exports, backups, assets) in an S3-compatible bucket
    # instead of the data dir: s3://bucket/prefix, and the endpoint of a non-AWS server
    media_url: str | None = None
    media_endpoint: str | None = None

    def __post_init__(self) -> None:
        check_version(self.cvat_version)
        if self.workers < 1:
            raise ValueError("--workers needs a number of processes >= 1")
        if self.workers > 1 and self.resolved_database_url.startswith("sqlite"):
            raise ValueError(
                "several workers share one state, which needs a server database: "
                "--database-url postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME "
                "(pip install 'mockcvat[postgres]')")

    @property
    def admin_username(self) -> str:
        return self.admin.split(":", 1)[0]

    @property
    def admin_password(self) -> str:
        return self.admin.split(":", 1)[1] if ":" in self.admin else ""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'mockcvat.sqlite3'}"

    @property
    def resolved_share_dir(self) -> Path:
        return Path(self.share_dir) if self.share_dir else Path(self.data_dir) / "share"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.cvat_version)

    # --- checks ---------------------------------------------------------------------------
    def check(self) -> Settings:
        """Raise ``SettingsError`` for the first setting that cannot work; creates the data
        dir (and nothing outside it). Returns self."""
        check_port(self.port)
        if ":" not in self.admin or not self.admin_username:
            raise SettingsError("admin", f"{self.admin!r} is not USER:PASSWORD; write it as "
                                "--admin admin:secret")
        check_version(self.cvat_version)
        _choice("background_mode", self.background_mode, BACKGROUND_MODES)
        _choice("log_level", self.log_level, LOG_LEVELS)
        _choice("log_format", self.log_format, LOG_FORMATS)
        if self.journal_size < 1:
            raise SettingsError("journal_size", f"{self.journal_size} is too small; give a "
                                "number of entries >= 1")
        _check_writable_dir("data_dir", Path(self.data_dir))
        check_database_url(self.database_url)
        if self.media_url:
            from mockcvat.storage.media import StoreError, parse_media_url

            try:
                parse_media_url(self.media_url)
            except StoreError as exc:
                raise SettingsError("media_url", exc.message) from None
        if self.media_endpoint and not self.media_url:
            raise SettingsError("media_endpoint", "is the endpoint of --media-url, which is "
                                "not given (the media stay in the data dir)")
        if self.seed is not None and not Path(self.seed).is_dir():
            raise SettingsError("seed", f"{str(self.seed)!r} is not a directory; give the "
                                "folder holding users.json, tasks.json, ... (see `mockcvat dump`)")
        return self


OPTIONS: dict[str, str] = {
    "host": "address to listen on",
    "port": "TCP port to listen on (0 picks a free port)",
    "data_dir": "folder for the SQLite file and media",
    "database_url": "any SQLAlchemy URL; default: SQLite in the data dir; 'sqlite://' keeps "
    "everything in memory",
    "admin": "USER:PASSWORD of the seeded superuser (an existing admin's password is set to it)",
    "cvat_version": "the CVAT version /api/server/about reports and whose behaviour is emulated",
    "share_dir": "directory served as CVAT's share (/api/server/share); default: DATA_DIR/share",
    "background_mode": "'thread' (default): background requests run as in CVAT; 'immediate': "
    "they are finished before the request that queued them answers",
    "webhook_timeout": "seconds a webhook receiver has to answer (default: CVAT's 10)",
    "webhook_ssrf_checks": "'true': refuse webhook deliveries to private, loopback and link-local "
    "addresses, as CVAT's egress proxy does (default: any target)",
    "seed": "a directory of JSON files (users.json, tasks.json, ...) to start from and reset to",
    "journal": "record every request for GET /_mockcvat/journal (true/false)",
    "journal_size": "how many requests the journal keeps (the oldest go first)",
    "read_cache": "keep the answers of the most frequent reads until the state next changes "
    "(true/false; answers are the same either way)",
    "log_level": "debug, info (one access-log line per request), warning or error",
    "log_format": "'text' or 'json' (one JSON object per line)",
    "protect_admin": "refuse API calls that would lock the admin out: deleting, deactivating "
    "or demoting it, changing its password (for fuzzers; true/false)",
    "workers": "server processes (uvicorn workers); more than 1 needs a shared database "
    "(--database-url postgresql+psycopg://...)",
    "media_url": "s3://BUCKET/PREFIX: task data, uploads, exports, backups and assets in an "
    "S3-compatible bucket instead of the data dir (credentials: the AWS_* variables)",
    "media_endpoint": "the S3 endpoint of --media-url when it is not AWS, e.g. "
    "http://minio:9000",
}

def flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def env_name(option: str) -> str:
    return "MOCKCVAT_" + option.upper()


def parse_version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SettingsError("port", f"{port!r} is not a port number; give a number from 1 to "
                            "65535, or 0 for a free one")
    return port


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise SettingsError(option, f"{value!r} is not one of {names}")


def _check_writable_dir(option: str, path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(option, f"cannot create or write {str(path)!r} ({reason}); give a "
                            "folder you may write to") from None


def check_database_url(url: str | None) -> None:
    """A URL SQLAlchemy knows, whose driver is installed; an SQLite file's folder must exist
    (mockcvat creates nothing outside the data dir)."""
    if not url:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError("database_url", f"{url!r} is not a database URL; write e.g. "
                            "sqlite:///path/to/file.sqlite3 or sqlite:// (in memory)") from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise SettingsError("database_url", f"unknown database {parsed.drivername!r} in "
                            f"{url!r}; use sqlite:// or postgresql+psycopg://") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        extra, scheme = DRIVER_EXTRAS.get(parsed.get_backend_name(), (None, None))
        if extra is None:
            fix = f"install the Python package {exc.name or 'of its driver'}"
        elif parsed.drivername != scheme:
            fix = f"write the URL as {scheme}://... and pip install 'mockcvat[{extra}]'"
        else:
            fix = f"pip install 'mockcvat[{extra}]'"
        raise SettingsError("database_url", f"the driver of {parsed.drivername!r} is not "
                            f"installed; {fix}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise SettingsError("database_url", f"the folder {str(folder)!r} does not exist; "
                                "create it first, or leave --database-url out to keep the "
                                "database in the data dir")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``SettingsError`` if that is impossible), to hand to
    uvicorn: binding first means the port is known to be ours before anything is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created so; without
    # it every keep-alive request waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SettingsError("port", f"{host}:{port} is already in use; stop the other "
                                "server or pick another port (0 picks a free one)") from None
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            raise SettingsError("host", f"cannot listen on {host!r} ({exc.strerror}); give an "
                                "address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None
        raise SettingsError("port", f"cannot listen on {host}:{port} ({exc.strerror}); pick "
                            "another port") from None
    sock.setblocking(False)
    return sock


# --- from text (flags, environment) ------------------------------------------------------------
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _to_bool(option: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE or text in FALSE:
        return text in TRUE
    raise SettingsError(option, f"{raw!r} is not true or false")


def _to_int(option: str, raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        what = "port number" if option == "port" else "number"
        raise SettingsError(option, f"{raw!r} is not a {what}; give digits only"
                            + (", e.g. 8080 (0 picks a free port)" if option == "port" else "")
                            ) from None


def _convert(option: str, raw: Any) -> Any:
    kind = {field.name: field.type for field in dataclasses.fields(Settings)}[option]
    if kind == "bool":
        return _to_bool(option, raw)
    if kind == "int":
        return _to_int(option, raw)
    if kind in ("Path", "Path | None"):
        return Path(raw).expanduser()
    if kind == "float | None":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(option, f"{raw!r} is not a number of seconds; give e.g. 10"
                                ) from None
    return str(raw)


def from_env(**overrides: Any) -> Settings:
    """Settings from ``MOCKCVAT_*`` variables, with explicit overrides winning; a value that
    cannot be converted raises ``SettingsError``."""
    values: dict[str, Any] = {}
    for name in OPTIONS:
        raw = os.environ.get(env_name(name))
        if raw is not None:
            values[name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**{name: _convert(name, raw) if name in OPTIONS else raw
                       for name, raw in values.items()})
