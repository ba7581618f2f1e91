"""Label serializers (CVAT's ``LabelSerializer``, ``SublabelSerializer``, ``AttributeSerializer``).

Components: ``Label`` / ``PatchedLabelRequest`` (there is no ``LabelRequest``: projects and tasks
nest labels with ``partial=True``, and ``PATCH /api/labels/{id}`` is a PATCH), ``Sublabel`` /
``SublabelRequest``, ``Attribute`` / ``AttributeRequest``, the enums ``LabelType`` and
``InputTypeEnum``, and ``LabelsSummary`` (the ``labels: {url}`` of projects, tasks and jobs).

Rules CVAT applies beyond the fields (``cvat/apps/engine/serializers.py`` and ``models.py``,
2.26), for the service layer:

* ``LabelSerializer.validate`` (done here, ``Label.validate_object``): ``deleted`` without ``id``
  -> ``"Deleted label must have an ID"``; and, only in ``/api/labels/{id}`` (``local=True``,
  use ``LocalLabel``), ``deleted: true`` -> ``"Labels cannot be deleted by updating in this
  endpoint. Please use the DELETE method instead."``. Both come out as
  ``{"non_field_errors": [...]}`` (nested: ``{"labels": [{}, {"non_field_errors": [...]}]}``).
* ``LabelSerializer.check_attribute_names_unique`` (on create and update, per label):
  ``"Duplicate attribute with name '<name>' exists"`` (a plain 400 list).
* ``create_labels``: a missing/empty ``color`` is generated (``get_label_color(name, colors so
  far)``), a given ``id`` is dropped, ``type`` defaults to ``any``, sublabels are created under the
  label, ``svg`` is stored for skeletons with ``data-label-name="<sublabel>"`` rewritten to
  ``data-label-id="<id>"``; attribute ``id``s are dropped.
* Label name uniqueness is a DB constraint: ``"All label names must be unique"`` (400 list).
  Top-level names are unique per project/task; sublabel names per (parent, name).
* ``update_label`` (PATCH of a project/task, and ``/api/labels/{id}`` through it): an ``id``
  that is not a label of the parent -> 404 ``"Not found label with id #<id> to change"``; a
  type change from/to ``skeleton`` is silently ignored; ``name`` is kept when empty; an
  attribute ``id`` unknown to that label -> 404 ``"Attribute with id #<id> does not exist"``; an
  attribute without ``id`` is matched by name (``get_or_create``) and updated.
* ``LabelViewSet.perform_update``: a sublabel -> 400 ``"Sublabels cannot be modified this way.
  Please send a PATCH request with updated parent label data instead."``.
* Not validated by the serializer (``color`` and the joined ``values`` are model columns of at
  most 8 and 4096 characters): CVAT's database would refuse longer values with a 500.

Representation (``Label.dump``): ``svg`` only for skeletons; ``task_id``/``project_id`` are
dropped when falsy (so a project label has no ``task_id`` key); ``values`` are stored by CVAT
joined with ``\\n`` and split on output, so ``[]`` reads back as ``[""]`` (``Attribute``'s
``values`` field reproduces this from a list or a joined string).
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    Field,
    IntegerField,
    ListField,
    ListSerializerField,
    Serializer,
    URLField,
    enum_choices,
)

LABEL_TYPES = ByVersion(
    ("any", "cuboid", "ellipse", "mask", "points", "polygon", "polyline", "rectangle", "skeleton",
     "tag"),
    # cvat-sdk 2.66: labels for intervals
    (compat.INTERVALS, ("any", "cuboid", "ellipse", "interval", "mask", "points", "polygon",
                        "polyline", "rectangle", "skeleton", "tag")))
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")

COLOR_HELP = ("The hex value for the RGB color. Will be generated automatically, unless "
              "specified explicitly.")
ATTRIBUTES_HELP = ("The list of attributes. If you want to remove an attribute, you need to "
                   "recreate the label and specify the remaining attributes.")
DELETED_WITHOUT_ID = "Deleted label must have an ID"
DELETE_IN_LABELS_ENDPOINT = ("Labels cannot be deleted by updating in this endpoint. "
                             "Please use the DELETE method instead.")


class DelimitedStringListField(ListField):
    """CVAT's ``DelimitedStringListField``: a list kept as one ``\\n``-joined string.

    The validated value is the list; the representation accepts the list or the joined string
    and splits the joined text, as CVAT reads it back (``[]`` -> ``[""]``).
    """

    def to_representation(self, value: Any) -> Any:
        text = value if isinstance(value, str) else "\n".join(map(str, value or []))
        return text.split("\n")


class Attribute(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(required=False),
        "name": CharField(max_length=64),
        "mutable": BooleanField(),
        "input_type": ChoiceField(enum_choices(INPUT_TYPES), enum_name="InputTypeEnum"),
        "default_value": CharField(max_length=128, allow_blank=True, required=False),
        "values": DelimitedStringListField(CharField(allow_blank=True, max_length=200)),
        # cvat-sdk 2.65: an attribute of a PATCHed label can be removed
        "deleted": BooleanField(write_only=True, required=False, since=compat.RELEASE_2_65),
    }


def _label_type_field() -> ChoiceField:
    return ChoiceField(LABEL_TYPES.map(enum_choices), enum_name="LabelType", required=False,
                       help_text="Associated annotation type for this label")


def _common_fields() -> dict[str, Field]:
    return {
        "id": IntegerField(required=False),
        "name": CharField(max_length=64),
        "color": CharField(allow_blank=True, required=False, help_text=COLOR_HELP),
        "attributes": ListSerializerField(Attribute, default=[], help_text=ATTRIBUTES_HELP),
    }


class Sublabel(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        **_common_fields(),
        "type": _label_type_field(),
        "has_parent": BooleanField(required=False),
    }


class Label(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        **_common_fields(),
        "deleted": BooleanField(
            required=False, write_only=True,
            help_text="Delete the label. Only applicable in the PATCH methods of a project or a "
            "task."),
        "type": _label_type_field(),
        "svg": CharField(allow_blank=True, required=False),
        "sublabels": ListSerializerField(Sublabel, required=False),
        "project_id": IntegerField(read_only=True, allow_null=True),
        "task_id": IntegerField(read_only=True, allow_null=True),
        "parent_id": IntegerField(read_only=True, allow_null=True),
        "has_parent": BooleanField(read_only=True),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        if data.get("deleted") and data.get("id") is None:
            raise ValidationFailed([DELETED_WITHOUT_ID])
        return data

    @classmethod
    def dump(cls, obj: Any) -> dict[str, Any] | None:
        out = super().dump(obj)
        if out is None:
            return None
        if out.get("type") != "skeleton":
            out.pop("svg", None)
        for key in ("task_id", "project_id"):
            if not out.get(key):
                out.pop(key, None)
        return out


class LocalLabel(Label):
    """``LabelSerializer(local=True)``: the body of ``PATCH /api/labels/{id}``."""

    component = "Label"

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        if data.get("deleted"):
            raise ValidationFailed([DELETE_IN_LABELS_ENDPOINT])
        return super().validate_object(data, partial=partial)


class LabelsSummary(Serializer):
    """``{"url": ".../api/labels?<parent>_id=<id>"}``; CVAT gives ``null`` without a request."""

    fields: ClassVar[dict[str, Field]] = {"url": URLField(read_only=True)}
