"""Annotations, stored per job as CVAT stores them: tags (``LabeledImage``), shapes
(``LabeledShape``, skeleton points as child shapes), tracks (``LabeledTrack``, their keyframes in
``TrackedShape``, skeleton point tracks as child tracks), intervals (``LabeledInterval``, 2.66+).

Attribute values are kept with their item as JSON (``[{"spec_id", "value"}]``): CVAT has a table
per kind, but nothing queries them separately.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

JOB_FK = "engine_job.id"
LABEL_FK = "engine_label.id"


class LabeledImage(SQLModel, table=True):
    """A tag."""

    __tablename__ = "engine_labeledimage"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key=JOB_FK, index=True, ondelete="CASCADE")
    label_id: int = Field(foreign_key=LABEL_FK, index=True, ondelete="CASCADE")
    frame: int
    group: int | None = None
    source: str = "manual"
    attributes: Any = Field(default_factory=list, sa_column=Column(JSON))


class LabeledShape(SQLModel, table=True):
    __tablename__ = "engine_labeledshape"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key=JOB_FK, index=True, ondelete="CASCADE")
    label_id: int = Field(foreign_key=LABEL_FK, index=True, ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="engine_labeledshape.id",
                                  index=True, ondelete="CASCADE")
    frame: int
    group: int | None = None
    source: str = "manual"
    type: str
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    points: Any = Field(default_factory=list, sa_column=Column(JSON))
    attributes: Any = Field(default_factory=list, sa_column=Column(JSON))
    score: float = 1.0  # a detector's confidence (shown from 2.56, written from 2.57)


class LabeledInterval(SQLModel, table=True):
    """A label over a range of frames (2.66+): ``stop`` null means up to the last frame."""

    __tablename__ = "engine_labeledinterval"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key=JOB_FK, index=True, ondelete="CASCADE")
    label_id: int = Field(foreign_key=LABEL_FK, index=True, ondelete="CASCADE")
    start: int
    stop: int | None = None
    group: int | None = None
    source: str = "manual"
    score: float = 1.0
    attributes: Any = Field(default_factory=list, sa_column=Column(JSON))


class LabeledTrack(SQLModel, table=True):
    __tablename__ = "engine_labeledtrack"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key=JOB_FK, index=True, ondelete="CASCADE")
    label_id: int = Field(foreign_key=LABEL_FK, index=True, ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="engine_labeledtrack.id",
                                  index=True, ondelete="CASCADE")
    frame: int
    group: int | None = None
    source: str = "manual"
    attributes: Any = Field(default_factory=list, sa_column=Column(JSON))


class TrackedShape(SQLModel, table=True):
    """A keyframe of a track."""

    __tablename__ = "engine_trackedshape"

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="engine_labeledtrack.id", index=True, ondelete="CASCADE")
    frame: int
    type: str
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    points: Any = Field(default_factory=list, sa_column=Column(JSON))
    attributes: Any = Field(default_factory=list, sa_column=Column(JSON))

