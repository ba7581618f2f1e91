"""Quality control and consensus (CVAT's ``quality_control`` and ``consensus`` apps).

Settings are made for every task (and, from 2.80, project) on first use, as CVAT makes them
with the task. Parameters CVAT keeps in columns are a JSON column here: nothing queries them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow

TASK_FK = "engine_task.id"
PROJECT_FK = "engine_project.id"


class QualitySettings(SQLModel, table=True):
    __tablename__ = "quality_control_qualitysettings"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(default=None, foreign_key=TASK_FK, index=True, unique=True,
                                ondelete="CASCADE")
    project_id: int | None = Field(default=None, foreign_key=PROJECT_FK, index=True,
                                   unique=True, ondelete="CASCADE")
    # 2.26: every comparison parameter (``iou_threshold``, ...) and the target metric
    values: Any = Field(default_factory=dict, sa_column=Column(JSON))
    job_filter: str = ""
    inherit: bool = True
    max_validations_per_job: int = 0
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class QualityRequirement(SQLModel, table=True):
    """2.80: a metric with its threshold and comparison parameters (None: the parent's)."""

    __tablename__ = "quality_control_qualityrequirement"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    settings_id: int = Field(foreign_key="quality_control_qualitysettings.id", index=True,
                             ondelete="CASCADE")
    name: str = Field(max_length=250)
    is_base: bool = False
    sort_order: int = 0
    filter: str = ""
    enabled: bool = True
    annotation_type: str | None = None
    metric: str | None = None
    required_score: float | None = None
    parent_requirement: int | None = None
    params: Any = Field(default_factory=dict, sa_column=Column(JSON))
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class QualityReport(SQLModel, table=True):
    __tablename__ = "quality_control_qualityreport"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    target: str = "task"  # job | task | project
    job_id: int | None = Field(default=None, index=True)
    task_id: int | None = Field(default=None, foreign_key=TASK_FK, index=True,
                                ondelete="CASCADE")
    project_id: int | None = Field(default=None, index=True)
    parent_id: int | None = Field(default=None, foreign_key="quality_control_qualityreport.id",
                                  index=True, ondelete="CASCADE")
    organization_id: int | None = None
    assignee_id: int | None = None
    created_date: dt.datetime = Field(default_factory=utcnow)
    target_last_updated: dt.datetime = Field(default_factory=utcnow)
    gt_last_updated: dt.datetime | None = None
    summary: Any = Field(default_factory=dict, sa_column=Column(JSON))
    data: Any = Field(default_factory=dict, sa_column=Column(JSON))


class AnnotationConflict(SQLModel, table=True):
    __tablename__ = "quality_control_annotationconflict"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="quality_control_qualityreport.id", index=True,
                           ondelete="CASCADE")
    frame: int
    type: str
    severity: str
    annotation_ids: Any = Field(default_factory=list, sa_column=Column(JSON))
    attribute_names: Any = Field(default_factory=list, sa_column=Column(JSON))


class ConsensusSettings(SQLModel, table=True):
    __tablename__ = "consensus_consensussettings"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key=TASK_FK, index=True, unique=True, ondelete="CASCADE")
    quorum: float = 0.5
    iou_threshold: float = 0.4
