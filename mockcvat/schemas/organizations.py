"""Serializers of organizations, memberships and invitations (CVAT's component names)."""

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
    JSONField,
    NestedField,
    Serializer,
)
from mockcvat.schemas.users import BasicUser

SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
# DRF's SlugField wording (straight quotes; Django's own validator is dropped by DRF)
SLUG_INVALID = 'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
ROLES = ("worker", "supervisor", "maintainer", "owner")  # lowest first, as CVAT lists them


def role_field(**kwargs: object) -> ChoiceField:
    return ChoiceField(ROLES, enum_name="RoleEnum", **kwargs)  # type: ignore[arg-type]


class BasicOrganization(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "slug": CharField(read_only=True, pattern=SLUG_PATTERN),
    }


class OrganizationRead(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        "id": IntegerField(read_only=True),
        "slug": CharField(read_only=True, pattern=SLUG_PATTERN),
        "name": CharField(read_only=True),
        "description": CharField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "contact": ByVersion(JSONField(read_only=True),
                             (compat.PREVIEW_PREFERENCES,
                              JSONField(read_only=True, any_value=True, allow_null=True))),
        "owner": NestedField(BasicUser, allow_null=True),
    }


class OrganizationWrite(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        "slug": CharField(max_length=16, pattern=SLUG_PATTERN, pattern_message=SLUG_INVALID),
        "name": CharField(max_length=64, allow_blank=True, required=False),
        "description": CharField(allow_blank=True, required=False),
        # cvat-sdk 2.67: any JSON value, or null
        "contact": ByVersion(JSONField(required=False),
                             (compat.PREVIEW_PREFERENCES,
                              JSONField(required=False, any_value=True, allow_null=True))),
    }


class MembershipRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "user": NestedField(BasicUser),
        "organization": IntegerField(read_only=True),
        "is_active": BooleanField(read_only=True),
        "joined_date": DateTimeField(read_only=True, allow_null=True),
        "role": role_field(read_only=True),
        "invitation": CharField(read_only=True, allow_null=True),
    }


class MembershipWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {"role": role_field()}


class InvitationRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "key": CharField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "owner": NestedField(BasicUser, allow_null=True),
        "role": role_field(),
        "user": NestedField(BasicUser),
        "organization": IntegerField(),
        "expired": BooleanField(read_only=True, allow_null=True),
        "organization_info": NestedField(BasicOrganization),
        "accepted": BooleanField(read_only=True, since=compat.RELEASE_2_65),
    }


class InvitationWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "role": role_field(),
        "email": EmailField(),
    }


class AcceptInvitationRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {"organization_slug": CharField()}
