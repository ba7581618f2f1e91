"""Job serializers (CVAT's ``JobReadSerializer``, ``JobWriteSerializer``, validation layouts).

Classes -> components: ``JobRead``; ``JobWrite`` -> ``JobWriteRequest`` (POST, ground-truth jobs)
and ``PatchedJobWriteRequest`` (PATCH: only ``assignee``, ``stage``, ``state``: the rest is
write-once); ``JobDataMetaWrite`` -> ``PatchedJobDataMetaWriteRequest``;
``JobValidationLayoutRead``; ``JobValidationLayoutWrite`` ->
``PatchedJobValidationLayoutWriteRequest``; ``IssuesSummary``; the enums ``JobStatus`` (also the
``status`` of projects and tasks), ``JobStage``, ``OperationStatus`` (a job's ``state``) and
``JobType``.

Validation done here (``cvat/apps/engine/serializers.py``, 2.26): ``JobWriteSerializer.validate``
and ``JobValidationLayoutWriteSerializer.validate`` (see ``validate_object``), the
``frame_share``/``frames_per_job_share`` range, ``frames`` not empty.

Left to the service:

* ``JobWriteSerializer.create`` (400, plain list): ``type`` other than ``ground_truth`` ->
  ``"Unexpected job type '<type>'"``; task without data -> ``"This task has no data attached yet.
  Please set up task data and try again"``; 3D task -> ``"Ground Truth jobs can only be added in
  2d tasks"``; task with a validation layout (gt or gt_pool) -> ``'Task with validation mode
  "<mode>" cannot have more than 1 GT job'``; a second GT job -> ``"A task can have only 1 ground
  truth job"``; ``frame_count`` > task size -> ``"The number of frames requested (<n>) must be not
  be greater than the number of the task frames (<size>)"`` (``random_per_job``: ``... must be not
  be greater than the segment size (<segment_size>)``); manual ``frames`` repeated -> ``"Frames
  must not repeat"``, outside the task -> ``"The following frames do not exist in the task:
  <f1, f2>"``; frames are drawn with numpy ``Generator(MT19937(seed))``.
* ``JobWriteSerializer.update``: a ``stage``/``state`` change recomputes ``status``
  (annotation stage -> ``annotation``; acceptance + completed -> ``completed``; else
  ``validation``); a ``stage`` change without ``state`` resets ``state`` to ``new``; an
  ``assignee`` change sets ``assignee_updated_date``. The assignee id is not checked by the
  serializer.
* ``JobViewSet.perform_destroy``: ``"Only ground truth jobs can be removed"``; ``'GT jobs cannot
  be removed when task validation mode is "gt_pool"'``.
* ``JobDataMetaWriteSerializer.update`` (validated non-partially, like every PATCH below):
  frames outside the job -> ``"Frames <f1, f2> do not belong to the job"``.
* ``JobValidationLayoutWriteSerializer.update``: not ``gt_pool`` -> ``"Honeypots can only be
  modified if the task validation mode is 'gt_pool'"``; a GT job -> ``"Honeypots cannot exist in
  ground_truth jobs"``; manual frames not in the pool / disabled / wrong count -> the messages
  in the source (``"Could not update honeypot frames: ..."``). CVAT validates this body
  non-partially: ``frame_selection_method`` is required although the component is
  ``Patched...``; ``random_per_job`` passes the fields and then fails an ``assert`` (500).

Representation (``JobReadSerializer.to_representation``): ``data_compressed_chunk_type`` is
``imageset`` for ``specific_frames`` segments (GT jobs); ``consensus_replicas`` is the task's for
annotation jobs and 0 otherwise; ``source_storage``/``target_storage`` are the task's when the
user may view the task; ``issues`` and ``labels`` are ``{url, count}``/``{url}``;
``bug_tracker`` is the task's or else the project's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import REPLICA_JOB_TYPE, ByVersion
from mockcvat.schemas.data import (
    MANUAL,
    RANDOM_PER_JOB,
    RANDOM_UNIFORM,
    chunk_type_field,
    frame_selection_method_field,
    only_with_manual,
    require_field,
    require_one_of_fields,
    validate_share,
)
from mockcvat.schemas.fields import (
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    ListField,
    ListSerializerField,
    NestedField,
    Serializer,
    URLField,
    changed_choices,
    enum_choices,
)
from mockcvat.schemas.labels import LabelsSummary
from mockcvat.schemas.storage import Storage
from mockcvat.schemas.users import BasicUser

STATUSES = ("annotation", "validation", "completed")
STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")
JOB_TYPES = ("annotation", "ground_truth", "consensus_replica", "replica")
# the job types a version knows (its list filter's choices)
JOB_TYPE_NAMES = ByVersion(("annotation", "ground_truth", "consensus_replica"),
                           (REPLICA_JOB_TYPE, ("annotation", "ground_truth", "replica")))
# a task's dimension -> its ``media_type`` (the kind of its frames)
MEDIA_TYPE_OF = {"2d": "image", "3d": "point_cloud", "1d": "audio"}
DIMENSIONS = ByVersion(("3d", "2d"), (compat.MEDIA_TYPES, ("1d", "2d", "3d")))
MODES = ("annotation", "interpolation")  # a task's mode: images or video


def replica_type(emulated: compat.Compat | None = None) -> str:
    """The replica job type of the emulated version (``compat.REPLICA_JOB_TYPE``); pass the
    server's ``Compat`` off the request thread."""
    has = (emulated or compat.current()).has(since=REPLICA_JOB_TYPE)
    return "replica" if has else "consensus_replica"


def job_type(stored: str) -> str:
    """The name a client of the emulated version sees for a stored job type (a data dir made
    under another version may hold the other name of a replica)."""
    return replica_type() if stored in ("consensus_replica", "replica") else stored


MAX_INT, MIN_INT = 2147483647, -2147483648


def status_field(**kwargs: Any) -> ChoiceField:
    """CVAT's ``StatusChoice`` (jobs, tasks and projects)."""
    return ChoiceField(enum_choices(STATUSES), enum_name="JobStatus", **kwargs)


def stage_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(enum_choices(STAGES), enum_name="JobStage", **kwargs)


def state_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(enum_choices(STATES), enum_name="OperationStatus", **kwargs)


def job_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(enum_choices(JOB_TYPES), enum_name="JobType", choice_versions=(
        changed_choices(REPLICA_JOB_TYPE, added=("replica",), removed=("consensus_replica",))),
        **kwargs)


class IssuesSummary(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "url": URLField(read_only=True),
        "count": IntegerField(read_only=True),
    }


class JobRead(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "url": URLField(read_only=True),
        "id": IntegerField(read_only=True),
        "task_id": IntegerField(read_only=True),
        "project_id": IntegerField(read_only=True, allow_null=True),
        "assignee": NestedField(BasicUser, read_only=True, allow_null=True),
        "guide_id": IntegerField(read_only=True, allow_null=True),
        "dimension": ByVersion(CharField(max_length=2, read_only=True),
                               (compat.MEDIA_TYPES, CharField(read_only=True))),
        "bug_tracker": CharField(max_length=2000, read_only=True, allow_null=True),
        "status": status_field(read_only=True),
        "stage": stage_field(read_only=True),
        "state": state_field(read_only=True),
        "mode": CharField(read_only=True),
        "frame_count": IntegerField(read_only=True),
        "start_frame": IntegerField(read_only=True, min_value=MIN_INT, max_value=MAX_INT),
        "stop_frame": IntegerField(read_only=True, min_value=MIN_INT, max_value=MAX_INT),
        "data_chunk_size": IntegerField(read_only=True, schema_nullable=True, min_value=0,
                                        max_value=MAX_INT),
        "data_compressed_chunk_type": chunk_type_field(read_only=True),
        "data_original_chunk_type": chunk_type_field(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "issues": NestedField(IssuesSummary),
        "labels": NestedField(LabelsSummary),
        "type": job_type_field(read_only=True),
        "organization": IntegerField(read_only=True, allow_null=True),
        "target_storage": NestedField(Storage, required=False, allow_null=True),
        "source_storage": NestedField(Storage, required=False, allow_null=True),
        "assignee_updated_date": DateTimeField(read_only=True, allow_null=True),
        "parent_job_id": IntegerField(read_only=True, allow_null=True),
        "consensus_replicas": IntegerField(read_only=True, until=REPLICA_JOB_TYPE),
        "task_name": CharField(read_only=True, allow_null=True, since=compat.RESOURCE_NAMES),
        "project_name": CharField(read_only=True, allow_null=True, since=compat.RESOURCE_NAMES),
        "replicas_count": IntegerField(read_only=True, since=compat.RESOURCE_NAMES),
        "media_type": CharField(read_only=True, since=compat.MEDIA_TYPES),
    }


_RANDOM_SEED_HELP = """\
The seed value for the random number generator.
The same value will produce the same frame sets.
Applicable only to random frame selection methods.
By default, a random value is used.
"""


class JobWrite(Serializer):
    """The body of ``POST /api/jobs`` and (partially: write-once fields ignored) of PATCH."""

    fields: ClassVar[dict[str, Field]] = {
        "assignee": IntegerField(allow_null=True, required=False),
        "stage": stage_field(required=False),
        "state": state_field(required=False),
        "type": job_type_field(write_once=True),
        "task_id": IntegerField(write_once=True),
        "frame_selection_method": frame_selection_method_field(required=False, write_once=True),
        "frame_count": IntegerField(
            min_value=1, required=False, write_once=True,
            help_text='The number of frames included in the GT job.\nApplicable only to the '
            '"random_uniform" frame selection method\n'),
        "frame_share": FloatField(
            required=False, write_once=True, checks=[validate_share],
            help_text='The share of frames included in the GT job.\nApplicable only to the '
            '"random_uniform" frame selection method\n'),
        "frames_per_job_count": IntegerField(
            min_value=1, required=False, write_once=True,
            help_text="The number of frames included in the GT job from each annotation job.\n"
            'Applicable only to the "random_per_job" frame selection method\n'),
        "frames_per_job_share": FloatField(
            required=False, write_once=True, checks=[validate_share],
            help_text="The share of frames included in the GT job from each annotation job.\n"
            'Applicable only to the "random_per_job" frame selection method\n'),
        "random_seed": IntegerField(min_value=0, required=False, write_once=True,
                                    help_text=_RANDOM_SEED_HELP),
        "seed": IntegerField(min_value=0, required=False, write_once=True,
                             help_text="Deprecated. Use random_seed instead.",
                             until="2.44.0"),  # cvat-sdk 2.44
        "frames": ListField(
            IntegerField(min_value=0), required=False, allow_empty=False, write_once=True,
            help_text='The list of frame ids. Applicable only to the "manual" frame selection '
            "method\n"),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """``JobWriteSerializer.validate`` (``non_field_errors``)."""
        method = data.get("frame_selection_method")
        if method == RANDOM_UNIFORM:
            require_one_of_fields(data, ["frame_count", "frame_share"])
            # "seed" is a backward compatibility alias
            if data.get("seed") is not None or data.get("random_seed") is not None:
                require_one_of_fields(data, ["seed", "random_seed"])
        elif method == RANDOM_PER_JOB:
            require_one_of_fields(data, ["frames_per_job_count", "frames_per_job_share"])
        elif method == MANUAL:
            require_field(data, "frames")
        only_with_manual(data, "frames", method)
        return data


class JobDataMetaWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "deleted_frames": ListField(IntegerField(min_value=0)),
    }


class JobValidationLayoutRead(Serializer):
    """``{}`` unless the task's validation mode is ``gt_pool`` (``omit_missing``)."""

    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "honeypot_count": IntegerField(min_value=0, required=False),
        "honeypot_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text="The list of frame ids for honeypots in the job\n"),
        "honeypot_real_frames": ListSerializerField(
            IntegerField(min_value=0), required=False,
            help_text="The list of real (validation) frame ids for honeypots in the job\n"),
    }


class JobValidationLayoutWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "frame_selection_method": frame_selection_method_field(
            help_text="The method to use for frame selection of new real frames for honeypots "
            "in the job\n"),
        "honeypot_real_frames": ListSerializerField(
            IntegerField(min_value=0), required=False, allow_empty=False,
            help_text='The list of frame ids. Applicable only to the "manual" frame selection '
            "method\n"),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """``JobValidationLayoutWriteSerializer.validate`` (``non_field_errors``)."""
        method = data.get("frame_selection_method")
        if method == MANUAL:
            require_field(data, "honeypot_real_frames")
        only_with_manual(data, "honeypot_real_frames", method)
        # random_per_job: CVAT's validate() ends in ``assert False`` (a 500); the service decides
        return data
