"""Task validation: ground-truth jobs and validation layouts (CVAT 2.26's ``JobWriteSerializer
.create``, ``task._create_thread`` step "GT validation", ``TaskValidationLayout*Serializer``,
``JobValidationLayout*Serializer`` and the ``validation_layout`` actions of ``TaskViewSet`` and
``JobViewSet``).

The layout is ``Data.validation``: ``None`` (no validation), or ``{"mode": "gt", "frames": [...],
"disabled_frames": [...], "frames_per_job_count": None}`` with task-relative frame numbers. It
is written only once a GT job exists (CVAT's ``ValidationLayout`` row; the ``validation_params``
of a task being created are not a layout yet, so ``validation_mode`` stays ``null`` until the
data is processed, and after a failed creation).

Frames are drawn with ``random.Random(seed)``: the same seed gives the same frames for the same
task, although not the frames CVAT's numpy ``Generator(MT19937(seed))`` would draw.

Not supported: ``gt_pool`` (honeypots) — refused with a 400 when the data is posted, so the
honeypot branches of the layout endpoints answer what CVAT answers for tasks without a pool.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mockcvat import background
from mockcvat.errors import ValidationFailed
from mockcvat.models import Data, Job, Segment, Task
from mockcvat.models.users import utcnow
from mockcvat.schemas.data import MANUAL, RANDOM_PER_JOB, RANDOM_UNIFORM
from mockcvat.schemas.jobs import JobValidationLayoutRead, JobValidationLayoutWrite, JobWrite
from mockcvat.schemas.tasks import TaskValidationLayoutRead, TaskValidationLayoutWrite
from mockcvat.services import resources

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.media import Manifest
    from mockcvat.server import MockCVAT

GT, GT_POOL = "gt", "gt_pool"
GROUND_TRUTH = "ground_truth"
NOT_SPECIFIED = "The number of validation frames is not specified"
GT_POOL_UNSUPPORTED = ('validation mode "gt_pool" (honeypots) is not supported by this mock '
                       "(mockcvat); use \"gt\"")
HONEYPOTS_ONLY_IN_POOL = ("Honeypots can only be modified if the task validation mode is "
                          f"'{GT_POOL}'")
NO_LAYOUT = ("Task has no validation setup configured. Validation must be initialized during "
             "task creation")


def format_list(items: Sequence[str], *, max_items: int = 10, separator: str = ", ") -> str:
    """CVAT's ``cvat.apps.engine.utils.format_list``."""
    rest = len(items) - max_items
    return separator.join(items[:max_items]) + (f" (and {rest} more)" if rest > 0 else "")


# --- frame selection (shared by POST /api/jobs and task creation) -------------------------------
def rng(seed: int | None) -> random.Random:
    """A seeded generator; no seed means a random one, as in CVAT."""
    return random.Random(seed)  # noqa: S311 (frame sampling, not cryptography)


def pick(generator: random.Random, population: Sequence[int], count: int) -> list[int]:
    """``count`` distinct frames of ``population``, in the order drawn."""
    return generator.sample(list(population), min(count, len(population)))


def per_job(generator: random.Random, segments: Sequence[tuple[int, int]], count: int,
            overlap: int) -> list[int]:
    """``random_per_job``: up to ``count`` frames from every annotation segment, counting the
    frames already drawn from the overlap with the previous one and never drawing from the
    overlap at the start of a later segment (CVAT's loop)."""
    chosen: list[int] = []
    for start, stop in segments:
        frames = list(range(start, stop + 1))
        already = set(frames).intersection(chosen)
        missing = min(len(frames), count) - len(already)
        if missing <= 0:
            continue
        selectable = [f for f in frames[overlap * (start != 0):] if f not in already]
        chosen += pick(generator, selectable, missing)
    return chosen


def annotation_segments(db: Session, task_id: int) -> list[tuple[int, int]]:
    rows = db.execute(select(Segment.start_frame, Segment.stop_frame)
                      .where(Segment.task_id == task_id, Segment.type == "range")
                      .order_by(Segment.id))
    return [(start, stop) for start, stop in rows]


def add_gt_job(db: Session, task: Task, data: Data, frames: list[int], *,
               assignee_id: int | None = None, stage: str | None = None,
               state: str | None = None) -> Job:
    """The GT segment (``specific_frames`` over the whole task, as CVAT stores it), its job and
    the ``gt`` layout."""
    segment = Segment(task_id=task.id or 0, start_frame=0, stop_frame=max(data.size - 1, 0),
                      type="specific_frames", frames=list(frames))
    db.add(segment)
    db.flush()
    job = Job(segment_id=segment.id or 0, task_id=task.id or 0, type=GROUND_TRUTH)
    if stage is not None:
        job.stage = stage
    if state is not None:
        job.state = state
    if assignee_id is not None:
        job.assignee_id = assignee_id
        job.assignee_updated_date = job.updated_date
    db.add(job)
    data.validation = {"mode": GT, "frames": list(frames), "frames_per_job_count": None,
                       "disabled_frames": []}
    db.add(data)
    db.flush()
    return job


# --- task creation (``validation_params``) -------------------------------------------------------
def check_supported(params: Mapping[str, Any]) -> None:
    """At ``POST /api/tasks/{id}/data/``: refuse what this mock does not emulate (a 400)."""
    validation = params.get("validation_params") or {}
    if validation.get("mode") == GT_POOL:
        raise ValidationFailed({"validation_params": {"mode": [GT_POOL_UNSUPPORTED]}})


def _creation_failure(message: str) -> background.RequestFailed:
    """A DRF ValidationError raised in CVAT's worker, as the failed request shows it."""
    from mockcvat.media import MediaError
    from mockcvat.services.task_data import failure_message

    return background.RequestFailed(failure_message(MediaError(message)))


def check_params(mock: MockCVAT, task_id: int, params: Mapping[str, Any] | None) -> None:
    """``_validate_validation_params``: before the media is read; ``segment_size`` is the task's
    as created (0 unless given), so ``random_per_job`` with a count needs a larger one."""
    if not params or params.get("mode") != GT or params.get("frame_selection_method") != \
            RANDOM_PER_JOB or not params.get("frames_per_job_count"):
        return
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        segment_size = task.segment_size if task else 0
    if segment_size <= params["frames_per_job_count"]:
        raise _creation_failure(
            "Validation frame count per job cannot be greater than segment size")


def create_at_creation(db: Session, task: Task, data: Data, manifest: Manifest,
                       params: Mapping[str, Any] | None) -> None:
    """After the annotation jobs: the ``gt`` layout and its GT job (frames sorted)."""
    if not params or params.get("mode") != GT:
        return
    size = data.size
    generator = rng(params.get("random_seed"))
    method = params["frame_selection_method"]
    if method == RANDOM_UNIFORM:
        if count := params.get("frame_count"):
            if size < count:
                raise _creation_failure(
                    f"The number of validation frames requested ({count}) is greater that the "
                    f"number of task frames ({size})")
        elif share := params.get("frame_share"):
            count = max(1, int(share * size))
        else:
            raise _creation_failure(NOT_SPECIFIED)
        frames = pick(generator, range(size), count)
    elif method == RANDOM_PER_JOB:
        if count := params.get("frames_per_job_count"):
            if task.segment_size < count:
                raise _creation_failure(
                    "The requested number of GT frames per job must be less than task segment "
                    f"size ({task.segment_size})")
        elif share := params.get("frames_per_job_share"):
            count = min(max(1, int(share * task.segment_size)), size)
        else:
            raise _creation_failure(NOT_SPECIFIED)
        frames = per_job(generator, annotation_segments(db, task.id or 0), count,
                         task.overlap or 0)
    else:  # manual: file names
        if manifest.media_type == "video":
            raise _creation_failure(
                f"{MANUAL} validation frame selection method at task creation is only available "
                "for image-based tasks. Please create the GT job after the task is created.")
        known = {f.name: n for n, f in enumerate(manifest.frames)}
        unknown = sorted(name for name in params.get("frames", []) if name not in known)
        if unknown:
            raise _creation_failure(
                f"Unknown validation frames requested: {format_list(unknown)}")
        frames = [known[name] for name in params.get("frames", [])]
    add_gt_job(db, task, data, sorted(frames))


# --- POST /api/jobs ------------------------------------------------------------------------------
def _task_for_create(ctx: Context, db: Session, raw: Any) -> Task:
    """``JobPermission.create``: the task named by ``task_id`` (400s), viewable (403), and the
    caller may add jobs to it (403) — checked before the body is validated."""
    task = resources.referenced(db, raw, "task_id", Task, JobWrite,
                                missing="task_id is not specified")
    from mockcvat import iam

    policy = iam.engine(ctx)
    standing = resources.standing_for_task(ctx, db, task)
    policy.check(policy.allow_task("view", standing))
    policy.check(policy.allow_job("create", standing))
    return task


def create_job(ctx: Context, raw: Any) -> dict[str, Any]:
    from mockcvat.services import jobs

    with ctx.mock.db.session() as db:
        task = _task_for_create(ctx, db, raw)
        body = JobWrite.validate(raw)
        if body["type"] != GROUND_TRUTH:
            raise ValidationFailed([f"Unexpected job type '{body['type']}'"])
        data = db.get(Data, task.data_id) if task.data_id else None
        if data is None:
            raise ValidationFailed(["This task has no data attached yet. Please set up task data "
                                    "and try again"])
        if task.dimension != "2d":
            raise ValidationFailed(["Ground Truth jobs can only be added in 2d tasks"])
        mode = (data.validation or {}).get("mode")
        if mode in (GT, GT_POOL):
            raise ValidationFailed([f'Task with validation mode "{mode}" cannot have more than 1 '
                                    "GT job"])
        frames = _choose(db, task, data, body)
        if db.execute(select(Job.id).where(Job.task_id == task.id,
                                           Job.type == GROUND_TRUTH)).first():
            raise ValidationFailed(["A task can have only 1 ground truth job"])
        assignee = resources.check_user(
            ctx, db, "assignee", body.get("assignee"), task.organization_id)
        job = add_gt_job(db, task, data, frames, assignee_id=assignee,
                         stage=body.get("stage"), state=body.get("state"))
        created = jobs.payloads(ctx, db, [job])[0]
        ctx.mock.events.emit(ctx, db, "create:job", created, **jobs.ids_of(job, task))
        return created


def _choose(db: Session, task: Task, data: Data, body: Mapping[str, Any]) -> list[int]:
    """``JobWriteSerializer.create``'s frame choice (task-relative frames, in the order drawn or
    given, as CVAT stores them)."""
    size = data.size
    method = body.get("frame_selection_method")
    if method == RANDOM_UNIFORM:
        if count := body.get("frame_count"):
            if size < count:
                raise ValidationFailed([f"The number of frames requested ({count}) must be not "
                                        f"be greater than the number of the task frames ({size})"])
        elif share := body.get("frame_share"):
            count = max(1, int(share * size))
        else:
            raise ValidationFailed([NOT_SPECIFIED])
        population = list(range(size))
        seed, deprecated = body.get("random_seed"), body.get("seed")
        if deprecated is not None and count < size:
            # CVAT reproduces its pre-7126 sequences: the last frame is never drawn then
            seed, population = deprecated, population[:-1]
        return pick(rng(seed), population, count)
    if method == RANDOM_PER_JOB:
        if count := body.get("frames_per_job_count"):
            if size < count:
                raise ValidationFailed([f"The number of frames requested ({count}) must be not "
                                        f"be greater than the segment size ({task.segment_size})"])
        elif share := body.get("frames_per_job_share"):
            count = min(max(1, int(share * task.segment_size)), size)
        else:
            raise ValidationFailed([NOT_SPECIFIED])
        return per_job(rng(body.get("random_seed")), annotation_segments(db, task.id or 0),
                       count, task.overlap or 0)
    if method == MANUAL:
        frames = list(body["frames"])
        if len(set(frames)) != len(frames):
            raise ValidationFailed(["Frames must not repeat"])
        invalid = sorted(set(frames).difference(range(size)))
        if invalid:
            raise ValidationFailed(["The following frames do not exist in the task: "
                                    + format_list([str(f) for f in invalid])])
        return frames
    raise ValidationFailed([f"Unexpected frame selection method '{method}'"])


def clear_layout(db: Session, task: Task) -> None:
    """Deleting the GT job deletes the task's validation layout (``perform_destroy``)."""
    data = db.get(Data, task.data_id) if task.data_id else None
    if data is not None and data.validation is not None:
        data.validation = None
        db.add(data)


def check_gt_job_removable(db: Session, task: Task) -> None:
    data = db.get(Data, task.data_id) if task.data_id else None
    if data is not None and (data.validation or {}).get("mode") == GT_POOL:
        raise ValidationFailed([f'GT jobs cannot be removed when task validation mode is '
                                f'"{GT_POOL}"'])


# --- /api/tasks/{id}/validation_layout -----------------------------------------------------------
def _task_layout(data: Data | None) -> dict[str, Any]:
    layout = data.validation if data is not None else None
    if not layout:
        return TaskValidationLayoutRead.dump({"mode": None}) or {}
    return TaskValidationLayoutRead.dump({
        "mode": layout["mode"], "frames_per_job_count": layout.get("frames_per_job_count"),
        "frames": layout.get("frames", []),
        "disabled_frames": layout.get("disabled_frames", [])}) or {}


def task_layout(ctx: Context, task_id: int) -> dict[str, Any]:
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "view:validation_layout")
        return _task_layout(db.get(Data, task.data_id) if task.data_id else None)


def patch_task_layout(ctx: Context, task_id: int, raw: Any) -> dict[str, Any]:
    from mockcvat.services import tasks

    with ctx.mock.db.session() as db:
        task = tasks.load(ctx, db, task_id, "update:validation_layout")
        data = db.get(Data, task.data_id) if task.data_id else None
        layout = dict(data.validation) if data is not None and data.validation else None
        if layout is None:
            # CVAT *returns* this ValidationError from the view, which DRF answers with a 500
            raise ValidationFailed([NO_LAYOUT])
        body = TaskValidationLayoutWrite.validate(raw, partial=False)
        if "disabled_frames" in body:
            requested = body["disabled_frames"]
            unknown = sorted(set(requested).difference(layout.get("frames", [])))
            if unknown:
                raise ValidationFailed(
                    ["Unknown frames requested for exclusion from the validation set: "
                     + format_list([str(f) for f in unknown])])
            layout["disabled_frames"] = list(requested)
            assert data is not None
            data.validation = layout
            db.add(data)
            task.updated_date = utcnow()
            db.add(task)
        if body.get("frame_selection_method") and layout["mode"] != GT_POOL:
            raise ValidationFailed([HONEYPOTS_ONLY_IN_POOL])
        db.flush()
        return _task_layout(data)


# --- /api/jobs/{id}/validation_layout ------------------------------------------------------------
def job_layout(ctx: Context, job_id: int) -> dict[str, Any]:
    from mockcvat.services import jobs

    with ctx.mock.db.session() as db:
        jobs.load(ctx, db, job_id, "view:validation_layout")
        # honeypot counts and frames exist only in gt_pool tasks: {} otherwise
        return JobValidationLayoutRead.dump({}) or {}


def patch_job_layout(ctx: Context, job_id: int, raw: Any) -> dict[str, Any]:
    from mockcvat.services import jobs

    with ctx.mock.db.session() as db:
        job, task = jobs.load(ctx, db, job_id, "update:validation_layout")
        body = JobValidationLayoutWrite.validate(raw, partial=False)
        if body["frame_selection_method"] == RANDOM_PER_JOB:
            # CVAT's validate() ends in ``assert False`` here (a 500)
            raise ValidationFailed({"frame_selection_method": [
                f'"{RANDOM_PER_JOB}" is not a valid choice.']})
        data = db.get(Data, task.data_id) if task.data_id else None
        if data is None or (data.validation or {}).get("mode") != GT_POOL:
            raise ValidationFailed([HONEYPOTS_ONLY_IN_POOL])
        if job.type == GROUND_TRUTH:
            raise ValidationFailed([f"Honeypots cannot exist in {GROUND_TRUTH} jobs"])
        return JobValidationLayoutRead.dump({}) or {}
