from __future__ import annotations

import datetime as dt

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow


class AuthToken(SQLModel, table=True):
    """DRF's ``authtoken_token``: one legacy API key per user (``Authorization: Token``)."""

    __tablename__ = "authtoken_token"

    key: str = Field(primary_key=True, max_length=40)
    user_id: int = Field(foreign_key="auth_user.id", unique=True, ondelete="CASCADE")
    created: dt.datetime = Field(default_factory=utcnow)


class Session(SQLModel, table=True):
    """Django's ``django_session``, reduced to what a login session needs."""

    __tablename__ = "django_session"

    session_key: str = Field(primary_key=True, max_length=40)
    user_id: int = Field(foreign_key="auth_user.id", index=True, ondelete="CASCADE")
    expire_date: dt.datetime
    # Django's session auth hash: a password change ends every other session
    auth_hash: str = Field(default="", max_length=64)


class AccessToken(SQLModel, table=True):
    """A personal access token (``Authorization: Bearer <prefix>.<secret>``), CVAT 2.48+.

    Only a digest of the token value is stored; the value is shown once, at creation.
    Deleting a token revokes it (CVAT keeps the row).
    """

    __tablename__ = "access_tokens_accesstoken"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    prefix: str = Field(max_length=8, unique=True, index=True)
    digest: str = Field(max_length=64)
    revoked: bool = False
    owner_id: int = Field(foreign_key="auth_user.id", index=True, ondelete="CASCADE")
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)
    expiry_date: dt.datetime | None = None
    last_used_date: dt.datetime | None = None
    read_only: bool = True


class OutboxMessage(SQLModel, table=True):
    """A mail CVAT would have sent (password reset, ...). Tests read it; nothing is sent."""

    __tablename__ = "mockcvat_outbox"

    id: int | None = Field(default=None, primary_key=True)
    to: str
    subject: str
    body: str
    data: dict = Field(default_factory=dict, sa_column=Column(JSON))
    created: dt.datetime = Field(default_factory=utcnow)


class ServerSetting(SQLModel, table=True):
    """Values that belong to the state rather than to one process: CVAT's ``SECRET_KEY`` lives
    here, so sessions and signed tokens outlive a restart exactly as long as the state does."""

    __tablename__ = "mockcvat_setting"

    name: str = Field(primary_key=True, max_length=64)
    value: str


class Generation(SQLModel, table=True):
    """One row: a counter every committed write bumps, on databases shared by several
    processes (PostgreSQL). A process's caches hold a value only while the counter is what it
    was when the value was computed (``mockcvat.db.GenerationCache``)."""

    __tablename__ = "mockcvat_generation"

    id: int = Field(default=1, primary_key=True)
    value: int = 0
