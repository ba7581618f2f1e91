"""Serializers of the /api/auth endpoints (names as CVAT's schema components)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    EmailField,
    Field,
    IntegerField,
    NestedField,
    Serializer,
)
from mockcvat.schemas.users import BasicUser, username_field


class LoginSerializerEx(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "username": CharField(required=False, allow_blank=True),
        "email": EmailField(required=False, allow_blank=True),
        "password": CharField(trim_whitespace=False),
    }


class Token(Serializer):
    description = "Serializer for Token model."
    fields: ClassVar[dict[str, Field]] = {"key": CharField(max_length=40)}


class RestAuthDetail(Serializer):
    fields: ClassVar[dict[str, Field]] = {"detail": CharField(read_only=True)}


class PasswordChange(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "old_password": CharField(max_length=128, trim_whitespace=False),
        "new_password1": CharField(max_length=128, trim_whitespace=False),
        "new_password2": CharField(max_length=128, trim_whitespace=False),
    }


class PasswordResetSerializerEx(Serializer):
    description = "Serializer for requesting a password reset e-mail."
    fields: ClassVar[dict[str, Field]] = {"email": EmailField()}


class PasswordResetConfirm(Serializer):
    description = "Serializer for confirming a password reset attempt."
    fields: ClassVar[dict[str, Field]] = {
        "new_password1": CharField(max_length=128, trim_whitespace=False),
        "new_password2": CharField(max_length=128, trim_whitespace=False),
        "uid": CharField(),
        "token": CharField(),
    }


class RegisterSerializerEx(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        # Django's username validator runs, but this schema component does not show it
        "username": username_field(min_length=5, help_text=None, pattern_in_schema=False),
        "email": EmailField(required=False),
        "password1": CharField(write_only=True),
        "password2": CharField(write_only=True),
        "first_name": CharField(required=False),
        "last_name": CharField(required=False),
        "email_verification_required": BooleanField(read_only=True),
        "key": CharField(read_only=True, allow_null=True),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        if data.get("password1") != data.get("password2"):
            raise ValidationFailed(["The two password fields didn't match."])
        return data


class Signing(Serializer):
    fields: ClassVar[dict[str, Field]] = {"url": CharField()}


class AccessTokenRead(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "name": CharField(read_only=True),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "expiry_date": DateTimeField(read_only=True, allow_null=True),
        "last_used_date": DateTimeField(read_only=True, allow_null=True),
        "read_only": BooleanField(read_only=True),
        "owner": NestedField(BasicUser, read_only=True),
        "value": CharField(read_only=True),
    }


class AccessTokenWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=50),
        "expiry_date": DateTimeField(required=False, allow_null=True),
        "read_only": BooleanField(required=False),
    }
