"""Annotation serializers (CVAT's ``LabeledDataSerializer`` and its parts) and the file bodies of
annotation/dataset/backup uploads.

Classes -> components (``cvat/apps/engine/serializers.py``, 2.26):

* ``LabeledData`` -> ``LabeledData`` / ``LabeledDataRequest`` / ``PatchedLabeledDataRequest``
  (``LabeledDataSerializer``); ``LabeledImage`` (a tag), ``LabeledShape``, ``SubLabeledShape`` (a
  skeleton element), ``LabeledTrack``, ``SubLabeledTrack``, ``TrackedShape``, ``AttributeVal``
  -> ``X`` / ``XRequest``; the enum ``ShapeType``.
* ``AnnotationFile`` / ``DatasetFile`` / ``TaskFile`` / ``ProjectFile`` -> ``...FileRequest``.
* Only-alternatives components of the operations' bodies: ``AnnotationsRead`` (GET
  ``.../annotations``: ``LabeledData`` or a file), ``JobAnnotationsUpdate`` ->
  ``JobAnnotationsUpdateRequest``, ``TaskAnnotationsUpdate`` -> ``TaskAnnotationsUpdateRequest``,
  ``TaskAnnotationsWrite`` -> ``TaskAnnotationsWriteRequest``, ``DatasetWrite`` ->
  ``DatasetWriteRequest``, ``BackupWrite`` -> ``BackupWriteRequest`` (the last four are
  ``nullable``). ``RqId`` is ``mockcvat.schemas.data.RqId``.

Validation done here, all of it field-level (CVAT's annotation serializers have no ``validate``):

* Defaults: ``id`` null, ``group`` null, ``source`` ``"manual"``, ``attributes`` ``[]``;
  shapes: ``occluded``/``outside`` false, ``z_order`` 0, ``rotation`` 0.0; ``LabeledData``:
  ``version`` 0, ``tags``/``shapes``/``tracks`` ``[]``. ``points`` and ``elements`` have no
  default (absent stays absent). Required: ``frame``, ``label_id``; ``type`` for shapes and
  tracked shapes; ``shapes`` for tracks (may be empty). ``frame``/``label_id``/``group`` >= 0;
  ``rotation`` in [0, 360]; ``source`` any non-blank string; no id is write-once (``id`` is a
  plain ``IntegerField(default=None, allow_null=True)`` everywhere).
* ``points`` (``OptimizedFloatListField``): every item must be of type ``int``/``float``
  exactly (``true`` is refused); the input is not checked to be a list, so a string or an
  object is iterated (characters / keys, each refused; ``""`` and ``{}`` pass). The errors are
  keyed by index and, because CVAT nests a ``ValidationError`` in the dict, each message is the
  repr of that error: ``{"points": {"1": "[ErrorDetail(string='Value must be a float or an
  integer', code='invalid')]"}}``. A number or boolean ``points`` crashes CVAT (``TypeError``
  in ``enumerate``): a 400 here (``Expected a list of items``).
* ``AttributeVal``: ``value`` is replaced by ``str(value)`` before validation (``5`` -> ``"5"``,
  ``true`` -> ``"True"``, ``null`` -> ``"None"``, ``[1]`` -> ``"[1]"``), then trimmed and
  limited to 4096 characters (blank allowed). An attribute without ``value``, or one that is
  not an object, crashes CVAT (``KeyError``/``TypeError``): a 400 here.
* Files: DRF's ``FileField`` messages (``"No file was submitted."`` when absent);
  ``DatasetFileSerializer.validate_dataset_file``: a name whose extension is not ``.zip``
  (``os.path.splitext``, case-sensitive) -> ``{"dataset_file": ["Dataset file should be zip
  archive"]}``.
* ``PATCH .../annotations`` validates with ``LabeledDataSerializer(data=...)``, *not* partially:
  use ``LabeledData.validate(body)`` there too (``PatchedLabeledDataRequest`` is only the
  schema's name).

What CVAT passes on is ``serializer.data`` (the validated values represented again): numbers
in ``points`` stay as sent (``1`` stays ``1``), ``rotation`` becomes a float.

Left to the service (they need the database), with CVAT's sources:

* ``views.py`` ``JobViewSet.annotations`` / ``TaskViewSet.annotations`` (PATCH): ``action``
  not ``create``/``update``/``delete`` -> 400 ``["Please specify a correct 'action' for the
  request"]``, checked before the body. Job PUT/PATCH catch ``AttributeError``/``IntegrityError``
  -> 400 with the JSON string ``str(e)``. Task GET of a task without data -> 400 plain text
  ``Exporting annotations from a task without data is not allowed``.
* ``dataset_manager/task.py`` ``JobAnnotation._validate_label_for_existence``: a ``label_id``
  that is not a label of the task (of its project when it has one; sublabels count) -> 400
  ``["label_id `<id>` is invalid"]`` (backticks literal), for tags, shapes, elements, tracks.
* ``JobAnnotation._validate_attribute_for_existence``: ``spec_id`` must be an attribute of the
  object's label: any of them for tags and shapes, an immutable one for a track's
  ``attributes``, a mutable one for a tracked shape's -> else 400 ``["spec_id `<id>` is
  invalid"]``. Element label vs. the parent's sublabels, shape type vs. label type, point
  counts, attribute values vs. ``input_type``/``values`` and frames vs. the job's range are
  *not* checked.
* ``JobAnnotation._validate_input_annotations`` and
  ``TaskAnnotation._preprocess_input_annotations_for_gt_pool_task``: tracks in a ``gt_pool``
  task -> 400 ``["Tracks are not supported when task validation mode is gt_pool"]``; task
  PATCH ``update``/``delete`` touching GT-pool frames -> 400 ``["Annotations on validation
  frames can only be edited via task import or the GT job"]``.
* ``JobAnnotation._save_*_to_db``: ids given by the client are inserted as they are (a
  duplicate is an ``IntegrityError``); tracks without shapes are dropped; ``_sync_frames``
  aligns a track's frame with its first shape (adding an ``outside`` copy); top-level shapes and
  tracks always get ``elements`` (``[]``), elements never do; ``source`` longer than 16
  characters (the model's ``max_length``) is a database error (500).
* Responses: GET is ``get_job_data`` as it is (``LabeledImageSerializerFromDB`` & co.: key
  order ``id, label_id, type, frame, group, source, occluded, outside, z_order, rotation,
  points, attributes, elements``; skeleton ``points`` ``[]``; missing attributes filled with
  defaults; see ``docs/research/cvat-annotations-facts.md``); PUT/PATCH answer the written
  objects in this module's field order, ``attributes``/``shapes``/``elements`` moved last.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    Field,
    FileField,
    FloatField,
    IntegerField,
    ListField,
    ListSerializerField,
    Serializer,
    enum_choices,
)

SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
               "skeleton")
POINT_ERROR = "Value must be a float or an integer"
# how DRF renders a ValidationError nested in the dict of another (force_str of its detail)
POINT_ERROR_DETAIL = f"[ErrorDetail(string='{POINT_ERROR}', code='invalid')]"
NOT_A_ZIP = "Dataset file should be zip archive"
BINARY = {"type": "string", "format": "binary"}


# Inputs on which CVAT's serializer raises a plain Python error (a 500 there) are answered with a
# DRF-style 400 here: mockcvat reproduces CVAT's quirks, not its crashes.


class OptimizedFloatListField(ListField):
    """CVAT's ``OptimizedFloatListField`` (``points``): see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(FloatField(), **kwargs)

    def to_internal(self, value: Any) -> Any:
        if not isinstance(value, str | list | Mapping):  # numbers, booleans: CVAT crashes
            kind = "bool" if isinstance(value, bool) else type(value).__name__
            raise ValidationFailed([f'Expected a list of items but got type "{kind}".'])
        errors = {str(index): POINT_ERROR_DETAIL for index, item in enumerate(value)
                  if type(item) not in (int, float)}
        if errors:
            raise ValidationFailed(errors)
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class AttributeVal(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "spec_id": IntegerField(),
        "value": CharField(max_length=4096, allow_blank=True),
    }

    @classmethod
    def prepare_input(cls, data: Any) -> Any:
        # AttributeValSerializer.to_internal_value: data['value'] = str(data['value'])
        if not isinstance(data, Mapping):  # CVAT crashes on these
            kind = "list" if isinstance(data, list) else type(data).__name__
            raise ValidationFailed({"non_field_errors": [
                f"Invalid data. Expected a dictionary, but got {kind}."]})
        if "value" not in data:
            raise ValidationFailed({"value": ["This field is required."]})
        return {**data, "value": str(data["value"])}


def _annotation_fields() -> dict[str, Field]:
    """``AnnotationSerializer``'s fields."""
    return {
        "id": IntegerField(default=None, allow_null=True),
        "frame": IntegerField(min_value=0),
        "label_id": IntegerField(min_value=0),
        "group": IntegerField(min_value=0, allow_null=True, default=None),
        "source": CharField(default="manual"),
    }


def _shape_fields() -> dict[str, Field]:
    """``ShapeSerializer``'s fields."""
    return {
        "type": ChoiceField(enum_choices(SHAPE_TYPES), enum_name="ShapeType"),
        "occluded": BooleanField(default=False),
        "outside": BooleanField(default=False, required=False),
        "z_order": IntegerField(default=0),
        "rotation": FloatField(default=0.0, min_value=0, max_value=360),
        "points": OptimizedFloatListField(required=False),
    }


def _attributes() -> ListSerializerField:
    return ListSerializerField(AttributeVal, default=[])


class LabeledImage(Serializer):
    fields: ClassVar[dict[str, Field]] = {**_annotation_fields(), "attributes": _attributes()}


def _score() -> ByVersion[Any]:
    """A detector's confidence in [0, 1] (stored, default 1): shown from cvat-sdk 2.56,
    writable from 2.57."""
    return ByVersion(FloatField(read_only=True, min_value=0, max_value=1,
                                since=compat.SHAPE_SCORES),
                     (compat.SHAPE_SCORES_WRITABLE,
                      FloatField(required=False, min_value=0, max_value=1)))


class SubLabeledShape(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        **_shape_fields(), **_annotation_fields(), "attributes": _attributes(),
        "score": _score(),
    }


class LabeledShape(Serializer):
    fields: ClassVar[dict[str, Any]] = {
        **_shape_fields(), **_annotation_fields(), "attributes": _attributes(),
        "elements": ListSerializerField(SubLabeledShape, required=False),
        "score": _score(),
    }


class LabeledInterval(Serializer):
    """A label over the frames ``start``..``stop`` (2.66+)."""

    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(default=None, allow_null=True),
        "label_id": IntegerField(min_value=0),
        "group": IntegerField(min_value=0, allow_null=True, default=None),
        "source": CharField(default="manual"),
        "score": FloatField(required=False, min_value=0, max_value=1),
        "start": IntegerField(min_value=0),
        "stop": IntegerField(min_value=0, allow_null=True),
        "attributes": _attributes(),
    }


class TrackedShape(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **_shape_fields(),
        "id": IntegerField(default=None, allow_null=True),
        "frame": IntegerField(min_value=0),
        "attributes": _attributes(),
    }


class SubLabeledTrack(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **_annotation_fields(),
        "shapes": ListSerializerField(TrackedShape),
        "attributes": _attributes(),
    }


class LabeledTrack(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **_annotation_fields(),
        "shapes": ListSerializerField(TrackedShape),
        "attributes": _attributes(),
        "elements": ListSerializerField(SubLabeledTrack, required=False),
    }


class LabeledData(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "version": IntegerField(default=0),
        "tags": ListSerializerField(LabeledImage, default=[]),
        "shapes": ListSerializerField(LabeledShape, default=[]),
        "tracks": ListSerializerField(LabeledTrack, default=[]),
        "intervals": ListSerializerField(LabeledInterval, default=[],
                                         since=compat.INTERVALS),
    }


# --- uploaded files ---------------------------------------------------------------------------
def _zip_only(upload: Any) -> Any:
    name = getattr(upload, "filename", None) or getattr(upload, "name", "")
    if os.path.splitext(name)[1] != ".zip":
        raise ValidationFailed([NOT_A_ZIP])
    return upload


class AnnotationFile(Serializer):
    fields: ClassVar[dict[str, Field]] = {"annotation_file": FileField()}


class DatasetFile(Serializer):
    fields: ClassVar[dict[str, Field]] = {"dataset_file": FileField(checks=[_zip_only])}


class TaskFile(Serializer):
    fields: ClassVar[dict[str, Field]] = {"task_file": FileField()}


class ProjectFile(Serializer):
    fields: ClassVar[dict[str, Field]] = {"project_file": FileField()}


# --- the operations' alternatives -------------------------------------------------------------
class AnnotationsRead(Serializer):
    """GET ``/api/{jobs,tasks,projects}/{id}/annotations``: JSON, or a file with ``format``."""

    one_of = (LabeledData, BINARY)


class JobAnnotationsUpdate(Serializer):
    one_of = (LabeledData, AnnotationFile)


class TaskAnnotationsUpdate(Serializer):
    one_of = (LabeledData, AnnotationFile)
    nullable = True


class TaskAnnotationsWrite(Serializer):
    one_of = (AnnotationFile,)
    nullable = True


class DatasetWrite(Serializer):
    one_of = (DatasetFile,)
    nullable = True


class BackupWrite(Serializer):
    one_of = (ProjectFile,)
    nullable = True
