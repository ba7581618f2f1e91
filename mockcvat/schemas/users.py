"""User serializers (CVAT: ``UserSerializer``, ``BasicUserSerializer``, ``MetaUser``)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    EmailField,
    Field,
    IntegerField,
    ListField,
    Serializer,
    URLField,
    enum_choices,
)

CREATED_VIA = ("invitation", "ldap", "registration", "social", "sso")
CVAT_USAGE_REASONS = ("academic_research", "personal_project", "teaching_or_coursework",
                      "work_project")
PLANNED_ACTIVITIES = ("annotate_data", "connect_models", "evaluate_for_organization",
                      "manage_annotators", "review_quality", "set_up_projects")

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
    fields: ClassVar[dict[str, Any]] = {
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
        "has_analytics_access": ByVersion(
            BooleanField(read_only=True),
            (compat.USER_EMAIL_VERIFIED, BooleanField(read_only=True, allow_null=True))),
        "created_via": ChoiceField(enum_choices(CREATED_VIA), enum_name="CreatedViaEnum",
                                   read_only=True, allow_null=True,
                                   since=compat.USER_CREATED_VIA),
        "email_verified": BooleanField(read_only=True, allow_null=True,
                                       since=compat.USER_EMAIL_VERIFIED),
        "cvat_usage_reason": ChoiceField(
            enum_choices(CVAT_USAGE_REASONS), enum_name="CvatUsageReasonEnum", allow_blank=True,
            required=False, since=compat.USER_QUESTIONNAIRE),
        "primary_role": CharField(max_length=255, allow_blank=True, required=False,
                                  help_text="A predefined role code or custom role text.",
                                  since=compat.USER_QUESTIONNAIRE),
        "planned_activities": ListField(
            ChoiceField(enum_choices(PLANNED_ACTIVITIES), enum_name="PlannedActivitiesEnum"),
            max_length=6, required=False,
            help_text="Predefined activity codes selected by the user.",
            since=compat.USER_QUESTIONNAIRE),
        "data_types": ListField(
            CharField(), max_length=6, required=False,
            help_text="Predefined data type codes and optionally one custom value.",
            since=compat.USER_QUESTIONNAIRE),
        "discovery_source": CharField(
            max_length=255, allow_blank=True, required=False,
            help_text="A predefined discovery source code or custom text.",
            since=compat.USER_QUESTIONNAIRE),
    }


class MetaUser(Serializer):
    """Admins (and users looking at themselves) get ``User``; others get ``BasicUser``."""

    any_of = (User, BasicUser)
    fields: ClassVar[dict[str, Field]] = {}
