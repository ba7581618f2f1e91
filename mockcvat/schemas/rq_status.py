"""``RqStatus``: the deprecated ``GET /api/tasks/{id}/status`` answer (``RqStatusSerializer``)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat.schemas.fields import CharField, ChoiceField, Field, FloatField, Serializer

STATES = ("Queued", "Started", "Finished", "Failed")


class RqStatus(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "state": ChoiceField([(s, s) for s in STATES], enum_name="RqStatusStateEnum"),
        "message": CharField(required=False),
        "progress": FloatField(required=False),
    }

    @classmethod
    def openapi(cls, *, request: bool = False, partial: bool = False) -> dict[str, Any]:
        schema = super().openapi(request=request, partial=partial)
        # DRF's field defaults and bound, which this serializer layer does not model
        schema["properties"]["message"]["default"] = ""
        schema["properties"]["progress"].update(maximum=100, default=0.0)
        return schema
