"""Task serializers (CVAT's ``TaskReadSerializer``, ``TaskWriteSerializer``, validation layouts).

Classes -> components: ``TaskRead``; ``TaskWrite`` -> ``TaskWriteRequest`` and
``PatchedTaskWriteRequest`` (``overlap``, ``segment_size`` and ``consensus_replicas`` are
write-once: ignored by PATCH); ``JobsSummary``; ``TaskValidationLayoutRead``;
``TaskValidationLayoutWrite`` -> ``PatchedTaskValidationLayoutWriteRequest``.

Validation done here (``cvat/apps/engine/serializers.py``, 2.26): the fields (``name`` 1..256
characters, ``bug_tracker`` <= 2000, ``subset`` <= 64, ``overlap``/``segment_size`` >= 0, labels
as in ``mockcvat.schemas.labels``), ``validate_consensus_replicas`` (1, or more than
``MAX_CONSENSUS_REPLICAS`` = 11 (env ``CVAT_MAX_CONSENSUS_REPLICAS``) -> ``"Consensus replicas
must be 0 or a positive number more than 1 and less than 12, got <n>"``; ``null`` is not accepted
by the field), ``TaskValidationLayoutWriteSerializer.validate``.

Left to the service (400 with a plain list body unless said otherwise):

* ``TaskWriteSerializer.create``: neither labels nor ``project_id`` -> ``"Label set or
  project_id must be present"``; both -> ``"Project must have only one of Label set or
  project_id"``; unknown project -> ``"The specified project #<id> does not exist."``; project in
  another organization -> ``"The task and its project should be in the same organization."``;
  storages (``mockcvat.schemas.storage``); labels (``mockcvat.schemas.labels``). ``owner_id`` and
  ``assignee_id`` are not checked by the serializer (the view sets the owner).
* ``TaskWriteSerializer.validate`` on update with ``project_id`` in the body: unknown project ->
  ``"Cannot find project with ID <id>"`` (a ``null`` project_id then fails with a 500 in CVAT);
  every label (and sublabel, per parent) of the task, renamed by the labels in the body, must
  exist by name in the target project, else ``"All task or project label names must be mapped
  to the target project"``.
* ``TaskWriteSerializer.update``: labels are only updated while the task has no project; moving
  to a project with tasks of another dimension -> ``"Dimension (<d>) of the task must be the same
  as other tasks in project (<d2>)"``; a label missing in the target project -> ``'Target project
  does not have label with name "<name>"'``; an attribute missing there -> ``'Target project does
  not have "<label>" label with "<attr>" attribute'``; annotations are remapped to the project's
  labels and the task's own labels deleted. An ``assignee_id`` change sets
  ``assignee_updated_date``.
* ``TaskValidationLayoutWriteSerializer.update`` (validated non-partially): no layout ->
  ``"Validation is not configured in the task"`` (the view even *returns* a ValidationError
  object there); unknown ``disabled_frames`` -> ``"Unknown frames requested for exclusion from the
  validation set: <f1, f2>"``; ``frame_selection_method`` when not ``gt_pool`` -> ``"Honeypots can
  only be modified if the task validation mode is 'gt_pool'"``; manual with a wrong count ->
  ``"Invalid size of 'honeypot_real_frames' array, expected <n>"``.

Representation (``TaskReadSerializer``): with ``omit_missing``, leave out ``data_chunk_size``,
``data_compressed_chunk_type``, ``data_original_chunk_type``, ``size``, ``image_quality`` and
``data`` while the task has no data (CVAT's ``ReadOnlyField(source='data.x')`` are skipped then);
``validation_mode`` and ``guide_id`` become ``null``. ``consensus_enabled`` is
``consensus_replicas > 0``; ``jobs`` is ``{count, completed, validation, url}`` (``completed``:
jobs in stage acceptance and state completed; ``validation``: jobs in stage validation).
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import REPLICA_JOB_TYPE, ByVersion
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.data import (
    MANUAL,
    VALIDATION_MODES,
    chunk_type_field,
    frame_selection_method_field,
    only_with_manual,
    require_field,
)
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    IntegerField,
    ListField,
    ListSerializerField,
    NestedField,
    Serializer,
    URLField,
    enum_choices,
)
from mockcvat.schemas.jobs import status_field
from mockcvat.schemas.labels import Label, LabelsSummary
from mockcvat.schemas.storage import Storage
from mockcvat.schemas.users import BasicUser

MAX_INT = 2147483647
MAX_CONSENSUS_REPLICAS = 11  # CVAT's settings.MAX_CONSENSUS_REPLICAS default


def _check_consensus_replicas(value: int) -> int:
    if value and (value == 1 or value < 0 or value > MAX_CONSENSUS_REPLICAS):
        raise ValidationFailed([
            "Consensus replicas must be 0 or a positive number more than 1 and less than "
            f"{MAX_CONSENSUS_REPLICAS + 1}, got {value}"])
    return value or 0


class JobsSummary(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "count": IntegerField(default=0),
        "completed": IntegerField(allow_null=True),
        "validation": IntegerField(allow_null=True),
        "url": URLField(read_only=True),
    }


class TaskRead(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "url": URLField(read_only=True),
        "id": IntegerField(read_only=True),
        "name": CharField(read_only=True),
        "project_id": IntegerField(required=False, allow_null=True),
        "mode": CharField(read_only=True),
        "owner": NestedField(BasicUser, required=False, allow_null=True),
        "assignee": NestedField(BasicUser, required=False, allow_null=True),
        "bug_tracker": CharField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "overlap": IntegerField(read_only=True, allow_null=True),
        "segment_size": IntegerField(read_only=True),
        "status": status_field(read_only=True),
        "data_chunk_size": IntegerField(read_only=True, schema_nullable=True, min_value=0,
                                        max_value=MAX_INT),
        "data_compressed_chunk_type": chunk_type_field(read_only=True),
        "guide_id": IntegerField(required=False, allow_null=True),
        "data_original_chunk_type": chunk_type_field(read_only=True),
        "size": IntegerField(read_only=True, min_value=0, max_value=MAX_INT),
        "image_quality": IntegerField(read_only=True, min_value=0, max_value=32767),
        # cvat-sdk 2.59: documented as nullable (the key is still left out without data)
        "data": ByVersion(IntegerField(read_only=True),
                          (compat.RESOURCE_NAMES,
                           IntegerField(read_only=True, schema_nullable=True))),
        "dimension": ByVersion(CharField(allow_blank=True, required=False),
                               (compat.MEDIA_TYPES, CharField(read_only=True))),
        "subset": CharField(read_only=True),
        "organization": IntegerField(read_only=True, allow_null=True),
        "organization_id": IntegerField(read_only=True, allow_null=True,
                                        since=compat.TRANSFERS),
        "data_cloud_storage_id": IntegerField(read_only=True, allow_null=True,
                                              since=compat.TRANSFERS),
        "project_name": CharField(read_only=True, allow_null=True, since=compat.RESOURCE_NAMES),
        "media_type": CharField(read_only=True, since=compat.MEDIA_TYPES),
        "target_storage": NestedField(Storage, required=False, allow_null=True),
        "source_storage": NestedField(Storage, required=False, allow_null=True),
        "jobs": NestedField(JobsSummary),
        "labels": NestedField(LabelsSummary),
        "assignee_updated_date": DateTimeField(read_only=True, allow_null=True),
        "validation_mode": CharField(
            required=False, allow_null=True,
            help_text="Describes how the task validation is performed. Configured at task "
            "creation"),
        "consensus_enabled": BooleanField(read_only=True, until=REPLICA_JOB_TYPE),
        "initial_replicas": IntegerField(read_only=True, since=REPLICA_JOB_TYPE),
    }


def _storage() -> ByVersion[Any]:
    """A task's source/target storage: ``null`` was accepted until cvat-sdk 2.44."""
    return ByVersion(NestedField(Storage, required=False, allow_null=True),
                     (compat.TRANSFERS, NestedField(Storage, required=False)))


class TaskWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=256),
        "project_id": IntegerField(required=False, allow_null=True),
        "owner_id": IntegerField(write_only=True, allow_null=True, required=False),
        "assignee_id": IntegerField(write_only=True, allow_null=True, required=False),
        "bug_tracker": CharField(max_length=2000, allow_blank=True, required=False),
        "overlap": IntegerField(min_value=0, max_value=MAX_INT, allow_null=True, required=False,
                                write_once=True),
        "segment_size": IntegerField(min_value=0, max_value=MAX_INT, required=False,
                                     write_once=True),
        "labels": ListSerializerField(Label, partial=True, required=False),
        "subset": CharField(max_length=64, allow_blank=True, required=False),
        "target_storage": _storage(),
        "source_storage": _storage(),
        "consensus_replicas": IntegerField(
            min_value=0, default=0, required=False, write_once=True,
            checks=[_check_consensus_replicas],
            help_text="The number of consensus replica jobs for each annotation job.\n"
            "Configured at task creation\n"),
        # cvat-sdk 2.80: the new name of consensus_replicas (which stays, as an alias)
        "initial_replicas": IntegerField(
            min_value=0, max_value=MAX_INT, required=False, write_once=True,
            checks=[_check_consensus_replicas], since=REPLICA_JOB_TYPE,
            help_text="The number of replica jobs for each annotation job. Configured at task "
            "creation."),
        "organization_id": IntegerField(allow_null=True, required=False, update_only=True,
                                        since=compat.TRANSFERS),
    }


class TaskValidationLayoutRead(Serializer):
    """With no layout CVAT shows ``{"mode": null, "frames_per_job_count": null}``; the
    ``honeypot_*`` fields only exist for ``gt_pool`` (``omit_missing``)."""

    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "mode": ChoiceField(enum_choices(VALIDATION_MODES), enum_name="ValidationMode",
                            read_only=True, allow_null=True),
        "frames_per_job_count": IntegerField(read_only=True, allow_null=True),
        "validation_frames": ListField(
            IntegerField(min_value=0), source="frames", required=False,
            help_text="The list of frame ids to be used for validation\n"),
        "disabled_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text="The list of frame ids excluded from validation\n"),
        "honeypot_count": IntegerField(min_value=0, required=False),
        "honeypot_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text="The list of frame ids for all honeypots in the task\n"),
        "honeypot_real_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text="The list of real (validation) frame ids for all honeypots in the task\n"),
    }


class TaskValidationLayoutWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "disabled_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text="The list of frame ids to be excluded from validation\n"),
        "frame_selection_method": frame_selection_method_field(
            required=False,
            help_text="The method to use for frame selection of new real frames for honeypots "
            "in the task\n"),
        "honeypot_real_frames": ListField(
            IntegerField(min_value=0), required=False,
            help_text='The list of frame ids. Applicable only to the "manual" frame selection '
            "method\n"),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """``TaskValidationLayoutWriteSerializer.validate`` (``non_field_errors``)."""
        method = data.get("frame_selection_method")
        if method == MANUAL:
            require_field(data, "honeypot_real_frames")
        only_with_manual(data, "honeypot_real_frames", method)
        return data
