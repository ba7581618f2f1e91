"""Serializers of the event log (``cvat/apps/events/serializers.py``) and analytics reports."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

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
    enum_choices,
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


# --- analytics reports (cvat/apps/analytics_report/serializers.py; CVAT 2.26) -------------------
class DateField(Field):
    """DRF's ``DateField``: ``YYYY-MM-DD``."""

    openapi_type = "string"
    openapi_format = "date"

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value


class DictField(ListField):
    """DRF's ``DictField(child=...)``: an object whose values are all ``child``."""

    openapi_type = "object"

    def to_representation(self, value: Any) -> Any:
        return {key: self.child.to_representation(item) for key, item in (value or {}).items()}

    def base_schema(self, request: bool) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.child.openapi(request)}


class DataFrame(Serializer):
    fields: ClassVar[dict[str, Field]] = {"value": FloatField(), "date": DateField()}


class BinaryOperation(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "left": CharField(allow_null=True, required=False, help_text=(
            "The name of the data series used as the left (first) operand of the binary "
            "operation.")),
        "operator": ChoiceField([("+", "ADDITION"), ("-", "SUBTRACTION"),
                                 ("*", "MULTIPLICATION"), ("/", "DIVISION")],
                                enum_name="OperatorEnum"),
        "right": CharField(allow_null=True, required=False, help_text=(
            "The name of the data series used as the right (second) operand of the binary "
            "operation.")),
    }


class Transformation(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(),
        "binary": NestedField(BinaryOperation, allow_null=True, required=False),
    }


class Metric(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(),
        "title": CharField(),
        "description": CharField(),
        "granularity": ChoiceField(enum_choices(("day", "week", "month")),
                                   enum_name="GranularityEnum", allow_null=True, required=False),
        "default_view": ChoiceField(enum_choices(("numeric", "histogram")),
                                    enum_name="DefaultViewEnum"),
        "data_series": DictField(ListField(NestedField(DataFrame))),
        "transformations": ListField(NestedField(Transformation)),
    }


def _target_id() -> IntegerField:
    return IntegerField(required=False)


class AnalyticsReport(Serializer):
    omit_missing = True  # only the id of the report's target is shown
    fields: ClassVar[dict[str, Field]] = {
        "created_date": DateTimeField(),
        "target": ChoiceField(enum_choices(("job", "task", "project")),
                              enum_name="AnalyticsReportTargetEnum"),
        "job_id": _target_id(),
        "task_id": _target_id(),
        "project_id": _target_id(),
        "statistics": ListField(NestedField(Metric)),
    }


class AnalyticsReportCreate(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "job_id": _target_id(), "task_id": _target_id(), "project_id": _target_id()}
