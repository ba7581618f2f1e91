"""Annotation guide and asset serializers (CVAT's ``AnnotationGuideReadSerializer``,
``AnnotationGuideWriteSerializer``, ``AssetReadSerializer``).

Components: ``AnnotationGuideRead``; ``AnnotationGuideWrite`` -> ``AnnotationGuideWriteRequest``
and ``PatchedAnnotationGuideWriteRequest``; ``AssetRead``. An asset is uploaded as a multipart
form (``file``, and ``guide_id``), which has no component (``ASSET_FORM``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat.schemas.fields import (
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    NestedField,
    Serializer,
    UUIDField,
)
from mockcvat.schemas.users import BasicUser

MAX_FILENAME_LENGTH = 1024

# the multipart body of POST /api/assets: ``file`` only until 2.38, then ``guide_id`` too (and
# both required), as the server always read them
ASSET_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary"}},
}
ASSET_FORM_WITH_GUIDE: dict[str, Any] = {
    "type": "object",
    "properties": {"guide_id": {"type": "integer"},
                   "file": {"type": "string", "format": "binary"}},
    "required": ["file", "guide_id"],
}


class AnnotationGuideRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "task_id": IntegerField(read_only=True, allow_null=True),
        "project_id": IntegerField(read_only=True, allow_null=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "markdown": CharField(read_only=True),
    }


class AnnotationGuideWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "task_id": IntegerField(allow_null=True, required=False),
        "project_id": IntegerField(allow_null=True, required=False),
        "markdown": CharField(allow_blank=True, required=False),
    }


class AssetRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "uuid": UUIDField(read_only=True),
        "filename": CharField(max_length=MAX_FILENAME_LENGTH),
        "created_date": DateTimeField(read_only=True),
        "owner": NestedField(BasicUser, required=False),
        "guide_id": IntegerField(read_only=True),
    }
