"""Background requests: CVAT keeps them as RQ jobs in Redis; mockcvat keeps them as rows.

One row per request id (``rq_id``), written by ``mockcvat.background``. The columns hold the
real state of the work; ``hold_left``/``hold_seen`` implement the test-only ``hold_polls``
control, which makes the row *look* queued/started to its first polls (see
``mockcvat.background.visible_status``).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from mockcvat.models.users import utcnow


class BackgroundRequest(SQLModel, table=True):
    __tablename__ = "mockcvat_request"
    # never reuse a pk: the work of a replaced request must not write into its successor
    __table_args__ = {"sqlite_autoincrement": True}

    pk: int | None = Field(default=None, primary_key=True)  # creation order, for stable ties
    rq_id: str = Field(unique=True, index=True, max_length=512)
    # what the rq_id encodes (CVAT parses these back out of the id)
    action: str = Field(max_length=32)  # create | import | export | autoannotate
    target: str = Field(max_length=32)  # project | task | job
    target_id: int | None = None
    target_uuid: str | None = Field(default=None, max_length=36)  # backup imports
    subresource: str | None = Field(default=None, max_length=32)
    format: str | None = Field(default=None, max_length=256)
    lightweight: bool | None = None
    # what the RQ job meta records
    function_id: str | None = Field(default=None, max_length=256)
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    owner_id: int = Field(index=True)  # no foreign key: Redis jobs outlive their users
    owner_username: str = Field(default="", max_length=150)
    organization_id: int | None = None
    org_slug: str | None = Field(default=None, max_length=16)
    # the state
    status: str = Field(default="queued", max_length=16)  # queued|started|finished|failed
    progress: float | None = None
    message: str = ""  # the meta "status" line while started; the error once failed
    created_date: dt.datetime = Field(default_factory=utcnow)
    started_date: dt.datetime | None = None
    finished_date: dt.datetime | None = None
    expiry_date: dt.datetime | None = None  # finished/failed + the result/failure TTL
    result_url: str | None = None
    result_id: int | None = None
    # hold_polls: polls still to answer with a held status, and polls answered so far
    hold_left: int = 0
    hold_seen: int = 0


class LambdaCall(SQLModel, table=True):
    """What a ``POST /api/lambda/requests`` asked for (CVAT keeps it in the RQ job's kwargs):
    one row per request id, replaced with it."""

    __tablename__ = "mockcvat_lambda_call"

    rq_id: str = Field(primary_key=True, max_length=512)
    function_id: str = Field(max_length=256)
    task_id: int
    job_id: int | None = None
    threshold: float | None = None
