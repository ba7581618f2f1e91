"""The engine serializers (projects, tasks, jobs, labels, task data) against CVAT 2.26.2.

Each component is built the way the document builder builds it (``component_schemas``) and
compared with the real schema's component after resolving references, as ``schema_diff`` does
(prose ignored). Then the trickiest validation rules, with CVAT's exact 400 bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mockcvat import compat, schema_diff
from mockcvat.errors import ValidationFailed
from mockcvat.openapi import component_schemas, paginated
from mockcvat.schemas import data, jobs, labels, projects, requests, storage, tasks

REFERENCE = Path(__file__).resolve().parent.parent / "openapi" / "cvat-openapi-2.26.2.yml"
REQUEST, PATCH = (True, False), (True, True)

# what each operation of projects/tasks/jobs/labels/data refers to: (serializer, request, partial)
ENTRY_POINTS: list[Any] = [
    projects.ProjectRead, paginated(projects.ProjectRead),
    (projects.ProjectWrite, *REQUEST), (projects.ProjectWrite, *PATCH),
    tasks.TaskRead, paginated(tasks.TaskRead),
    (tasks.TaskWrite, *REQUEST), (tasks.TaskWrite, *PATCH),
    tasks.TaskValidationLayoutRead, (tasks.TaskValidationLayoutWrite, *PATCH),
    jobs.JobRead, paginated(jobs.JobRead),
    (jobs.JobWrite, *REQUEST), (jobs.JobWrite, *PATCH),
    jobs.JobValidationLayoutRead, (jobs.JobValidationLayoutWrite, *PATCH),
    (jobs.JobDataMetaWrite, *PATCH),
    labels.Label, paginated(labels.Label), (labels.LocalLabel, *PATCH),
    labels.Sublabel, (labels.Sublabel, *REQUEST), labels.Attribute, (labels.Attribute, *REQUEST),
    storage.Storage, (storage.Storage, *REQUEST),
    (data.Data, *REQUEST), data.DataResponse, data.DataMetaRead, (data.DataMetaWrite, *PATCH),
    data.RqId, requests.UserIdentifiers,
]

COMPONENTS = sorted("""
Attribute AttributeRequest ChunkType DataMetaRead DataRequest DataResponse FrameMeta
FrameSelectionMethod InputTypeEnum IssuesSummary JobRead JobStage JobStatus JobType
JobValidationLayoutRead JobWriteRequest JobsSummary Label LabelType LabelsSummary LocationEnum
NullEnum OperationStatus PaginatedJobReadList PaginatedLabelList PaginatedProjectReadList
PaginatedTaskReadList PatchedDataMetaWriteRequest PatchedJobDataMetaWriteRequest
PatchedJobValidationLayoutWriteRequest PatchedJobWriteRequest PatchedLabelRequest
PatchedProjectWriteRequest PatchedTaskValidationLayoutWriteRequest PatchedTaskWriteRequest
ProjectRead ProjectWriteRequest RqId SortingMethod Storage StorageMethod StorageRequest
StorageType Sublabel SublabelRequest TaskRead TaskValidationLayoutRead TaskWriteRequest
TasksSummary UserIdentifiers ValidationMode ValidationParamsRequest
""".split())


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return component_schemas(ENTRY_POINTS, version="2.26.2")


@pytest.mark.parametrize("name", COMPONENTS)
def test_component_is_cvats(name: str, ours: dict[str, Any], reference: dict[str, Any]) -> None:
    assert name in ours, f"{name} is not built"
    ref = {"$ref": f"#/components/schemas/{name}"}
    comparer = schema_diff._Comparer({"components": {"schemas": ours}}, reference)
    assert comparer.schema(ref, ref, name) == []


def test_no_component_cvat_does_not_have(ours: dict[str, Any],
                                         reference: dict[str, Any]) -> None:
    assert set(ours) - set(reference["components"]["schemas"]) == set()
    assert set(ours) - set(COMPONENTS) == {"BasicUser"}  # users.py, reused


def test_the_comparison_sees_a_difference(ours: dict[str, Any],
                                          reference: dict[str, Any]) -> None:
    changed = {**ours, "TaskWriteRequest": {**ours["TaskWriteRequest"], "required": []}}
    ref = {"$ref": "#/components/schemas/TaskWriteRequest"}
    comparer = schema_diff._Comparer({"components": {"schemas": changed}}, reference)
    assert comparer.schema(ref, ref, "T") == ["T.required: ours [], CVAT ['name']"]


# --- validation -------------------------------------------------------------------------------
def errors(serializer: Any, body: Any, **kwargs: Any) -> Any:
    with pytest.raises(ValidationFailed) as caught:
        serializer.validate(body, **kwargs)
    return caught.value.detail


@pytest.mark.parametrize(("version", "quality"), [("2.26.2", 0), ("2.80.0", 1), ("2.80.0", 100)])
def test_image_quality_bounds_are_inclusive(version: str, quality: int) -> None:
    with compat.emulating(compat.Compat(version)):  # at least 1 from 2.65
        assert data.Data.validate({"image_quality": quality})["image_quality"] == quality


def test_data_request_rules() -> None:
    with compat.emulating(compat.Compat("2.26.2")):  # optional in the serializer from 2.65
        assert errors(data.Data, {}) == {"image_quality": ["This field is required."]}
        assert errors(data.Data, {"image_quality": -1}) == {
            "image_quality": ["Ensure this value is greater than or equal to 0."]}
    assert errors(data.Data, {"image_quality": 0}) == {
        "image_quality": ["Ensure this value is greater than or equal to 1."]}
    assert errors(data.Data, {"image_quality": 101}) == {
        "image_quality": ["Ensure this value is less than or equal to 100."]}
    assert errors(data.Data, {"image_quality": -1, "frame_filter": "", "chunk_size": 0}) == {
        "chunk_size": ["Chunk size must be a positive integer"],
        "image_quality": ["Ensure this value is greater than or equal to 1."],
        "frame_filter": ["Invalid frame filter expression"],
    }
    assert errors(data.Data, {"image_quality": 70, "start_frame": 5, "stop_frame": 1}) == {
        "non_field_errors": ["Stop frame must be more or equal start frame"]}
    assert errors(data.Data, {"image_quality": 70, "job_file_mapping": [["a"], ["b", "a"]]}) == {
        "job_file_mapping": [
            "The same file 'a' cannot be used multiple times in the job file mapping"]}
    assert errors(data.Data, {"image_quality": 70, "filename_pattern": "*",
                              "server_files": ["a.jpg"]}) == {"non_field_errors": [
        "The filename_pattern can only be used with specified manifest or without server_files"]}


def test_data_request_defaults() -> None:
    body = data.Data.validate({"image_quality": 70, "frame_filter": "step=2"})
    assert body == {
        "image_quality": 70, "frame_filter": "step=2", "client_files": [], "server_files": [],
        "remote_files": [], "use_zip_chunks": False, "server_files_exclude": [],
        "use_cache": False, "copy_data": False, "upload_file_order": []}


def test_many_serializers_report_per_item_errors() -> None:
    assert errors(data.Data, {"image_quality": 70, "client_files": "a.jpg",
                              "server_files": ["a", None]}) == {
        "client_files": {"non_field_errors": ['Expected a list of items but got type "str".']},
        "server_files": [{}, ["This field may not be null."]],
    }


def test_validation_params_rules() -> None:
    def params(**kw: Any) -> Any:
        return errors(data.Data, {"image_quality": 70, "validation_params": kw})

    assert params(mode="gt_pool", frame_selection_method="random_per_job") == {
        "validation_params": {"non_field_errors": [
            'The "frame_selection_method" field must be one of manual, random_uniform']}}
    assert params(mode="gt", frame_selection_method="random_uniform") == {
        "validation_params": {"non_field_errors": [
            'One of the fields "frame_count", "frame_share" required']}}
    assert params(mode="gt", frame_selection_method="random_uniform", frame_share=1.5) == {
        "validation_params": {"frame_share": ["Value must be in the range [0; 1]"]}}


def test_label_with_an_unknown_input_type() -> None:
    label = {"name": "car", "attributes": [
        {"name": "color", "mutable": False, "input_type": "slider", "values": ["red"]}]}
    assert errors(projects.ProjectWrite, {"name": "p", "labels": [label, {}]}) == {"labels": [
        {"attributes": [{"input_type": ['"slider" is not a valid choice.']}]},
        {"name": ["This field is required."]},
    ]}


def test_nested_labels_follow_the_root_partial_flag() -> None:
    body = {"labels": [{"id": 3, "color": "#ff0000"}]}
    assert projects.ProjectWrite.validate(body, partial=True) == body
    assert errors(projects.ProjectWrite, {"labels": [{"deleted": True}]}, partial=True) == {
        "labels": [{"non_field_errors": ["Deleted label must have an ID"]}]}
    assert errors(labels.LocalLabel, {"id": 3, "deleted": True}, partial=True) == {
        "non_field_errors": ["Labels cannot be deleted by updating in this endpoint. "
                             "Please use the DELETE method instead."]}


def test_task_write_rules() -> None:
    assert errors(tasks.TaskWrite, {"name": "x" * 257}) == {
        "name": ["Ensure this field has no more than 256 characters."]}
    assert errors(tasks.TaskWrite, {"name": "t", "consensus_replicas": 1}) == {
        "consensus_replicas": ["Consensus replicas must be 0 or a positive number more than 1 "
                               "and less than 12, got 1"]}
    assert tasks.TaskWrite.validate({"name": "t"}) == {"name": "t", "consensus_replicas": 0}
    # write-once fields are read-only on PATCH: silently ignored
    assert tasks.TaskWrite.validate({"segment_size": 5, "subset": "a"}, partial=True) == {
        "subset": "a"}


def test_job_write_rules() -> None:
    gt = {"type": "ground_truth", "task_id": 1, "frame_selection_method": "random_uniform"}
    with compat.emulating(compat.Compat("2.26.2")):  # "seed" is gone from 2.44
        assert errors(jobs.JobWrite, {**gt, "frame_count": 2, "seed": 1, "random_seed": 1}) == {
            "non_field_errors": ['Only 1 of the fields "seed", "random_seed" can be used']}
    assert "seed" not in jobs.JobWrite.validate({**gt, "frame_count": 2, "seed": 1})
    assert errors(jobs.JobWrite, {**gt, "frame_share": 0.5, "frames": [1]}) == {
        "non_field_errors": ['"frames" can only be used when "frame_selection_method" is '
                             '"manual"']}
    assert errors(jobs.JobWrite, {**gt, "frame_selection_method": "manual", "frames": []}) == {
        "frames": ["This list may not be empty."]}
    assert errors(jobs.JobWrite, {**gt, "type": "gt"})["type"] == ['"gt" is not a valid choice.']


def test_representations() -> None:
    label = labels.Label.dump({
        "id": 1, "name": "car", "color": "#fff", "type": "any", "svg": "", "sublabels": [],
        "project_id": 2, "task_id": None, "parent_id": None, "has_parent": False,
        "attributes": [{"id": 3, "name": "a", "mutable": True, "input_type": "text",
                        "default_value": "", "values": []}]})
    assert label is not None and "svg" not in label and "task_id" not in label
    assert label["attributes"][0]["values"] == [""]  # CVAT stores them "\n"-joined
    # a task without data: the data_* fields are left out, validation_mode is null
    task = tasks.TaskRead.dump({"id": 1, "name": "t", "jobs": {"completed": 0, "validation": 0},
                                "labels": {"url": None}})
    assert task is not None and "data_chunk_size" not in task and "size" not in task
    assert task["validation_mode"] is None and task["jobs"]["count"] == 0
    assert tasks.TaskValidationLayoutRead.dump({"mode": None}) == {
        "mode": None, "frames_per_job_count": None}
