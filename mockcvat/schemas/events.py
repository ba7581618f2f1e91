"""Serializers of the event log (``cvat/apps/events/serializers.py``) and analytics reports."""

from __future__ import annotations

from typing import ClassVar

from mockcvat.schemas.fields import (
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    ListSerializerField,
    NestedField,
    Serializer,
)


def _optional_text() -> CharField:
    return CharField(required=False, allow_null=True)


def _optional_int() -> IntegerField:
    return IntegerField(required=False, allow_null=True)


class Event(Serializer):
    """``EventSerializer``: one row of the event log."""

    fields: ClassVar[dict[str, Field]] = {
        "scope": CharField(),
        "obj_name": _optional_text(),
        "obj_id": _optional_int(),
        "obj_val": _optional_text(),
        "source": _optional_text(),
        "timestamp": DateTimeField(),
        "count": _optional_int(),
        "duration": IntegerField(required=False, default=0),
        "project_id": _optional_int(),
        "task_id": _optional_int(),
        "job_id": _optional_int(),
        "user_id": _optional_int(),
        "user_name": _optional_text(),
        "user_email": _optional_text(),
        "org_id": _optional_int(),
        "org_slug": _optional_text(),
        "payload": _optional_text(),
    }


class ClientEvents(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "events": ListSerializerField(Event, default=[]),
        "previous_event": NestedField(Event, default=None, allow_null=True, write_only=True),
        "timestamp": DateTimeField(),
    }
