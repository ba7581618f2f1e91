"""Analytics reports (CVAT 2.26's ``analytics_report`` app): one per job, task or project."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow


class AnalyticsReport(SQLModel, table=True):
    __tablename__ = "analytics_report_analyticsreport"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int | None = Field(default=None, foreign_key="engine_job.id", unique=True,
                               ondelete="CASCADE")
    task_id: int | None = Field(default=None, foreign_key="engine_task.id", unique=True,
                                ondelete="CASCADE")
    project_id: int | None = Field(default=None, foreign_key="engine_project.id", unique=True,
                                   ondelete="CASCADE")
    created_date: dt.datetime = Field(default_factory=utcnow)
    statistics: Any = Field(default_factory=list, sa_column=Column(JSON))
