"""Issue and comment serializers (CVAT's ``IssueReadSerializer``, ``IssueWriteSerializer``,
``CommentReadSerializer``, ``CommentWriteSerializer``, ``CommentsSummarySerializer``).

Components: ``IssueRead``; ``IssueWrite`` -> ``IssueWriteRequest`` and ``PatchedIssueWriteRequest``
(``frame``, ``job`` and ``message`` are write-once, so a PATCH changes only ``position``,
``assignee`` and ``resolved``); ``CommentRead``; ``CommentWrite`` -> ``CommentWriteRequest`` and
``PatchedCommentWriteRequest`` (``issue`` is write-once); ``CommentsSummary``.

Left to the service (``mockcvat.services.issues``): whether ``job``, ``issue`` and ``assignee``
exist (DRF's ``Invalid pk "<pk>" - object does not exist.``), the defaults the models give
(``resolved`` false, a comment's ``message`` empty), and the first comment an issue is created
with.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    ListField,
    NestedField,
    PrimaryKeyField,
    Serializer,
    URLField,
)
from mockcvat.schemas.users import BasicUser

MAX_FRAME = 2147483647  # a PositiveIntegerField


def finite(value: float) -> float:
    """CVAT stores NaN/Infinity and then fails rendering them (500); refused here instead."""
    if not math.isfinite(value):
        raise ValidationFailed(["A valid number is required."])
    return value


def position_field(**kwargs: Any) -> ListField:
    return ListField(FloatField(checks=[finite]), allow_empty=False, **kwargs)


class CommentsSummary(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "count": IntegerField(default=0),
        "url": URLField(read_only=True),
    }


class IssueRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "frame": IntegerField(read_only=True),
        "position": position_field(),
        "job": IntegerField(read_only=True),
        "owner": NestedField(BasicUser, allow_null=True, required=False),
        "assignee": NestedField(BasicUser, allow_null=True, required=False),
        "created_date": DateTimeField(read_only=True, allow_null=True),
        "updated_date": DateTimeField(read_only=True, allow_null=True),
        "resolved": BooleanField(read_only=True),
        "comments": NestedField(CommentsSummary),
    }


class IssueWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "frame": IntegerField(min_value=0, max_value=MAX_FRAME, write_once=True),
        "position": position_field(),
        "job": PrimaryKeyField(write_once=True),
        "assignee": PrimaryKeyField(allow_null=True, required=False),
        "message": CharField(write_once=True),
        "resolved": BooleanField(required=False),
    }


class CommentRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "issue": IntegerField(read_only=True),
        "owner": NestedField(BasicUser, allow_null=True, required=False),
        "message": CharField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
    }


class CommentWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "issue": PrimaryKeyField(write_once=True),
        "message": CharField(required=False),
    }
