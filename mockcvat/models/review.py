"""Review issues and their comments (CVAT's ``engine_issue`` and ``engine_comment``), annotation
guides and their assets (``engine_annotationguide``, ``engine_asset``).

An issue belongs to a job and goes with it (and so with its task and project); a comment
belongs to an issue. A guide belongs to exactly one task or one project (one guide each); an
asset belongs to a guide, and its bytes live under the data dir (``assets/<uuid>/<filename>``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.engine import USER_FK
from mockcvat.models.users import utcnow


class Issue(SQLModel, table=True):
    __tablename__ = "engine_issue"

    id: int | None = Field(default=None, primary_key=True)
    frame: int
    position: Any = Field(default_factory=list, sa_column=Column(JSON))  # floats: x0, y0, ...
    job_id: int = Field(foreign_key="engine_job.id", index=True, ondelete="CASCADE")
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    resolved: bool = False
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Comment(SQLModel, table=True):
    __tablename__ = "engine_comment"

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="engine_issue.id", index=True, ondelete="CASCADE")
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    message: str = ""
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class AnnotationGuide(SQLModel, table=True):
    __tablename__ = "engine_annotationguide"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(default=None, foreign_key="engine_task.id", unique=True,
                                ondelete="CASCADE")
    project_id: int | None = Field(default=None, foreign_key="engine_project.id", unique=True,
                                   ondelete="CASCADE")
    markdown: str = ""
    is_public: bool = False  # no API sets it; a public guide's assets are readable anonymously
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Asset(SQLModel, table=True):
    __tablename__ = "engine_asset"

    uuid: str = Field(primary_key=True, max_length=36)
    filename: str = Field(max_length=1024)
    created_date: dt.datetime = Field(default_factory=utcnow)
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    guide_id: int = Field(foreign_key="engine_annotationguide.id", index=True,
                          ondelete="CASCADE")
