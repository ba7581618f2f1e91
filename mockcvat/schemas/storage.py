"""CVAT's ``StorageSerializer``: the default import/export location of a project or task.

Components ``Storage`` / ``StorageRequest`` and the enum ``LocationEnum``.

Rules CVAT applies outside the serializer (``serializers.py``, 2.26), for the service layer:

* On create (``_configure_related_storages``): a ``cloud_storage_id`` that does not exist ->
  ``"The specified cloud storage <id> does not exist."``; the storage is created as given (a
  ``location`` of ``cloud_storage`` without an id is accepted here).
* On update (``_update_related_storages``), for each of ``source_storage``/``target_storage``
  given and not empty:
  - with a ``cloud_storage_id``: a ``location`` other than ``cloud_storage`` -> ``"It is not
    allowed to specify '<location>' location together with cloud storage id"``; no location
    while the current one is not ``cloud_storage`` -> ``"The configuration of <source_storage|
    target_storage> is not full"``; an unknown id -> ``"The specified cloud storage <id> does not
    exist."``;
  - without one: ``location: cloud_storage`` -> ``"Cloud storage was selected as location but
    its id was not specified"``; no location, current one ``cloud_storage`` and the key
    ``cloud_storage_id`` present (null) -> ``"It is not allowed to reset a cloud storage id
    without explicitly resetting a location"``;
  - then the storage is created when missing, else ``location`` is updated when given and
    ``cloud_storage_id`` is always overwritten (with ``None`` when absent).
  All are 400 with a plain list body.
"""

from __future__ import annotations

from typing import ClassVar

from mockcvat.schemas.fields import (
    ChoiceField,
    Field,
    IntegerField,
    Serializer,
    enum_choices,
)

LOCATIONS = ("cloud_storage", "local")


class Storage(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "location": ChoiceField(enum_choices(LOCATIONS), enum_name="LocationEnum",
                                required=False),
        "cloud_storage_id": IntegerField(required=False, allow_null=True),
    }
