"""Organizations and memberships: the tables the org context and the policy read.

Their endpoints belong to the organizations issue; the tables exist now because every
list endpoint already resolves ``X-Organization`` / ``org`` / ``org_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organizations_organization"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(default="", max_length=64)
    description: str = ""
    contact: Any = Field(default_factory=dict, sa_column=Column(JSON))  # any JSON, as CVAT
    owner_id: int | None = Field(default=None, foreign_key="auth_user.id", ondelete="SET NULL")
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    __tablename__ = "organizations_membership"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None, foreign_key="auth_user.id", index=True, ondelete="CASCADE"
    )
    organization_id: int = Field(
        foreign_key="organizations_organization.id", index=True, ondelete="CASCADE"
    )
    is_active: bool = False
    joined_date: dt.datetime | None = None
    role: str = Field(max_length=16)  # owner, maintainer, supervisor, worker


class Invitation(SQLModel, table=True):
    """An invitation holds no role/user/org of its own: they live on its (pending) membership."""

    __tablename__ = "organizations_invitation"

    key: str = Field(primary_key=True, max_length=64)
    created_date: dt.datetime = Field(default_factory=utcnow)
    sent_date: dt.datetime | None = None  # None: never mailed (auto-accepted), never expires
    owner_id: int | None = Field(default=None, foreign_key="auth_user.id", ondelete="SET NULL")
    membership_id: int = Field(
        foreign_key="organizations_membership.id", unique=True, ondelete="CASCADE"
    )
