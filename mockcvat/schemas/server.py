"""Serializers of the /api/server endpoints."""

from __future__ import annotations

from typing import ClassVar

from mockcvat.compat import ABOUT_LOGO_SUBTITLE, SHORT_PLUGINS
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    Field,
    ListField,
    NestedField,
    Serializer,
)


class About(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=128),
        "description": CharField(max_length=2048),
        "version": CharField(max_length=64),
        "logo_url": CharField(since=ABOUT_LOGO_SUBTITLE),
        "subtitle": CharField(max_length=1024, since=ABOUT_LOGO_SUBTITLE),
    }


class Plugins(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "GIT_INTEGRATION": BooleanField(until=SHORT_PLUGINS),
        "ANALYTICS": BooleanField(),
        "MODELS": BooleanField(),
        "PREDICT": BooleanField(until=SHORT_PLUGINS),
    }


class DatasetFormat(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=64),
        "ext": CharField(max_length=64),
        "version": CharField(max_length=64),
        "enabled": BooleanField(),
        "dimension": CharField(max_length=2),
    }


class DatasetFormats(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "importers": ListField(NestedField(DatasetFormat)),
        "exporters": ListField(NestedField(DatasetFormat)),
    }


class FileInfo(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(max_length=1024),
        "type": ChoiceField(["REG", "DIR"], enum_name="FileInfoTypeEnum"),
        "mime_type": CharField(max_length=255),
    }
