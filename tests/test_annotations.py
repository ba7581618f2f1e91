"""Annotations of jobs and tasks: the real cvat-sdk 2.80's calls, then CVAT's rules over raw
HTTP (validation, the PATCH actions, task writes split over jobs, overlap folding)."""

from __future__ import annotations

import io

import pytest
from cvat_sdk.api_client import models
from PIL import Image

LABELS = [
    {"name": "car", "attributes": [
        {"name": "color", "mutable": True, "input_type": "select", "values": ["red", "blue"],
         "default_value": "red"},
        {"name": "model", "mutable": False, "input_type": "text", "values": [""]}]},
    {"name": "person"},
]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def task(admin):
    """A task of 6 images in jobs [0-3] and [2-5] (overlap 2)."""
    created = admin.post("/api/tasks", json={"name": "t", "labels": LABELS, "segment_size": 4,
                                             "overlap": 2}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(6)]
    done = admin.post(f"/api/tasks/{created['id']}/data/", data={"image_quality": "70"},
                      files=files)
    assert done.status_code == 202
    task = admin.get(f"/api/tasks/{created['id']}").json()
    labels = admin.get(f"/api/labels?task_id={task['id']}").json()["results"]
    jobs = admin.get(f"/api/jobs?task_id={task['id']}&sort=id").json()["results"]
    by_name = {label["name"]: label for label in labels}
    specs = {a["name"]: a["id"] for a in by_name["car"]["attributes"]}
    return {"id": task["id"], "car": by_name["car"]["id"], "person": by_name["person"]["id"],
            "color": specs["color"], "model": specs["model"], "jobs": [j["id"] for j in jobs]}


def box(label: int, frame: int, points=(1, 2, 10, 20), **extra) -> dict:
    return {"type": "rectangle", "frame": frame, "label_id": label, "points": list(points),
            **extra}


# --- the SDK ------------------------------------------------------------------------------------
def test_sdk_annotation_round_trip(cvat_client, task):
    sdk_task = cvat_client.tasks.retrieve(task["id"])
    sdk_task.set_annotations(models.LabeledDataRequest(
        shapes=[models.LabeledShapeRequest(type="rectangle", frame=0, label_id=task["car"],
                                           points=[1.5, 2, 10, 20])],
        tags=[models.LabeledImageRequest(frame=5, label_id=task["person"])]))
    data = sdk_task.get_annotations()
    assert (len(data.shapes), len(data.tags), data.version) == (1, 1, 0)
    shape = data.shapes[0]
    assert shape.points == [1.5, 2, 10, 20] and shape.source == "manual"
    assert {a.spec_id: a.value for a in shape.attributes} == {
        task["color"]: "red", task["model"]: ""}  # filled with the defaults

    sdk_task.update_annotations(models.PatchedLabeledDataRequest(
        shapes=[models.LabeledShapeRequest(type="polygon", frame=4, label_id=task["person"],
                                           points=[0, 0, 5, 0, 5, 5])]))
    types = sorted(str(s.type) for s in sdk_task.get_annotations().shapes)
    assert types == ["polygon", "rectangle"]

    job = cvat_client.jobs.retrieve(task["jobs"][0])
    assert [s.frame for s in job.get_annotations().shapes] == [0]
    job.remove_annotations(ids=[shape.id])
    assert [str(s.type) for s in sdk_task.get_annotations().shapes] == ["polygon"]
    sdk_task.remove_annotations()
    assert sdk_task.get_annotations().shapes == []


# --- raw HTTP: rules ------------------------------------------------------------------------------
def test_validation_against_the_labels(admin, task):
    url = f"/api/tasks/{task['id']}/annotations/"
    response = admin.put(url, json={"shapes": [box(9999, 0)]})
    assert (response.status_code, response.json()) == (400, ["label_id `9999` is invalid"])
    # a mutable attribute on the track itself, an immutable one on a keyframe: both refused
    track = {"frame": 0, "label_id": task["car"], "attributes": [
        {"spec_id": task["color"], "value": "blue"}],
             "shapes": [{**box(task["car"], 0), "attributes": []}]}
    assert admin.put(url, json={"tracks": [track]}).json() == [
        f"spec_id `{task['color']}` is invalid"]
    track["attributes"] = [{"spec_id": task["model"], "value": "x"}]
    track["shapes"][0]["attributes"] = [{"spec_id": task["model"], "value": "y"}]
    assert admin.put(url, json={"tracks": [track]}).json() == [
        f"spec_id `{task['model']}` is invalid"]
    bad = admin.put(url, json={"shapes": [{"frame": 0, "label_id": task["car"]}]})
    assert bad.json() == {"shapes": [{"type": ["This field is required."]}]}
    assert admin.get(url).json()["shapes"] == []  # nothing half-written


def test_patch_actions(admin, task):
    url = f"/api/jobs/{task['jobs'][0]}/annotations/"
    assert admin.patch(url, json={}).json() == [
        "Please specify a correct 'action' for the request"]
    created = admin.patch(url + "?action=create", json={"shapes": [box(task["car"], 1)]})
    shape = created.json()["shapes"][0]
    assert created.status_code == 200 and shape["id"]
    changed = admin.patch(url + "?action=update", json={"shapes": [
        {**box(task["car"], 1, points=(5, 5, 6, 6)), "id": shape["id"]}]})
    assert changed.json()["shapes"][0]["id"] == shape["id"]
    stored = admin.get(url).json()["shapes"]
    assert [(s["id"], s["points"]) for s in stored] == [(shape["id"], [5, 5, 6, 6])]
    gone = admin.patch(url + "?action=delete", json={"shapes": [
        {**box(task["car"], 1), "id": shape["id"]}]})
    assert gone.status_code == 200 and admin.get(url).json()["shapes"] == []


def test_client_ids_are_kept_and_version_stays_zero(admin, task):
    url = f"/api/jobs/{task['jobs'][0]}/annotations/"
    answer = admin.put(url, json={"version": 7, "shapes": [{**box(task["car"], 0), "id": 500}]})
    assert answer.json()["version"] == 0
    assert [s["id"] for s in admin.get(url).json()["shapes"]] == [500]


def test_given_and_new_ids_mixed_in_one_write(admin, task):
    """One multi-row INSERT per kind: each object gets its own id back, in order, the client's
    where it gave one, the next free ones elsewhere; skeleton elements follow their parent."""
    url = f"/api/jobs/{task['jobs'][0]}/annotations/"
    given = [None, 500, None, 300, None]
    shapes = [{**box(task["car"], 0, points=(i, i, i + 5, i + 5)), **({"id": g} if g else {})}
              for i, g in enumerate(given)]
    answer = admin.put(url, json={"shapes": shapes, "tags": [
        {"label_id": task["person"], "frame": 1, "id": 40}, {"label_id": task["car"], "frame": 0}]})
    assert answer.status_code == 200, answer.text
    written = [(s["id"], s["points"][0]) for s in answer.json()["shapes"]]
    assert [i for i, _ in written][1::2] == [500, 300]  # the client's ids kept
    new = [i for i, _ in written][::2]  # the next free ones: after 500 on SQLite, the
    assert new == sorted(set(new)) and not {500, 300} & set(new)  # sequence's on PostgreSQL
    assert [p for _, p in written] == [0, 1, 2, 3, 4]
    tags = [t["id"] for t in answer.json()["tags"]]
    assert tags[0] == 40 and tags[1] != 40
    read = {s["id"]: s["points"][0] for s in admin.get(url).json()["shapes"]}
    assert read == dict(written)
    again = admin.patch(url, params={"action": "create"},
                        json={"shapes": [{**box(task["car"], 0), "id": 500}]})
    assert again.status_code == 400  # an id another shape has: refused, nothing written
    assert len(admin.get(url).json()["shapes"]) == 5


def test_task_writes_are_split_over_jobs_and_overlaps_folded(admin, task):
    url = f"/api/tasks/{task['id']}/annotations/"
    admin.put(url, json={"shapes": [box(task["car"], f) for f in (0, 2, 5)]})
    first, second = (admin.get(f"/api/jobs/{j}/annotations/").json()["shapes"]
                     for j in task["jobs"])
    assert [s["frame"] for s in first] == [0, 2]  # frame 2 is in both jobs
    assert [s["frame"] for s in second] == [2, 5]
    assert [s["frame"] for s in admin.get(url).json()["shapes"]] == [0, 2, 5]  # folded


def test_tracks_start_with_their_first_shape(admin, task):
    url = f"/api/jobs/{task['jobs'][0]}/annotations/"
    admin.put(url, json={"tracks": [{"frame": 0, "label_id": task["person"], "shapes": [
        box(task["person"], 2), box(task["person"], 3, outside=True)]}]})
    track = admin.get(url).json()["tracks"][0]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [
        (0, True), (2, False), (3, True)]
    admin.put(url, json={"tracks": [{"frame": 0, "label_id": task["person"], "shapes": []}]})
    assert admin.get(url).json()["tracks"] == []  # empty tracks are dropped


def test_task_without_data(admin):
    created = admin.post("/api/tasks", json={"name": "empty", "labels": LABELS}).json()
    response = admin.get(f"/api/tasks/{created['id']}/annotations/")
    assert response.status_code == 400
    assert response.text == "Exporting annotations from a task without data is not allowed"
