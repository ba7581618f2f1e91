"""Server settings: one dataclass, filled from flags, ``MOCKCVAT_*`` variables or defaults."""

from __future__ import annotations

import dataclasses
import os
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
    raise ValueError(
        f"mockcvat cannot emulate CVAT {text!r}: use a version X.Y.Z of the release lines "
        f"{OLDEST_LINE[0]}.{OLDEST_LINE[1]} to {NEWEST_LINE[0]}.{NEWEST_LINE[1]} "
        f"(e.g. 2.26.2, 2.40.0, 2.80.0); see docs/versions.md")


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
    # Django's default is hundreds of thousands of PBKDF2 rounds; a fake needs fast logins.
    password_iterations: int = 1000
    # webhook deliveries: seconds before a receiver counts as timed out (None: CVAT's), and
    # whether CVAT's SSRF protection (its egress proxy's rules) applies to target URLs
    webhook_timeout: float | None = None
    webhook_ssrf_checks: bool = False
    # several server processes (uvicorn workers) on one shared database (PostgreSQL)
    workers: int = 1

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


OPTIONS: dict[str, str] = {
    "host": "address to listen on",
    "port": "TCP port to listen on (0 picks a free port)",
    "data_dir": "folder for the SQLite file and media",
    "database_url": "any SQLAlchemy URL; default: SQLite in the data dir; 'sqlite://' keeps "
    "everything in memory",
    "admin": "USER:PASSWORD of the seeded superuser",
    "cvat_version": "the CVAT version /api/server/about reports and whose behaviour is emulated",
    "share_dir": "directory served as CVAT's share (/api/server/share); default: DATA_DIR/share",
    "background_mode": "'thread' (default): background requests run as in CVAT; 'immediate': "
    "they are finished before the request that queued them answers",
    "webhook_timeout": "seconds a webhook receiver has to answer (default: CVAT's 10)",
    "webhook_ssrf_checks": "'true': refuse webhook deliveries to private, loopback and link-local "
    "addresses, as CVAT's egress proxy does (default: any target)",
    "workers": "server processes (uvicorn workers); more than 1 needs a shared database "
    "(--database-url postgresql+psycopg://...)",
}


def parse_version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def env_name(option: str) -> str:
    return "MOCKCVAT_" + option.upper()


def from_env(**overrides: Any) -> Settings:
    """Settings from ``MOCKCVAT_*`` variables, with explicit overrides winning."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        if field.name not in OPTIONS:
            continue
        raw = os.environ.get(env_name(field.name))
        if raw is not None:
            values[field.name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("port", "workers"):
        if key in values:
            values[key] = int(values[key])
    if isinstance(values.get("webhook_timeout"), str):
        values["webhook_timeout"] = float(values["webhook_timeout"])
    if isinstance(values.get("webhook_ssrf_checks"), str):
        values["webhook_ssrf_checks"] = values["webhook_ssrf_checks"].lower() in (
            "1", "true", "yes", "on")
    for key in ("data_dir", "share_dir"):
        if key in values:
            values[key] = Path(values[key])
    return Settings(**values)
