"""CVAT's growth app (2.74+): per-user state of the GitHub star prompt (``growth_usergrowthdata``).
A row is made on a user's first request to ``/api/growth``."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from mockcvat.models.engine import USER_FK


class UserGrowthData(SQLModel, table=True):
    __tablename__ = "growth_usergrowthdata"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key=USER_FK, unique=True, ondelete="CASCADE")
    github_prompt_shown_at: dt.datetime | None = None
    github_prompt_support_clicked: bool = False
    promotion_notifications_allowed: bool = True
