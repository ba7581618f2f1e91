"""Consensus: replica jobs made at task creation, settings, and merges of the replicas into
their parent job by CVAT's voting, through cvat-sdk 2.80; the pure merge by hand."""

from __future__ import annotations

import json

import pytest
from cvat_sdk import models
from cvat_sdk.api_client.exceptions import ApiException

from mockcvat.quality.compare import Labels
from mockcvat.quality.consensus import merge_frame
from tests.media_files import make_image


def box(obj_id, points, label=1, **extra):
    return {"kind": "shape", "id": obj_id, "job_id": 1, "type": "rectangle", "label_id": label,
            "points": list(points), "rotation": 0, "z_order": 0, "group": 0,
            "occluded": False, "outside": False, "attributes": {}, "raw_attributes": [],
            "elements": [], **extra}


def test_merge_frame_by_hand():
    labels = Labels(names={1: "car", 2: "tree"})
    replicas = [[box(1, (0, 0, 10, 10))],
                [box(2, (2, 0, 12, 10)), box(3, (50, 50, 60, 60))],
                [box(4, (1, 0, 11, 10), label=2)]]
    merged = merge_frame(replicas, frame=0, width=100, height=100, labels=labels,
                         iou_threshold=0.4)
    # replicas 1 and 2 agree on a car (the mean of their boxes); replica 3's box has another
    # label, so it matches nothing (CVAT matches same-label shapes only) and stays alone, as
    # does replica 2's far box: CVAT 2.80 has no quorum, every cluster is kept
    assert [(m["label_id"], m["points"]) for m in merged] == [
        (1, [1.0, 0.0, 11.0, 10.0]), (1, [50.0, 50.0, 60.0, 60.0]),
        (2, [1.0, 0.0, 11.0, 10.0])]
    strict = merge_frame(replicas, frame=0, width=100, height=100, labels=labels,
                         iou_threshold=0.4, quorum=0.5)
    assert [m["points"] for m in strict] == [[1.0, 0.0, 11.0, 10.0]]
    far = merge_frame(replicas, frame=0, width=100, height=100, labels=labels,
                      iou_threshold=0.9)
    assert len(far) == 4  # nothing similar enough: every box alone


@pytest.fixture
def consensus_task(cvat_client, tmp_path):
    files = [make_image(tmp_path / "0.png", (100, 100))]
    task = cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="consensus", labels=[{"name": "car"},
                                                               {"name": "tree"}],
                                     consensus_replicas=3),
        resources=files)
    return task


def rect(label_id, points):
    return models.LabeledShapeRequest(type="rectangle", frame=0, label_id=label_id,
                                      points=points)


def test_replicas_settings_and_merge(cvat_client, consensus_task):
    task = consensus_task
    jobs = task.get_jobs()
    parent = next(j for j in jobs if j.type == "annotation")
    replicas = sorted((j for j in jobs if j.type == "replica"), key=lambda j: j.id)
    assert len(replicas) == 3 and {r.parent_job_id for r in replicas} == {parent.id}
    assert task.fetch().initial_replicas == 3
    labels = {label.name: label.id for label in task.get_labels()}
    car, tree = labels["car"], labels["tree"]

    api = cvat_client.api_client
    with pytest.raises(ApiException) as error:  # every replica is still new
        api.consensus_api.create_merge(
            consensus_merge_create_request=models.ConsensusMergeCreateRequest(task_id=task.id))
    assert error.value.status == 400
    assert json.loads(error.value.body) == [
        "No annotation jobs in the annotation stage or no replica jobs not in the annotation "
        "- new state found"]

    shapes = [[rect(car, [0, 0, 10, 10])], [rect(car, [2, 0, 12, 10])],
              [rect(car, [1, 0, 11, 10]), rect(car, [50, 50, 60, 60])]]
    for replica, replica_shapes in zip(replicas, shapes, strict=True):
        cvat_client.jobs.retrieve(replica.id).set_annotations(models.LabeledDataRequest(
            shapes=replica_shapes, tags=[models.LabeledImageRequest(frame=0, label_id=tree)]))
    for replica in replicas[:2]:  # the third stays "new": skipped
        api.jobs_api.partial_update(replica.id, patched_job_write_request=(
            models.PatchedJobWriteRequest(state="in progress")))

    settings = api.consensus_api.list_settings(task_id=task.id)[0].results
    assert [(s.task_id, s.iou_threshold) for s in settings] == [(task.id, 0.4)]
    rq, _ = api.consensus_api.create_merge(
            consensus_merge_create_request=models.ConsensusMergeCreateRequest(task_id=task.id))
    request, _ = api.requests_api.retrieve(rq.rq_id)
    assert str(request.status) == "finished", request.message
    assert request.operation.type == "merge:task"

    merged = cvat_client.jobs.retrieve(parent.id).get_annotations()
    assert [(s.label_id, s.points, s.source) for s in merged.shapes] == [
        (car, [1.0, 0.0, 11.0, 10.0], "consensus")]
    assert [(t.label_id, t.source) for t in merged.tags] == [(tree, "consensus")]
    assert str(cvat_client.jobs.retrieve(parent.id).state) == "completed"


def test_merge_preconditions_and_settings_range(admin, tmp_path, cvat_client):
    files = [make_image(tmp_path / "0.png", (20, 20))]
    plain = cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="plain", labels=[{"name": "car"}]), resources=files)
    response = admin.post("/api/consensus/merges", json={"task_id": plain.id})
    assert response.status_code == 400
    assert response.json() == ["Consensus is not enabled in this task"]
    assert admin.get("/api/consensus/settings").json()["count"] == 0
    replicated = cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="r", labels=[{"name": "car"}], initial_replicas=2),
        resources=files)
    settings = admin.get("/api/consensus/settings",
                         params={"task_id": replicated.id}).json()["results"][0]
    bad = admin.patch(f"/api/consensus/settings/{settings['id']}",
                      json={"iou_threshold": 1.5})
    assert bad.status_code == 400
    assert bad.json() == {"iou_threshold": ["Ensure this value is less than or equal to 1."]}
    good = admin.patch(f"/api/consensus/settings/{settings['id']}", json={"iou_threshold": 0.7})
    assert good.json()["iou_threshold"] == 0.7
