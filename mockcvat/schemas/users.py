"""User serializers (CVAT: ``UserSerializer``, ``BasicUserSerializer``, ``MetaUser``)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    EmailField,
    Field,
    IntegerField,
    ListField,
    Serializer,
    URLField,
)

USERNAME_PATTERN = r"^[\w.@+-]+$"
USERNAME_HELP = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."
USERNAME_INVALID = (
    "Enter a valid username. This value may contain only letters, numbers, "
    "and @/./+/-/_ characters."
)


def username_field(**kwargs: Any) -> CharField:
    options: dict[str, Any] = {"max_length": 150, "pattern": USERNAME_PATTERN,
                               "pattern_message": USERNAME_INVALID, "help_text": USERNAME_HELP}
    return CharField(**{**options, **kwargs})


def _basic_fields() -> dict[str, Field]:
    return {
        "url": URLField(read_only=True, source=lambda u: u["url"]),
        "id": IntegerField(read_only=True),
        "username": username_field(),
        "first_name": CharField(max_length=150, allow_blank=True, required=False),
        "last_name": CharField(max_length=150, allow_blank=True, required=False),
    }


class BasicUser(Serializer):
    fields: ClassVar[dict[str, Field]] = _basic_fields()


class User(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **_basic_fields(),
        "email": EmailField(
            max_length=254, allow_blank=True, required=False, title="Email address"
        ),
        "groups": ListField(CharField()),
        "is_staff": BooleanField(
            required=False,
            title="Staff status",
            help_text="Designates whether the user can log into this admin site.",
        ),
        "is_superuser": BooleanField(
            required=False,
            title="Superuser status",
            help_text="Designates that this user has all permissions without explicitly "
            "assigning them.",
        ),
        "is_active": BooleanField(
            required=False,
            title="Active",
            help_text="Designates whether this user should be treated as active. Unselect "
            "this instead of deleting accounts.",
        ),
        "last_login": DateTimeField(read_only=True, allow_null=True),
        "date_joined": DateTimeField(read_only=True),
        "has_analytics_access": BooleanField(read_only=True),
    }


class MetaUser(Serializer):
    """Admins (and users looking at themselves) get ``User``; others get ``BasicUser``."""

    any_of = (User, BasicUser)
    fields: ClassVar[dict[str, Field]] = {}
