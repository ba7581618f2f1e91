"""Cloud storage serializers (CVAT's ``CloudStorageReadSerializer``,
``CloudStorageWriteSerializer``, ``CloudStorageContentSerializer``, ``FileInfoSerializer``).

Classes -> components: ``CloudStorageRead``; ``CloudStorageWrite`` ->
``CloudStorageWriteRequest`` and ``PatchedCloudStorageWriteRequest``; ``CloudStorageContent``;
``FileInfo``; enums ``ProviderTypeEnum``, ``CredentialsTypeEnum``, ``FileInfoTypeEnum``.

Validation here (``serializers.py``, 2.26): the fields; ``specific_attributes`` must be
``k=v`` pairs joined by ``&`` ("Invalid specific attributes"); an Azure container needs an
account name or a connection string; ``resource`` may hold only lowercase letters, digits and
``-`` (plus ``.`` for S3, ``_.`` for GCS). The secrets (``key``, ``secret_key``,
``session_token``, ``account_name``, ``connection_string``, ``key_file``) are write-only:
``CloudStorageRead`` has no field for them.
"""

from __future__ import annotations

import string
from typing import Any, ClassVar

from mockcvat.compat import NO_GOOGLE_DRIVE
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    FileField,
    IntegerField,
    ListField,
    NestedField,
    Serializer,
)
from mockcvat.schemas.users import BasicUser

PROVIDER_TYPES = [("AWS_S3_BUCKET", "AWS_S3"), ("AZURE_CONTAINER", "AZURE_CONTAINER"),
                  ("GOOGLE_DRIVE", "GOOGLE_DRIVE"),
                  ("GOOGLE_CLOUD_STORAGE", "GOOGLE_CLOUD_STORAGE")]
CREDENTIALS_TYPES = ("KEY_SECRET_KEY_PAIR", "ACCOUNT_NAME_TOKEN_PAIR", "KEY_FILE_PATH",
                     "ANONYMOUS_ACCESS", "CONNECTION_STRING")
SECRETS = ("key", "secret_key", "session_token", "account_name", "connection_string")


def provider_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(PROVIDER_TYPES, enum_name="ProviderTypeEnum",
                       choice_versions={"GOOGLE_DRIVE": (None, NO_GOOGLE_DRIVE)}, **kwargs)


def credentials_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField([(c, c) for c in CREDENTIALS_TYPES], enum_name="CredentialsTypeEnum",
                       **kwargs)


class CloudStorageRead(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "owner": NestedField(BasicUser, required=False, allow_null=True),
        "manifests": ListField(CharField(max_length=1024), default=[]),
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
        "provider_type": provider_type_field(),
        "resource": CharField(max_length=222),
        "display_name": CharField(max_length=63),
        "credentials_type": credentials_type_field(),
        "specific_attributes": CharField(max_length=1024, allow_blank=True, required=False),
        "description": CharField(allow_blank=True, required=False),
        "organization": IntegerField(read_only=True, allow_null=True),
    }


def _specific_attributes(value: str) -> str:
    if value and any(len(pair.split("=")) != 2 for pair in value.split("&")):
        raise ValidationFailed(["Invalid specific attributes"])
    return value


class CloudStorageWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "provider_type": provider_type_field(),
        "resource": CharField(max_length=222),
        "display_name": CharField(max_length=63),
        "owner": NestedField(BasicUser, required=False),
        "credentials_type": credentials_type_field(),
        "session_token": CharField(max_length=440, allow_blank=True, required=False),
        "account_name": CharField(max_length=24, allow_blank=True, required=False),
        "key": CharField(max_length=40, allow_blank=True, required=False),
        "secret_key": CharField(max_length=64, allow_blank=True, required=False),
        "connection_string": CharField(max_length=1024, allow_blank=True, required=False),
        "key_file": FileField(required=False),
        "specific_attributes": CharField(max_length=1024, allow_blank=True, required=False,
                                         checks=[_specific_attributes]),
        "description": CharField(allow_blank=True, required=False),
        "manifests": ListField(CharField(max_length=1024), default=[]),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        provider = data.get("provider_type")
        if provider == "AZURE_CONTAINER" and not (
                data.get("account_name") or data.get("connection_string")):
            raise ValidationFailed({"non_field_errors": [
                "Account name or connection string for Azure container was not specified"]})
        # the providers' basic naming rules (CVAT checks nothing more)
        allowed = string.ascii_lowercase + string.digits + "-"
        allowed += {"GOOGLE_CLOUD_STORAGE": "_.", "AWS_S3_BUCKET": "."}.get(provider or "", "")
        if (resource := data.get("resource")) and (wrong := set(resource) - set(allowed)):
            raise ValidationFailed({"resource": [
                f"Invalid characters ({','.join(sorted(wrong))}) were found."]})
        return data


class FileInfo(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=1024),
        "type": ChoiceField(["REG", "DIR"], enum_name="FileInfoTypeEnum"),
        "mime_type": CharField(max_length=255),
    }


class CloudStorageContent(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "next": CharField(required=False, allow_null=True, allow_blank=True,
                          help_text="This token is used to continue listing files in the "
                                    "bucket."),
        "content": ListField(NestedField(FileInfo)),
    }
