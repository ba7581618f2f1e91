"""Serializers of background requests (CVAT: ``RequestSerializer``,
``RequestDataOperationSerializer``, ``UserIdentifiersSerializer``). ``RqId`` and ``RqStatus``
live with the operations that answer them (``schemas/data.py``, ``schemas/rq_status.py``)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.background import NEW_REQUEST_IDS
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    NestedField,
    Serializer,
    URLField,
)
from mockcvat.schemas.users import username_field

REQUEST_STATUSES = ("queued", "started", "failed", "finished")  # CVAT's RequestStatus order
REQUEST_ACTIONS = ("autoannotate", "create", "import", "export")
REQUEST_TARGETS = ("project", "task", "job")
REQUEST_SUBRESOURCES = ("annotations", "dataset", "backup")


def labelled(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """Django ``TextChoices`` pairs: ``("queued", "Queued")``."""
    return [(v, v.capitalize()) for v in values]


class TargetField(ChoiceField):
    """``operation.target``: a choice in 2.26, a free string in newer releases."""

    def openapi(self, request: bool) -> dict[str, Any]:
        if compat.current().has(since=NEW_REQUEST_IDS):
            return {"type": "string"}
        return super().openapi(request)


class UnitFloatField(FloatField):
    """A float in [0, 1] (``FloatField(min_value=0, max_value=1)``)."""

    def base_schema(self, request: bool) -> dict[str, Any]:
        return {**super().base_schema(request), "maximum": 1, "minimum": 0}


class UserIdentifiers(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "username": username_field(),
    }


class RequestDataOperation(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "type": CharField(),
        "target": TargetField(labelled(REQUEST_TARGETS),
                              enum_name="RequestDataOperationTargetEnum"),
        "project_id": IntegerField(required=False, allow_null=True),
        "task_id": IntegerField(required=False, allow_null=True),
        "job_id": IntegerField(required=False, allow_null=True),
        "org_id": IntegerField(required=False, allow_null=True, since=compat.RELEASE_2_65),
        "format": CharField(required=False, allow_null=True),
        "function_id": CharField(required=False, allow_null=True),
        "lightweight": BooleanField(required=False, allow_null=True,
                                    since=compat.LIGHTWEIGHT_BACKUPS),
    }


class RequestRead(Serializer):
    component = "Request"
    fields: ClassVar[dict[str, Field]] = {
        "status": ChoiceField(labelled(REQUEST_STATUSES), enum_name="RequestStatus"),
        "message": CharField(read_only=True),
        "id": CharField(),
        "operation": NestedField(RequestDataOperation),
        "progress": UnitFloatField(read_only=True, allow_null=True),
        "created_date": DateTimeField(),
        "started_date": DateTimeField(required=False, allow_null=True),
        "finished_date": DateTimeField(required=False, allow_null=True),
        "expiry_date": DateTimeField(read_only=True, allow_null=True),
        "owner": NestedField(UserIdentifiers, read_only=True),
        "result_url": URLField(required=False, allow_null=True),
        "result_id": IntegerField(required=False, allow_null=True),
    }

