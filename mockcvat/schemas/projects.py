"""Project serializers (CVAT's ``ProjectReadSerializer``, ``ProjectWriteSerializer``).

Classes -> components: ``ProjectRead``; ``ProjectWrite`` -> ``ProjectWriteRequest`` and
``PatchedProjectWriteRequest``; ``TasksSummary``.

Validation done here (``cvat/apps/engine/serializers.py``, 2.26): the fields only (``name``
1..256 characters, ``bug_tracker`` <= 2000, labels as in ``mockcvat.schemas.labels``; ``labels``
defaults to ``[]`` on create). ``ProjectWriteSerializer`` has no ``validate()``.

Left to the service: label rules (``mockcvat.schemas.labels``: colors, uniqueness, updates by
``id``, deletion with ``deleted``), storages (``mockcvat.schemas.storage``), ``owner_id`` and
``assignee_id`` are not checked by the serializer; an ``assignee_id`` change sets
``assignee_updated_date``; a labels change touches ``updated_date`` of the project's tasks and
jobs.

Representation (``ProjectReadSerializer.to_representation``): ``task_subsets`` is the set of the
tasks' non-empty subsets (unordered in CVAT); ``dimension`` is the first task's non-empty
dimension, or ``null``; ``tasks`` is ``{count, url}``; ``guide_id`` is ``null`` without a guide.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
from mockcvat.schemas.fields import (
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    ListField,
    ListSerializerField,
    NestedField,
    Serializer,
    URLField,
)
from mockcvat.schemas.jobs import status_field
from mockcvat.schemas.labels import Label, LabelsSummary
from mockcvat.schemas.storage import Storage
from mockcvat.schemas.users import BasicUser


class TasksSummary(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "count": IntegerField(default=0),
        "url": URLField(read_only=True),
    }


class ProjectRead(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Any]] = {
        "url": URLField(read_only=True),
        "id": IntegerField(read_only=True),
        "name": CharField(read_only=True),
        "owner": NestedField(BasicUser, read_only=True, allow_null=True),
        "assignee": NestedField(BasicUser, read_only=True, allow_null=True),
        "guide_id": IntegerField(required=False, allow_null=True),
        "bug_tracker": CharField(read_only=True),
        "task_subsets": ListField(CharField(), read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "status": status_field(read_only=True),
        "dimension": ByVersion(CharField(max_length=16, read_only=True, allow_null=True),
                               (compat.MEDIA_TYPES, CharField(read_only=True, allow_null=True))),
        "organization": IntegerField(read_only=True, allow_null=True),
        "organization_id": IntegerField(read_only=True, allow_null=True,
                                        since=compat.TRANSFERS),
        "target_storage": NestedField(Storage, read_only=True, allow_null=True),
        "source_storage": NestedField(Storage, read_only=True, allow_null=True),
        "tasks": NestedField(TasksSummary),
        "labels": NestedField(LabelsSummary),
        "assignee_updated_date": DateTimeField(read_only=True, allow_null=True),
    }


class ProjectWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=256),
        "labels": ListSerializerField(Label, partial=True, write_only=True, default=[]),
        "owner_id": IntegerField(write_only=True, allow_null=True, required=False),
        "assignee_id": IntegerField(write_only=True, allow_null=True, required=False),
        "bug_tracker": CharField(max_length=2000, allow_blank=True, required=False),
        "target_storage": NestedField(Storage, write_only=True, required=False),
        "source_storage": NestedField(Storage, write_only=True, required=False),
        "organization_id": IntegerField(allow_null=True, required=False, update_only=True,
                                        since=compat.TRANSFERS),
    }
