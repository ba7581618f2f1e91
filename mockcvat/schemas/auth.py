"""Serializers of the /api/auth endpoints (names as CVAT's schema components)."""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
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


def new_password(max_length: int | None = 128, *, old: bool = False,
                 **kwargs: Any) -> ByVersion[Any]:
    """A password field: dj-rest-auth's (``max_length=128`` for a change or reset, none for
    registration) until 2.63, then 8..256 for new passwords (the old one: no length)."""
    kwargs.setdefault("trim_whitespace", max_length is None)  # DRF's default at registration
    later = (CharField(**kwargs) if old else CharField(min_length=8, max_length=256, **kwargs))
    return ByVersion(CharField(max_length=max_length, **kwargs),
                     (compat.PASSWORD_LENGTHS, later))


class PasswordChange(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        "old_password": new_password(old=True),
        "new_password1": new_password(),
        "new_password2": new_password(),
    }


class PasswordResetSerializerEx(Serializer):
    description = "Serializer for requesting a password reset e-mail."
    fields: ClassVar[dict[str, Field]] = {"email": EmailField()}


class PasswordResetConfirm(Serializer):
    description = "Serializer for confirming a password reset attempt."
    fields: ClassVar[dict[str, Any]] = {
        "new_password1": new_password(),
        "new_password2": new_password(),
        "uid": CharField(),
        "token": CharField(),
    }


def _register_limited(field: type[CharField], max_length: int) -> ByVersion[Any]:
    """A name or e-mail of the registration form: its column's length, in the schema from
    cvat-sdk 2.44 (before, CVAT's database refused an over-long value with a 500)."""
    return ByVersion(field(required=False, max_length=max_length, length_in_schema=False),
                     (compat.REGISTER_LENGTHS, field(required=False, max_length=max_length)))


class RegisterSerializerEx(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        # Django's username validator runs, but this schema component does not show it
        "username": username_field(min_length=5, help_text=None, pattern_in_schema=False),
        "email": _register_limited(EmailField, 254),
        "password1": new_password(None, write_only=True),
        "password2": new_password(None, write_only=True),
        "first_name": _register_limited(CharField, 150),
        "last_name": _register_limited(CharField, 150),
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
        # declared fields (CVAT's Meta.read_only_fields does not reach them): documented as
        # writable, ``value`` as optional (only the creation answer carries it)
        "owner": NestedField(BasicUser, required=False),
        "value": CharField(required=False),
    }


class AccessTokenWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=50),
        "expiry_date": DateTimeField(required=False, allow_null=True),
        "read_only": BooleanField(required=False),
    }
