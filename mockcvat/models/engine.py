"""Projects, tasks, their data, segments, jobs and labels (CVAT's ``engine`` app tables).

What CVAT keeps in several tables but never queries by (storages, frame lists, validation
layouts) is a JSON column here. Frame-level media facts live in the task's manifest on disk
(``mockcvat.media``), not in rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from mockcvat.models.users import utcnow

USER_FK = "auth_user.id"
ORG_FK = "organizations_organization.id"


class Storage(SQLModel, table=True):
    """Where a project's or task's datasets come from / go to by default."""

    __tablename__ = "engine_storage"

    id: int | None = Field(default=None, primary_key=True)
    location: str = "local"  # local | cloud_storage
    cloud_storage_id: int | None = None


STORAGE_FK = "engine_storage.id"


class CloudStorage(SQLModel, table=True):
    """An attached bucket (``engine_cloudstorage``). ``credentials`` holds the secrets as given
    (never rendered); ``manifests`` the manifest file names CVAT keeps in ``engine_manifest``."""

    __tablename__ = "engine_cloudstorage"

    id: int | None = Field(default=None, primary_key=True)
    provider_type: str
    resource: str = Field(max_length=222)
    display_name: str = Field(max_length=63)
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    organization_id: int | None = Field(
        default=None, foreign_key=ORG_FK, index=True, ondelete="SET NULL")
    credentials_type: str
    credentials: Any = Field(default_factory=dict, sa_column=Column(JSON))
    specific_attributes: str = ""
    description: str = ""
    manifests: Any = Field(default_factory=list, sa_column=Column(JSON))
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Project(SQLModel, table=True):
    __tablename__ = "engine_project"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=256)
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_updated_date: dt.datetime | None = None
    bug_tracker: str = ""
    status: str = "annotation"
    organization_id: int | None = Field(
        default=None, foreign_key=ORG_FK, index=True, ondelete="SET NULL")
    source_storage_id: int | None = Field(default=None, foreign_key=STORAGE_FK,
                                          ondelete="SET NULL")
    target_storage_id: int | None = Field(default=None, foreign_key=STORAGE_FK,
                                          ondelete="SET NULL")
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Data(SQLModel, table=True):
    """A task's media: how it was received and processed (``engine_data``)."""

    __tablename__ = "engine_data"

    id: int | None = Field(default=None, primary_key=True)
    chunk_size: int | None = None
    size: int = 0
    image_quality: int = 70
    start_frame: int = 0
    stop_frame: int = 0
    frame_filter: str = ""
    compressed_chunk_type: str = "imageset"
    original_chunk_type: str = "imageset"
    storage_method: str = "file_system"  # "cache" when use_cache
    storage: str = "local"  # local | share | cloud_storage
    sorting_method: str = "lexicographical"
    deleted_frames: Any = Field(default_factory=list, sa_column=Column(JSON))
    validation: Any = Field(default=None, sa_column=Column(JSON))  # GT frames, honeypots
    chunks_updated_date: dt.datetime = Field(default_factory=utcnow)
    cloud_storage_id: int | None = None


class Task(SQLModel, table=True):
    __tablename__ = "engine_task"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(
        default=None, foreign_key="engine_project.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=256)
    mode: str = ""  # "annotation" (images) | "interpolation" (video), set with the data
    owner_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_updated_date: dt.datetime | None = None
    bug_tracker: str = ""
    overlap: int | None = None
    segment_size: int = 0
    status: str = "annotation"
    data_id: int | None = Field(default=None, foreign_key="engine_data.id", ondelete="SET NULL")
    dimension: str = "2d"
    subset: str = ""
    organization_id: int | None = Field(
        default=None, foreign_key=ORG_FK, index=True, ondelete="SET NULL")
    source_storage_id: int | None = Field(default=None, foreign_key=STORAGE_FK,
                                          ondelete="SET NULL")
    target_storage_id: int | None = Field(default=None, foreign_key=STORAGE_FK,
                                          ondelete="SET NULL")
    consensus_replicas: int = 0
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Segment(SQLModel, table=True):
    """A frame range (or an explicit frame list, for ground truth) of a task; one job each."""

    __tablename__ = "engine_segment"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="engine_task.id", index=True, ondelete="CASCADE")
    start_frame: int
    stop_frame: int
    type: str = "range"  # range | specific_frames
    frames: Any = Field(default=None, sa_column=Column(JSON))  # for specific_frames


class Job(SQLModel, table=True):
    __tablename__ = "engine_job"

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(foreign_key="engine_segment.id", index=True, ondelete="CASCADE")
    # denormalised from the segment for filtering and visibility in SQL
    task_id: int = Field(foreign_key="engine_task.id", index=True, ondelete="CASCADE")
    assignee_id: int | None = Field(default=None, foreign_key=USER_FK, ondelete="SET NULL")
    assignee_updated_date: dt.datetime | None = None
    status: str = "annotation"
    stage: str = "annotation"
    state: str = "new"
    type: str = "annotation"  # annotation | ground_truth | consensus_replica
    parent_job_id: int | None = None  # consensus replicas: their annotation job
    created_date: dt.datetime = Field(default_factory=utcnow)
    updated_date: dt.datetime = Field(default_factory=utcnow)


class Label(SQLModel, table=True):
    """A label of a task or a project (never both); skeleton points have a parent."""

    __tablename__ = "engine_label"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(
        default=None, foreign_key="engine_task.id", index=True, ondelete="CASCADE")
    project_id: int | None = Field(
        default=None, foreign_key="engine_project.id", index=True, ondelete="CASCADE")
    parent_id: int | None = Field(
        default=None, foreign_key="engine_label.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    color: str = ""
    type: str = "any"
    svg: str = ""  # skeletons: the drawing, with element ids rewritten to label ids


class AttributeSpec(SQLModel, table=True):
    __tablename__ = "engine_attributespec"

    id: int | None = Field(default=None, primary_key=True)
    label_id: int = Field(foreign_key="engine_label.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    mutable: bool = False
    input_type: str = "select"
    default_value: str = ""
    values: Any = Field(default_factory=list, sa_column=Column(JSON))
