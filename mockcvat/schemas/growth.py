"""The growth app's serializer (CVAT 2.74+, ``cvat/apps/growth/serializers.py``:
``UserGrowthDataSerializer``) -> ``UserGrowthData``, ``PatchedUserGrowthDataRequest``.

``github_prompt_shown`` is written as "shown now" and read as "still on cooldown";
``github_prompt_shown``/``github_prompt_support_clicked`` can only be set to true.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import BooleanField, Field, IntegerField, NestedField, Serializer
from mockcvat.schemas.users import BasicUser

ONLY_TRUE = "This value can only be set to true."


class UserGrowthData(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "owner": NestedField(BasicUser, read_only=True),
        "github_prompt_shown": BooleanField(required=False),
        "github_prompt_support_clicked": BooleanField(required=False),
        "github_prompt_enabled": BooleanField(read_only=True),
        "promotion_notifications_allowed": BooleanField(required=False),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        for name in ("github_prompt_shown", "github_prompt_support_clicked"):
            if name in data and data[name] is not True:
                raise ValidationFailed({name: [ONLY_TRUE]})
        return data
