"""The annotation serializers against CVAT 2.26.2: components, then validation with CVAT's bodies.

Components are built as the document builder builds them (``component_schemas``) and compared
with the real ones after resolving references, as ``schema_diff`` does (prose ignored).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.datastructures import UploadFile

from mockcvat import compat, schema_diff
from mockcvat.errors import ValidationFailed
from mockcvat.openapi import component_schemas
from mockcvat.schemas import annotations as ann

REFERENCE = Path(__file__).resolve().parent.parent / "openapi" / "cvat-openapi-2.26.2.yml"
REQUEST, PATCH = (True, False), (True, True)

# what the annotation, dataset and backup operations refer to: (serializer, request, partial)
ENTRY_POINTS: list[Any] = [
    ann.LabeledData, (ann.LabeledData, *REQUEST), (ann.LabeledData, *PATCH), ann.AnnotationsRead,
    (ann.JobAnnotationsUpdate, *REQUEST), (ann.TaskAnnotationsUpdate, *REQUEST),
    (ann.TaskAnnotationsWrite, *REQUEST), (ann.AnnotationFile, *REQUEST),
    (ann.DatasetWrite, *REQUEST), (ann.DatasetFile, *REQUEST),
    (ann.BackupWrite, *REQUEST), (ann.ProjectFile, *REQUEST), (ann.TaskFile, *REQUEST),
]

COMPONENTS = sorted("""
AnnotationFileRequest AnnotationsRead AttributeVal AttributeValRequest DatasetFileRequest
JobAnnotationsUpdateRequest LabeledData LabeledDataRequest LabeledImage LabeledImageRequest
LabeledShape LabeledShapeRequest LabeledTrack LabeledTrackRequest PatchedLabeledDataRequest
ProjectFileRequest ShapeType SubLabeledShape SubLabeledShapeRequest SubLabeledTrack
SubLabeledTrackRequest TaskFileRequest TrackedShape TrackedShapeRequest
""".split())
# oneOf + nullable: Serializer.nullable, which the document builder does not write yet
NULLABLE_ONE_OF = ["BackupWriteRequest", "DatasetWriteRequest", "TaskAnnotationsUpdateRequest",
                   "TaskAnnotationsWriteRequest"]


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return component_schemas(ENTRY_POINTS, version="2.26.2")


def differences(name: str, ours: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    assert name in ours, f"{name} is not built"
    ref = {"$ref": f"#/components/schemas/{name}"}
    return schema_diff._Comparer({"components": {"schemas": ours}}, reference).schema(
        ref, ref, name)


@pytest.mark.parametrize("name", COMPONENTS)
def test_component_is_cvats(name: str, ours: dict[str, Any], reference: dict[str, Any]) -> None:
    assert differences(name, ours, reference) == []


@pytest.mark.parametrize("name", NULLABLE_ONE_OF)
def test_nullable_alternatives_are_cvats(name: str, ours: dict[str, Any],
                                         reference: dict[str, Any]) -> None:
    assert differences(name, ours, reference) == []


def test_no_component_cvat_does_not_have(ours: dict[str, Any],
                                         reference: dict[str, Any]) -> None:
    assert set(ours) - set(reference["components"]["schemas"]) == set()
    assert set(ours) == set(COMPONENTS) | set(NULLABLE_ONE_OF)


# --- validation -------------------------------------------------------------------------------
def errors(serializer: Any, body: Any) -> Any:
    with pytest.raises(ValidationFailed) as caught:
        serializer.validate(body)
    return caught.value.detail


def shape(**kw: Any) -> dict[str, Any]:
    return {"type": "rectangle", "frame": 0, "label_id": 1, "points": [1, 2, 3.5, 4], **kw}


def test_defaults_of_an_empty_body_and_of_each_object() -> None:
    assert ann.LabeledData.validate({}) == {"version": 0, "tags": [], "shapes": [], "tracks": [],
                                            "intervals": []}
    with compat.emulating(compat.Compat("2.26.2")):  # intervals from 2.66
        assert ann.LabeledData.validate({}) == {"version": 0, "tags": [], "shapes": [],
                                                "tracks": []}
    body = {"tags": [{"frame": 0, "label_id": 1}], "shapes": [shape()],
            "tracks": [{"frame": 0, "label_id": 1,
                        "shapes": [{"type": "points", "frame": 0}]}]}
    common = {"id": None, "group": None, "source": "manual", "attributes": []}
    looks = {"occluded": False, "outside": False, "z_order": 0, "rotation": 0.0}
    assert ann.LabeledData.validate(body) == {
        "version": 0, "intervals": [],
        "tags": [{"frame": 0, "label_id": 1, **common}],
        "shapes": [{**shape(), **looks, **common}],  # no "elements": it has no default
        "tracks": [{"frame": 0, "label_id": 1, **common, "shapes": [
            {"type": "points", "frame": 0, **looks, "id": None, "attributes": []}]}],
    }


def test_a_patch_body_is_validated_whole() -> None:
    # CVAT's PATCH .../annotations uses LabeledDataSerializer(data=...) without partial
    assert errors(ann.LabeledData, {"shapes": [{"frame": 0, "label_id": 1}]}) == {
        "shapes": [{"type": ["This field is required."]}]}


def test_required_fields_and_limits() -> None:
    assert errors(ann.LabeledData, {
        "tags": [{}],
        "shapes": [shape(), shape(type="box", frame=-1, rotation=361, group=-2, source="")],
        "tracks": [{"frame": 0, "label_id": 1}],
    }) == {
        "tags": [{"frame": ["This field is required."],
                  "label_id": ["This field is required."]}],
        "shapes": [{}, {
            "type": ['"box" is not a valid choice.'],
            "rotation": ["Ensure this value is less than or equal to 360."],
            "frame": ["Ensure this value is greater than or equal to 0."],
            "group": ["Ensure this value is greater than or equal to 0."],
            "source": ["This field may not be blank."],
        }],
        "tracks": [{"shapes": ["This field is required."]}],
    }
    assert errors(ann.LabeledData, {"tags": {}, "version": "v"}) == {
        "version": ["A valid integer is required."],
        "tags": {"non_field_errors": ['Expected a list of items but got type "dict".']},
    }


def test_a_track_may_have_no_shapes_and_a_shape_no_points() -> None:
    track = ann.LabeledTrack.validate({"frame": 3, "label_id": 1, "shapes": []})
    assert track["shapes"] == [] and "elements" not in track
    assert ann.LabeledShape.validate(shape(points=[]))["points"] == []
    assert "points" not in ann.LabeledShape.validate({"type": "skeleton", "frame": 0,
                                                      "label_id": 1})


def test_points_must_be_ints_or_floats() -> None:
    detail = ("[ErrorDetail(string='Value must be a float or an integer', code='invalid')]")
    assert ann.POINT_ERROR_DETAIL == detail
    assert errors(ann.LabeledData, {"shapes": [shape(points=[1, "2", True, 3.5, None])]}) == {
        "shapes": [{"points": {"1": detail, "2": detail, "4": detail}}]}
    # not checked to be a list: a string is iterated character by character
    assert errors(ann.LabeledShape, shape(points="ab")) == {
        "points": {"0": detail, "1": detail}}
    assert errors(ann.LabeledShape, shape(points=None)) == {
        "points": ["This field may not be null."]}
    # CVAT crashes (500) on a number; mockcvat answers a 400 instead
    assert errors(ann.LabeledShape, shape(points=5)) == {
        "points": ['Expected a list of items but got type "int".']}
    # numbers are kept as sent
    assert ann.LabeledShape.validate(shape())["points"] == [1, 2, 3.5, 4]


def test_attribute_values_are_stringified_first() -> None:
    attributes = [{"spec_id": 1, "value": 5}, {"spec_id": "2", "value": True},
                  {"spec_id": 3, "value": None}, {"spec_id": 4, "value": " a "}]
    assert ann.LabeledImage.validate({"frame": 0, "label_id": 1,
                                      "attributes": attributes})["attributes"] == [
        {"spec_id": 1, "value": "5"}, {"spec_id": 2, "value": "True"},
        {"spec_id": 3, "value": "None"}, {"spec_id": 4, "value": "a"}]
    assert errors(ann.AttributeVal, {"spec_id": None, "value": "x" * 4097}) == {
        "spec_id": ["This field may not be null."],
        "value": ["Ensure this field has no more than 4096 characters."]}
    # CVAT crashes (500) on these; mockcvat answers a 400 instead
    for broken in ({"spec_id": 1}, "a", [1]):
        with pytest.raises(ValidationFailed):
            ann.LabeledImage.validate({"frame": 0, "label_id": 1, "attributes": [broken]})
    assert errors(ann.LabeledImage, {"frame": 0, "label_id": 1, "attributes": [None]}) == {
        "attributes": [["This field may not be null."]]}


def test_elements_are_sub_shapes_without_elements() -> None:
    element = {"type": "points", "frame": 0, "label_id": 2, "points": [1, 1],
               "elements": [{"type": "points"}]}
    body = ann.LabeledShape.validate({"type": "skeleton", "frame": 0, "label_id": 1,
                                      "elements": [element]})
    assert "elements" not in body["elements"][0]  # unknown keys are dropped
    assert errors(ann.LabeledShape, {"type": "skeleton", "frame": 0, "label_id": 1,
                                     "elements": [{"frame": 0}]}) == {
        "elements": [{"type": ["This field is required."],
                      "label_id": ["This field is required."]}]}


def upload(name: str, content: bytes = b"PK") -> UploadFile:
    return UploadFile(io.BytesIO(content), filename=name, size=len(content))


def test_file_bodies() -> None:
    assert errors(ann.AnnotationFile, {}) == {"annotation_file": ["No file was submitted."]}
    assert errors(ann.AnnotationFile, {"annotation_file": "a.xml"}) == {"annotation_file": [
        "The submitted data was not a file. Check the encoding type on the form."]}
    assert errors(ann.TaskFile, {"task_file": upload("t.zip", b"")}) == {
        "task_file": ["The submitted file is empty."]}
    file = upload("annotations.xml")
    assert ann.AnnotationFile.validate({"annotation_file": file}) == {"annotation_file": file}
    assert errors(ann.DatasetFile, {"dataset_file": upload("d.ZIP")}) == {
        "dataset_file": ["Dataset file should be zip archive"]}
    assert ann.DatasetFile.validate({"dataset_file": upload("d.zip")})["dataset_file"]
