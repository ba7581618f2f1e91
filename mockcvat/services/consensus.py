"""Consensus (CVAT's ``consensus`` app): settings per task with replicas, and merges of the
replica jobs into their parent jobs as background requests (``action=merge``).

CVAT's preconditions (``_TaskMerger.check_merging_available``), checked when the merge is
asked for (400 with the message): consensus enabled, a 2D task, and at least one parent job in
the ``annotation`` stage with a replica that is not ``annotation``/``new``; replicas still
``new`` are skipped. A merge replaces the parent job's annotations with the merged ones and
marks the parent ``completed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mockcvat import background, iam, listing
from mockcvat.compat import CONSENSUS_QUORUM_GONE
from mockcvat.errors import NotFound, ValidationFailed, gone_when_checking_process_status
from mockcvat.jsonlogic import FilterField
from mockcvat.models import ConsensusSettings, Data, Job, Segment, Task
from mockcvat.quality.consensus import merge_frame
from mockcvat.schemas.jobs import replica_type
from mockcvat.schemas.quality import ConsensusMergeCreate
from mockcvat.schemas.quality import ConsensusSettings as Schema
from mockcvat.services import annotations, resources
from mockcvat.services import quality as quality_service
from mockcvat.services.jobs import frames_of, status_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

RESULT_TTL = 300  # MergingManager.job_result_ttl
NOT_ENABLED = "Consensus is not enabled in this task"
ONLY_2D = "Merging is only supported in 2d tasks"


def ensure_settings(db: Session) -> None:
    """One settings object per task with replicas (CVAT makes it with the task)."""
    missing = db.execute(select(Task.id).where(
        Task.consensus_replicas > 0,
        Task.id.not_in(select(ConsensusSettings.task_id))).order_by(Task.id)).scalars().all()
    for task_id in missing:
        db.add(ConsensusSettings(task_id=task_id))
    if missing:
        db.flush()


LISTING = listing.Listing(
    fields={"id": FilterField("id", ConsensusSettings.id, "int"),
            "task_id": FilterField("task_id", ConsensusSettings.task_id, "int")},
    filter_fields=("id", "task_id"), ordering_fields=("id",), simple_filters=("task_id",),
)


def _payload(row: Any) -> dict[str, Any]:
    return Schema.dump({"id": row.id, "task_id": row.task_id,
                        "iou_threshold": row.iou_threshold, "quorum": row.quorum}) or {}


def list_settings(ctx: Context) -> dict[str, Any]:
    policy = iam.quality(ctx)
    policy.check_list()
    with ctx.mock.db.session() as db:
        ensure_settings(db)
        query = select(*ConsensusSettings.__table__.columns).where(
            ConsensusSettings.task_id.in_(policy.visible_tasks()))
        page = listing.paginate(db, query, LISTING, ctx.params, ctx.url,
                                pk=ConsensusSettings.id)
        return page.body([_payload(r) for r in page.rows])


def _load(ctx: Context, db: Session, pk: int, scope: str) -> ConsensusSettings:
    ensure_settings(db)
    row = db.get(ConsensusSettings, pk)
    if row is None:
        raise NotFound()
    task = db.get(Task, row.task_id)
    iam.quality(ctx).check_task(scope, resources.standing_for_task(ctx, db, task))
    return row


def retrieve_settings(ctx: Context, pk: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return _payload(_load(ctx, db, pk, "view"))


def update_settings(ctx: Context, pk: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        row = _load(ctx, db, pk, "update:desc")
        data = Schema.validate(raw, partial=True)
        for name in ("iou_threshold", "quorum"):  # quorum: 2.31-2.55
            if name in data:
                setattr(row, name, data[name])
        db.add(row)
        db.flush()
        return _payload(row)


# --- merges ---------------------------------------------------------------------------------------
def mergeable(db: Session, task: Task) -> dict[int, list[Job]]:
    """Parent job id -> its replicas that are not new (``_TaskMerger._init_jobs``)."""
    out: dict[int, list[Job]] = {}
    for job in db.execute(select(Job).where(Job.task_id == task.id,
                                            Job.parent_job_id.is_not(None)).order_by(Job.id)
                          ).scalars():
        parent = db.get(Job, job.parent_job_id)
        if parent is None or parent.stage != "annotation":
            continue
        if job.stage == "annotation" and job.state == "new":
            continue
        out.setdefault(parent.id or 0, []).append(job)
    return out


def check_available(db: Session, task: Task, parent_job_id: int | None,
                    emulated: Any = None) -> None:
    if not task.consensus_replicas:
        raise ValidationFailed([NOT_ENABLED])
    if task.dimension != "2d":
        raise ValidationFailed([ONLY_2D])
    jobs = mergeable(db, task)
    replica = replica_type(emulated)
    if not jobs:
        raise ValidationFailed([f"No annotation jobs in the annotation stage or no {replica} "
                                "jobs not in the annotation - new state found"])
    if parent_job_id and parent_job_id not in jobs:
        raise ValidationFailed([f"No annotated consensus jobs found for parent job "
                                f"{parent_job_id}. Make sure at least one consensus job is not "
                                "in the annotation - new state"])


def create_merge(ctx: Context, raw: Any) -> Any:
    """``POST /api/consensus/merges``: 202 ``{"rq_id"}``. ``?rq_id=`` checks a merge: until 2.38
    here (202 running, 201 done, 400 not mergeable), then a 410 (the requests API)."""
    from mockcvat.http import CvatJSONResponse

    rq_id = ctx.params.get("rq_id")
    if rq_id and ctx.mock.compat.has(since=background.NEW_REQUEST_IDS):
        raise gone_when_checking_process_status("merge")
    if rq_id is not None and not ctx.mock.compat.has(since=background.NEW_REQUEST_IDS):
        return _status_check(ctx, rq_id)
    body = ConsensusMergeCreate.validate(raw if raw is not None else {})
    task_id, job_id = body.get("task_id"), body.get("job_id")
    if (task_id is None) == (job_id is None):
        raise ValidationFailed(["Only one of task_id or job_id should be specified"])
    with ctx.mock.db.session() as db:
        if job_id is not None:
            job = db.get(Job, job_id)
            if job is None:
                raise NotFound(f"Jobs {job_id} do not exist")
            task = db.get(Task, job.task_id)
            target, target_id = "job", job_id
        else:
            task = db.get(Task, task_id)
            if task is None:
                raise NotFound(f"Task {task_id} does not exist")
            target, target_id = "task", task_id
        iam.quality(ctx).check_task("update:desc", resources.standing_for_task(ctx, db, task))
        check_available(db, task, job_id)
        organization_id, project_id = task.organization_id, task.project_id
        the_task_id = task.id or 0
    work = background.Work(
        action="merge", target=target, target_id=target_id, owner_id=ctx.user.id or 0,
        organization_id=organization_id, job="consensus.merge",
        args={"task_id": the_task_id, "parent_job_id": job_id}, project_id=project_id,
        task_id=the_task_id, job_id=job_id, result_ttl=RESULT_TTL)
    rq_id = ctx.mock.background.submit(work)
    return CvatJSONResponse({"rq_id": rq_id}, status_code=202)


@background.job("consensus.merge")
def _merge_job(mock: MockCVAT, reporter: background.Reporter, task_id: int,
               parent_job_id: int | None) -> None:
    """A merge request's work, as a job any process sharing the database may run."""
    merge(mock, task_id, parent_job_id)


def _status_check(ctx: Context, rq_id: str) -> Any:
    """2.31-2.37's ``?rq_id=``: an unknown or foreign merge is a 404, a merge CVAT found
    impossible a 400 with its reason, another failure a 500; 202 while running; 201 (no body)
    once done, and the request is forgotten."""
    from starlette.responses import Response

    from mockcvat.http import CvatJSONResponse

    view = ctx.mock.background.get(rq_id, poll=True)
    if view is None or view.owner_id != ctx.user.id or view.action != "merge":
        raise NotFound("Unknown request id")
    if view.status == "failed":
        message = view.message.strip()
        prefix = "rest_framework.exceptions.ValidationError: "
        if message.startswith(prefix):  # MergingNotAvailable
            return CvatJSONResponse(message[len(prefix):].strip(), status_code=400)
        return CvatJSONResponse(message, status_code=500)
    if view.status != "finished":
        return CvatJSONResponse({"rq_id": rq_id}, status_code=202)
    ctx.mock.background.forget(rq_id)
    return Response(status_code=201)


def merge(mock: MockCVAT, task_id: int, parent_job_id: int | None) -> None:
    """Merge the replicas of one parent job, or of every mergeable parent of the task: read in
    one transaction, vote outside any, write in another."""
    from mockcvat.schemas.annotations import LabeledData
    from mockcvat.services import task_data

    with mock.db.session() as db:
        task = db.get(Task, task_id)
        if task is None:
            raise background.RequestFailed("The task was deleted\n")
        try:
            check_available(db, task, parent_job_id, mock.compat)
        except ValidationFailed as exc:
            raise background.RequestFailed(
                f"rest_framework.exceptions.ValidationError: {exc.detail}\n") from None
        settings = db.execute(select(ConsensusSettings).where(
            ConsensusSettings.task_id == task_id)).scalars().first()
        iou_threshold = settings.iou_threshold if settings else ConsensusSettings().iou_threshold
        # 2.31-2.55: the share of replicas an annotation needs; later CVAT keeps every cluster
        quorum = (settings.quorum if settings else ConsensusSettings().quorum) \
            if mock.compat.has(until=CONSENSUS_QUORUM_GONE) else 0.0
        data = db.get(Data, task.data_id) if task.data_id else None
        store = task_data.frame_store(mock, data.id or 0) if data is not None else None
        sizes = {i: (f.width, f.height) for i, f in enumerate(store.manifest.frames)
                 } if store else {}
        book = annotations.LabelBook(db, task)
        labels = quality_service.comparison_labels(book)
        end = data.size if data is not None else 0
        groups = mergeable(db, task)
        work = []
        for parent_id in [parent_job_id] if parent_job_id else list(groups):
            parent = db.get(Job, parent_id)
            frames = set(frames_of(db.get(Segment, parent.segment_id)))
            replicas = [quality_service.frame_annotations(
                annotations.read_job(db, r.id or 0, book), r.id or 0, frames, book, end)
                for r in groups[parent_id]]
            work.append((parent_id, sorted(frames), replicas))

    results = []
    for parent_id, frames, replicas in work:
        merged: dict[str, list[dict[str, Any]]] = {"tags": [], "shapes": [], "tracks": []}
        for frame in frames:
            width, height = sizes.get(frame, (1, 1))
            for item in merge_frame([r[frame] for r in replicas], frame=frame, width=width,
                                    height=height, labels=labels, iou_threshold=iou_threshold,
                                    quorum=quorum):
                kind = item.pop("type")
                merged["tags" if kind == "tag" else "shapes"].append(
                    item if kind == "tag" else {**item, "type": kind})
        results.append((parent_id, LabeledData.validate({"version": 0, **merged})))

    with mock.db.session() as db:
        task = db.get(Task, task_id)
        if task is None:
            raise background.RequestFailed("The task was deleted\n")
        book = annotations.LabelBook(db, task)
        for parent_id, merged_data in results:
            parent = db.get(Job, parent_id)
            if parent is None:
                continue
            annotations.write_job(db, parent_id, merged_data, "put", book)
            annotations.touch(db, parent)
            if parent.type == "annotation":
                parent.state = "completed"
                parent.status = status_of(parent.stage, parent.state)
                db.add(parent)
