"""Webhooks, their deliveries, and the event log (CVAT's ``webhooks`` app tables and its
ClickHouse ``events`` table, which mockcvat keeps in SQLite beside everything else)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks_webhook"

    id: int | None = Field(default=None, primary_key=True)
    target_url: str = Field(max_length=8192)
    description: str = Field(default="", max_length=128)
    events: str = Field(default="", max_length=4096)  # comma-separated, as CVAT stores them
    type: str = Field(max_length=16)  # organization | project | server
    content_type: str = Field(default="application/json", max_length=64)
    secret: str = Field(default="", max_length=64)
    is_active: bool = True
    enable_ssl: bool = True
    owner_id: int | None = Field(default=None, foreign_key="auth_user.id", ondelete="SET NULL")
    project_id: int | None = Field(default=None, foreign_key="engine_project.id", index=True,
                                   ondelete="CASCADE")
    organization_id: int | None = Field(default=None, foreign_key="organizations_organization.id",
                                        index=True, ondelete="CASCADE")
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhooks_webhookdelivery"

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks_webhook.id", index=True, ondelete="CASCADE")
    event: str = Field(max_length=64)
    status_code: int | None = None
    redelivery: bool = False
    attempt: int | None = None
    request_duration: int | None = None  # milliseconds
    changed_fields: str = Field(default="", max_length=4096)
    request: Any = Field(default_factory=dict, sa_column=Column(JSON))
    response: Any = Field(default_factory=dict, sa_column=Column(JSON))
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class EventRecord(SQLModel, table=True):
    """One row of CVAT's event log (its ClickHouse ``events`` table), columns in its order."""

    __tablename__ = "mockcvat_event"

    pk: int | None = Field(default=None, primary_key=True)
    scope: str = Field(index=True)
    obj_name: str | None = None
    obj_id: int | None = None
    obj_val: str | None = None
    source: str | None = None
    timestamp: dt.datetime = Field(default_factory=utcnow, index=True)
    count: int | None = None
    duration: int = 0
    project_id: int | None = Field(default=None, index=True)
    task_id: int | None = Field(default=None, index=True)
    job_id: int | None = Field(default=None, index=True)
    user_id: int | None = Field(default=None, index=True)
    user_name: str | None = None
    user_email: str | None = None
    org_id: int | None = Field(default=None, index=True)
    org_slug: str | None = None
    payload: str | None = None
