"""Jobs (``JobViewSet``): one per segment of a task, made when its data is processed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from mockcvat import compat, iam, listing
from mockcvat.errors import ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import Data, Job, Project, Segment, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.jobs import (
    DIMENSIONS,
    JOB_TYPE_NAMES,
    MEDIA_TYPE_OF,
    MODES,
    JobRead,
    JobWrite,
    job_type,
)
from mockcvat.services import guides, issues, resources
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")


def _of_task(column: Any) -> Any:
    return select(column).where(Task.id == Job.task_id).scalar_subquery()


# a stored job type under the emulated version's name (2.80: ``replica``)
_REPLICA = Job.type.in_(("consensus_replica", "replica"))
_JOB_TYPE = JOB_TYPE_NAMES.map(lambda names: case((_REPLICA, names[2]), else_=Job.type))


LISTING = listing.Listing(
    fields={
        "id": FilterField("id", Job.id, "int"),
        "task_id": FilterField("task_id", Job.task_id, "int"),
        "task_name": FilterField("task_name", _of_task(Task.name)),
        "project_id": FilterField("project_id", _of_task(Task.project_id), "int", nullable=True),
        "project_name": FilterField(
            "project_name",
            select(Project.name).where(Project.id == _of_task(Task.project_id))
            .scalar_subquery(), nullable=True),
        "assignee": FilterField("assignee", username_of(Job.assignee_id), nullable=True),
        "state": FilterField("state", Job.state),
        "stage": FilterField("stage", Job.stage),
        "updated_date": FilterField("updated_date", Job.updated_date, "datetime"),
        "dimension": FilterField("dimension", _of_task(Task.dimension)),
        "type": FilterField("type", _JOB_TYPE),
        "parent_job_id": FilterField("parent_job_id", Job.parent_job_id, "int", nullable=True),
        # cvat-sdk 2.65: the job's media type and its task's mode
        "media_type": FilterField("media_type",
                                  resources.media_type_of(_of_task(Task.dimension)),
                                  since=compat.MEDIA_TYPES),
        "mode": FilterField("mode", _of_task(Task.mode), since=compat.MEDIA_TYPES),
    },
    filter_fields=("task_name", "project_name", "assignee", "state", "stage", "id", "task_id",
                   "project_id", "updated_date", "dimension", "type", "parent_job_id",
                   "media_type", "mode"),
    search_fields=("task_name", "project_name", "assignee", "state", "stage"),
    ordering_fields=("task_name", "project_name", "assignee", "state", "stage", "id", "task_id",
                     "project_id", "updated_date", "dimension", "type", "parent_job_id",
                     "media_type", "mode"),
    simple_filters=("task_name", "project_name", "assignee", "state", "stage", "task_id",
                    "project_id", "dimension", "type", "parent_job_id", "media_type", "mode"),
    simple_filter_choices={"stage": STAGES, "state": STATES, "type": JOB_TYPE_NAMES,
                           "dimension": DIMENSIONS, "media_type": tuple(MEDIA_TYPE_OF.values()),
                           "mode": MODES},
)

SCOPES = {"stage": "update:stage", "state": "update:state", "assignee": "update:assignee"}


def frames_of(segment: Any) -> list[int]:
    """The task frames of a segment (a range, or GT's chosen frames)."""
    if segment.type == "specific_frames":
        return sorted(segment.frames or [])
    return list(range(segment.start_frame, segment.stop_frame + 1))


def payloads(ctx: Context, db: Any, jobs: Iterable[Any]) -> list[dict[str, Any]]:
    jobs = list(jobs)
    tasks = resources.rows_by_id(db, Task, (j.task_id for j in jobs))
    project_ids = {t.project_id for t in tasks.values() if t.project_id}
    projects = resources.rows_by_id(db, Project, project_ids)
    datas = resources.rows_by_id(db, Data, (t.data_id for t in tasks.values()))
    segments = resources.rows_by_id(db, Segment, (j.segment_id for j in jobs))
    people = basic_users(ctx, db, [j.assignee_id for j in jobs])
    job_ids = [j.id for j in jobs]
    replicas = dict(db.execute(select(Job.parent_job_id, func.count()).where(
        Job.parent_job_id.in_(job_ids)).group_by(Job.parent_job_id)).all()) if job_ids else {}
    # a job's guide is its project's, else its task's (``Job.get_guide_id``)
    task_guides, project_guides = guides.guide_ids(
        db, task_ids=[t.id for t in tasks.values() if not t.project_id],
        project_ids=project_ids)
    issue_counts = issues.issue_counts(db, job_ids)
    stores = resources.storages(db, [t.source_storage_id for t in tasks.values()]
                                + [t.target_storage_id for t in tasks.values()])
    out = []
    for j in jobs:
        task, segment = tasks[j.task_id], segments[j.segment_id]
        project = projects.get(task.project_id)
        data = datas.get(task.data_id)
        frames = frames_of(segment)
        gt = segment.type == "specific_frames"
        out.append(JobRead.dump({
            "url": ctx.absolute(f"/api/jobs/{j.id}"), "id": j.id, "task_id": j.task_id,
            "project_id": task.project_id, "assignee": people.get(j.assignee_id),
            "guide_id": project_guides.get(task.project_id) if task.project_id
            else task_guides.get(task.id),
            "dimension": task.dimension,
            "bug_tracker": task.bug_tracker or (project.bug_tracker if project else None),
            "status": j.status, "stage": j.stage, "state": j.state, "mode": task.mode,
            "frame_count": len(frames), "start_frame": segment.start_frame,
            "stop_frame": segment.stop_frame,
            "data_chunk_size": data.chunk_size if data else None,
            "data_compressed_chunk_type": "imageset" if gt or data is None
            else data.compressed_chunk_type,
            "data_original_chunk_type": data.original_chunk_type if data else "imageset",
            "created_date": j.created_date, "updated_date": j.updated_date,
            "issues": {"url": ctx.absolute(f"/api/issues?job_id={j.id}"),
                       "count": issue_counts.get(j.id, 0)},
            "labels": {"url": ctx.absolute(f"/api/labels?job_id={j.id}")},
            "type": job_type(j.type), "organization": task.organization_id,
            "target_storage": stores.get(task.target_storage_id),
            "source_storage": stores.get(task.source_storage_id),
            "assignee_updated_date": j.assignee_updated_date,
            "parent_job_id": j.parent_job_id,
            "consensus_replicas": task.consensus_replicas if j.type == "annotation" else 0,
            "task_name": task.name, "project_name": project.name if project else None,
            "replicas_count": replicas.get(j.id, 0),
            "media_type": MEDIA_TYPE_OF.get(task.dimension),
        }))
    return out


def list_jobs(ctx: Context) -> dict[str, Any]:
    policy = iam.engine(ctx)

    def query() -> Any:
        return select(*Job.__table__.columns).where(policy.visible_jobs())

    with ctx.mock.db.read() as connection:
        # statements built once per caller's scope, the count kept until the next write
        page = listing.paginate(connection, query, LISTING, ctx.params, ctx.url, pk=Job.id,
                                cache=ctx.mock.db.cache,
                                cache_key=("jobs", policy.scope_key()))
        return page.body(payloads(ctx, connection, page.rows))


def load(ctx: Context, db: Session, job_id: int, *scopes: str) -> tuple[Job, Task]:
    job = resources.get(db, Job, job_id, "Job")
    standing, task = resources.standing_for_job(ctx, db, job)
    policy = iam.engine(ctx)
    for scope in scopes:
        policy.check(policy.allow_job(scope, standing))
    return job, task


def retrieve(ctx: Context, job_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        job, _ = load(ctx, db, job_id, "view")
        return payloads(ctx, db, [job])[0]


def status_of(stage: str, state: str) -> str:
    """CVAT derives a job's (deprecated) status from its stage and state."""
    if stage == "annotation":
        return "annotation"
    if stage == "acceptance" and state == "completed":
        return "completed"
    return "validation"


def update(ctx: Context, job_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        job, task = load(ctx, db, job_id, *resources.scopes(raw, SCOPES))
        data = JobWrite.validate(raw, partial=True)
        before = payloads(ctx, db, [job])[0]
        if "stage" in data and data["stage"] != job.stage:
            job.stage = data["stage"]
            if "state" not in data:
                job.state = "new"
        if "state" in data:
            job.state = data["state"]
        if "assignee" in data:
            resources.set_assignee(job, resources.check_user(
                ctx, db, "assignee", data["assignee"], task.organization_id))
        job.status = status_of(job.stage, job.state)
        job.updated_date = utcnow()
        db.add(job)
        db.flush()
        updated = payloads(ctx, db, [job])[0]
        ctx.mock.events.emit(ctx, db, "update:job", updated, before=before,
                             **ids_of(job, task))
        return updated


def destroy(ctx: Context, job_id: int) -> None:
    with ctx.mock.db.session() as db:
        job, task = load(ctx, db, job_id, "delete")
        if job.type != "ground_truth":
            raise ValidationFailed(["Only ground truth jobs can be removed"])
        from mockcvat.services import validation

        validation.check_gt_job_removable(db, task)
        validation.clear_layout(db, task)  # CVAT deletes the task's validation layout too
        deleted = deletion_snapshots(ctx, db, [job])
        segment = db.get(Segment, job.segment_id)
        ctx.mock.remove_media_of("job", job_id)
        ctx.mock.background.forget_objects(db, "job", [job_id])
        db.delete(job)
        if segment is not None:
            db.delete(segment)
        task.updated_date = utcnow()
        db.add(task)
        db.flush()
        resources.announce(ctx, db, deleted)


def ids_of(job: Job, task: Any) -> dict[str, int | None]:
    return {"project_id": task.project_id, "task_id": task.id, "job_id": job.id}


def deletion_snapshots(ctx: Context, db: Session, jobs: list[Job]) -> list[resources.Snapshot]:
    """The jobs' issues and comments (which go with them, as Django's cascade announces
    them), then the jobs, as they read before the deletion."""
    from mockcvat.services import issues

    tasks = {t.id: t for t in db.execute(select(Task).where(
        Task.id.in_({j.task_id for j in jobs}))).scalars()} if jobs else {}
    out = issues.deletion_snapshots(ctx, db, [job.id or 0 for job in jobs])
    return out + [resources.Snapshot("delete:job", read, None, ids_of(job, tasks[job.task_id]))
                  for job, read in zip(jobs, payloads(ctx, db, jobs), strict=True)]
