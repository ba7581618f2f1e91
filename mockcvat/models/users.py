from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    """Django's ``auth_user``."""

    __tablename__ = "auth_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=150, unique=True, index=True)
    email: str = Field(default="", max_length=254, index=True)
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    password: str = Field(default="", max_length=128)
    is_staff: bool = False
    is_superuser: bool = False
    is_active: bool = True
    last_login: dt.datetime | None = None
    date_joined: dt.datetime = Field(default_factory=utcnow)
    # CVAT's user profile (its own table there), kept on the user row here:
    # how the account came to be (2.75): registration, invitation, ...; None: made by an admin
    created_via: str | None = Field(default=None, max_length=16)
    email_verified: bool | None = None  # allauth's EmailAddress.verified (2.76); None: no row
    # the onboarding questionnaire (2.79)
    cvat_usage_reason: str = Field(default="", max_length=32)
    primary_role: str = Field(default="", max_length=255)
    planned_activities: Any = Field(default_factory=list, sa_column=Column(JSON))
    data_types: Any = Field(default_factory=list, sa_column=Column(JSON))
    discovery_source: str = Field(default="", max_length=255)


class UserGroup(SQLModel, table=True):
    """Membership of a user in one of CVAT's privilege groups (admin, business, user, worker)."""

    __tablename__ = "auth_user_groups"

    user_id: int = Field(foreign_key="auth_user.id", primary_key=True, ondelete="CASCADE")
    group: str = Field(primary_key=True, max_length=150)
