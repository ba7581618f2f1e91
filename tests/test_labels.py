"""Labels of projects and tasks through the real cvat-sdk 2.80 (and raw HTTP for the errors):
skeletons, attributes, CVAT's colour generation, uniqueness, the ``/api/labels`` endpoints.

Expected colours are worked out by hand from CVAT's ``get_label_color``
(``cvat/apps/dataset_manager/formats/utils.py``) and ``predefined_colors.txt``:

* predefined: ``car`` is entry 102 and ``person`` entry 441 of the table; entry ``i`` is the
  PASCAL VOC colormap colour of ``i`` -> 102 = 0b1100110 gives (32, 128, 192) = ``#2080c0``,
  441 gives (192, 96, 96) = ``#c06060``.
* hashed: ``"Pedestrian  Crossing-Sign!"`` normalises to ``pedestrian_crossing_sign``, whose
  blake2s digest (3 bytes) is ``6a15fc``; spread into RGB the colormap way: (105, 115, 228) =
  ``#6973e4``. ``nose`` -> ``22f93e`` -> ``#4dc8fc``; ``left_eye`` -> ``55bb7d`` ->
  ``#fe4df2``; ``drone`` -> ``96db44`` -> (62, 0, 191) = ``#3e00bf``.
* clash: the first tint of (32, 128, 192) is ``int(c + (255 - c) * 1 / 10)`` per channel =
  (54, 140, 198) = ``#368cc6``.
"""

from __future__ import annotations

import pytest
from cvat_sdk.api_client import models

from tests.media_files import make_image

CAR, PERSON, CAR_TINT = "#2080c0", "#c06060", "#368cc6"
SIGN, NOSE, LEFT_EYE, DRONE = "#6973e4", "#4dc8fc", "#fe4df2", "#3e00bf"

SVG = ('<line x1="1" y1="1" x2="5" y2="5" data-type="edge" data-node-from="1" data-node-to="2">'
       '</line><circle r="0.75" cx="1" cy="1" data-type="element node" data-element-id="1" '
       'data-node-id="1" data-label-name="nose"></circle><circle r="0.75" cx="5" cy="5" '
       'data-type="element node" data-element-id="2" data-node-id="2" '
       'data-label-name="left_eye"></circle>')
SKELETON = {"name": "head", "type": "skeleton", "svg": SVG,
            "sublabels": [{"name": "nose", "type": "points"},
                          {"name": "left_eye", "type": "points"}]}


def labels_of(client, **params) -> list[dict]:
    response = client.get("/api/labels", params=params)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_skeleton_sublabels_are_nested_and_svg_uses_their_ids(cvat_client, admin):
    project = cvat_client.projects.create({"name": "poses", "labels": [
        SKELETON, {"name": "car", "color": "#123456"}]})
    labels = project.get_labels()
    assert [label.name for label in labels] == ["head", "car"]
    head = labels[0]
    nose, left_eye = head.sublabels
    assert (nose.name, left_eye.name) == ("nose", "left_eye")
    assert nose.has_parent and left_eye.has_parent and not head.has_parent
    assert head.id < nose.id < left_eye.id < labels[1].id
    assert head.svg == SVG.replace('data-label-name="nose"', f'data-label-id="{nose.id}"') \
        .replace('data-label-name="left_eye"', f'data-label-id="{left_eye.id}"')
    # sublabels get colours among themselves; the car's explicit colour is kept
    assert (nose.color, left_eye.color, labels[1].color) == (NOSE, LEFT_EYE, "#123456")

    # never listed, but retrievable; svg only for skeletons; no task_id key on project labels
    listed = labels_of(admin, project_id=project.id)
    assert [label["name"] for label in listed] == ["head", "car"]
    assert "svg" not in listed[1] and "task_id" not in listed[1]
    assert listed[1]["sublabels"] == [] and listed[1]["project_id"] == project.id
    assert [label["name"] for label in labels_of(admin)] == ["head", "car"]
    assert labels_of(admin, parent="head") == []
    sublabel = admin.get(f"/api/labels/{nose.id}").json()
    assert (sublabel["parent_id"], sublabel["has_parent"], sublabel["type"]) == (
        head.id, True, "points")


def test_attributes_round_trip_and_merge(cvat_client, admin):
    task = cvat_client.tasks.create({"name": "attrs", "labels": [{"name": "car", "attributes": [
        {"name": "model", "mutable": False, "input_type": "select",
         "values": ["sedan", "truck"], "default_value": "truck"},
        {"name": "note", "mutable": True, "input_type": "text", "values": []},
        {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
    ]}]})
    (label,) = task.get_labels()
    model, note, parked = label.attributes
    assert (model.values, model.default_value, model.mutable) == (["sedan", "truck"], "truck",
                                                                  False)
    assert (note.values, note.default_value) == ([""], "")  # [] is stored as "" -> [""]
    assert label.color == CAR and label.type == "any"

    patched = cvat_client.api_client.labels_api.partial_update(
        label.id, patched_label_request=models.PatchedLabelRequest(attributes=[
            models.AttributeRequest(id=model.id, name="make", mutable=True,
                                    input_type="select", values=["sedan"]),
            models.AttributeRequest(name="note", mutable=False, input_type="text",
                                    values=["x"]),
            models.AttributeRequest(name="speed", mutable=True, input_type="number",
                                    values=["0", "100", "1"], default_value="0"),
        ]))[0]
    by_name = {a.name: a for a in patched.attributes}
    assert list(by_name) == ["make", "note", "parked", "speed"]  # parked was not mentioned
    assert by_name["make"].id == model.id and by_name["make"].values == ["sedan"]
    assert by_name["make"].default_value == "truck"  # not sent: kept
    assert by_name["note"].id == note.id and by_name["note"].values == ["x"]
    assert by_name["parked"].values == ["false"]
    assert by_name["speed"].values == ["0", "100", "1"]
    assert patched.name == "car"

    response = admin.patch(f"/api/labels/{label.id}", json={"attributes": [
        {"id": 99999, "name": "make", "mutable": True, "input_type": "select", "values": []}]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Attribute with id #99999 does not exist"}
    response = admin.patch(f"/api/tasks/{task.id}", json={"labels": [{"name": "bus", "attributes": [
        {"name": "a", "mutable": True, "input_type": "text", "values": []},
        {"name": "a", "mutable": True, "input_type": "text", "values": []}]}]})
    assert response.status_code == 400
    assert response.json() == ["Duplicate attribute with name 'a' exists"]


def test_generated_colours(cvat_client, admin):
    project = cvat_client.projects.create({"name": "colours", "labels": [
        {"name": "car"}, {"name": "person"}, {"name": "Pedestrian  Crossing-Sign!"},
        {"name": "Car"}]})
    assert [label.color for label in project.get_labels()] == [CAR, PERSON, SIGN, CAR_TINT]

    # an explicit colour earlier in the list counts (compared as RGB, so any case)
    task = cvat_client.tasks.create({"name": "t", "labels": [
        {"name": "x", "color": "#2080C0"}, {"name": "car"}]})
    assert [label.color for label in task.get_labels()] == ["#2080C0", CAR_TINT]

    # a POST ignores labels that exist elsewhere; a PATCH counts all other labels of the owner
    project = cvat_client.projects.create({"name": "single", "labels": [{"name": "car"}]})
    assert project.get_labels()[0].color == CAR
    project.update({"labels": [{"name": "CAR"}, {"name": "drone"}]})
    assert [label.color for label in project.get_labels()] == [CAR, CAR_TINT, DRONE]

    # a PATCH without a colour recomputes it from the (new) name, even for an explicit one
    task = cvat_client.tasks.create({"name": "u", "labels": [{"name": "car", "color": "#ff0000"}]})
    (label,) = task.get_labels()
    patched = cvat_client.api_client.labels_api.partial_update(
        label.id, patched_label_request=models.PatchedLabelRequest(name="person"))[0]
    assert (patched.name, patched.color) == ("person", PERSON)
    response = admin.patch(f"/api/labels/{label.id}", json={"color": "#00ff00"})
    assert response.json()["color"] == "#00ff00"


def test_name_uniqueness(cvat_client, admin):
    response = admin.post("/api/projects", json={"name": "p", "labels": [
        {"name": "car"}, {"name": "car"}]})
    assert response.status_code == 400
    assert response.json() == ["All label names must be unique"]
    response = admin.post("/api/projects", json={"name": "p", "labels": [
        {"name": "s", "type": "skeleton", "sublabels": [{"name": "a"}, {"name": "a"}]}]})
    assert response.status_code == 400
    assert response.json() == ["All label names must be unique"]
    assert admin.get("/api/projects").json()["count"] == 0  # nothing of either was kept

    # sublabel names are unique per skeleton only
    project = cvat_client.projects.create({"name": "p", "labels": [
        {"name": "a", "type": "skeleton", "sublabels": [{"name": "a"}, {"name": "b"}]},
        {"name": "b", "type": "skeleton", "sublabels": [{"name": "a"}]}]})
    a, b = project.get_labels()
    response = admin.patch(f"/api/projects/{project.id}", json={"labels": [{"name": "a"}]})
    assert (response.status_code, response.json()) == (400, ["All label names must be unique"])
    response = admin.patch(f"/api/labels/{b.id}", json={"name": "a"})
    assert (response.status_code, response.json()) == (400, ["All label names must be unique"])
    # renaming a sublabel through its owner: checked within its skeleton
    response = admin.patch(f"/api/projects/{project.id}", json={"labels": [
        {"id": a.sublabels[1].id, "name": "a"}]})
    assert (response.status_code, response.json()) == (400, ["All label names must be unique"])
    response = admin.patch(f"/api/projects/{project.id}", json={"labels": [{"id": 99999}]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found label with id #99999 to change"}


def test_sublabels_cannot_be_patched_or_deleted_directly(cvat_client, admin):
    project = cvat_client.projects.create({"name": "poses", "labels": [SKELETON]})
    (head,) = project.get_labels()
    nose = head.sublabels[0]
    response = admin.patch(f"/api/labels/{nose.id}", json={"name": "snout"})
    assert response.status_code == 400
    assert response.json() == ["Sublabels cannot be modified this way. Please send a PATCH "
                               "request with updated parent label data instead."]
    response = admin.delete(f"/api/labels/{nose.id}")
    assert response.status_code == 400
    assert response.json() == ["Sublabels cannot be deleted this way. Please send a PATCH "
                               "request with updated parent label data instead."]
    response = admin.patch(f"/api/labels/{head.id}", json={"deleted": True})
    assert response.status_code == 400
    assert "Please use the DELETE method instead" in response.text
    # deleting the skeleton takes its sublabels along
    cvat_client.api_client.labels_api.destroy(head.id)
    for label_id in (head.id, nose.id):
        response = admin.get(f"/api/labels/{label_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": "No Label matches the given query."}


def test_deleted_in_project_patch_removes_the_label(cvat_client, admin):
    project = cvat_client.projects.create({"name": "p", "labels": [
        {"name": "car"}, {"name": "person"}]})
    car, person = project.get_labels()
    project.update(models.PatchedProjectWriteRequest(labels=[
        models.PatchedLabelRequest(id=car.id, deleted=True)]))
    assert [label.id for label in project.get_labels()] == [person.id]
    assert admin.get(f"/api/labels/{car.id}").status_code == 404
    response = admin.patch(f"/api/projects/{project.id}", json={"labels": [{"deleted": True}]})
    assert response.status_code == 400
    assert "Deleted label must have an ID" in response.text


def test_labels_of_a_task_in_a_project_are_the_projects(cvat_client, admin, tmp_path):
    project = cvat_client.projects.create({"name": "p", "labels": [SKELETON, {"name": "car"}]})
    task = cvat_client.tasks.create_from_data(
        {"name": "in project", "project_id": project.id},
        resources=[str(make_image(tmp_path / "a.png", (20, 10)))])
    expected = [label.id for label in project.get_labels()]
    assert [label.id for label in task.get_labels()] == expected
    (job,) = task.get_jobs()
    for key, pk in (("task_id", task.id), ("job_id", job.id), ("project_id", project.id)):
        page = cvat_client.api_client.labels_api.list(**{key: pk})[0]
        assert [label.id for label in page.results] == expected
        assert all(label.project_id == project.id for label in page.results)
    # a PATCH of the task's labels is ignored while it is in a project
    admin.patch(f"/api/tasks/{task.id}", json={"labels": [{"name": "new"}]})
    assert [label.id for label in task.get_labels()] == expected


def test_owner_parameters(cvat_client, admin, alice):
    project = cvat_client.projects.create({"name": "p", "labels": [{"name": "car"}]})
    task = cvat_client.tasks.create({"name": "t", "labels": [{"name": "bus"}]})
    for params in ({"task_id": task.id, "project_id": project.id},
                   {"task_id": "", "project_id": ""}, {"job_id": 1, "task_id": task.id}):
        response = admin.get("/api/labels", params=params)
        assert response.status_code == 400
        assert response.json() == ["job_id, task_id and project_id parameters cannot be used "
                                   "together"]
    assert [label["name"] for label in labels_of(admin, task_id="")] == ["car", "bus"]
    assert [label["name"] for label in labels_of(admin, task_id=task.id)] == ["bus"]
    assert [label["name"] for label in labels_of(admin, task_id=task.id, name="car")] == []
    assert admin.get("/api/labels", params={"task_id": 99999}).status_code == 404
    # someone else's: hidden from the plain list, 403 when asked for by owner or id
    assert labels_of(alice) == []
    assert alice.get("/api/labels", params={"project_id": project.id}).status_code == 403
    car_id = project.get_labels()[0].id
    assert alice.get(f"/api/labels/{car_id}").status_code == 403


@pytest.mark.parametrize("remove", [False, True])
def test_label_changes_touch_the_owner_and_its_children(cvat_client, tmp_path, remove):
    project = cvat_client.projects.create({"name": "p", "labels": [
        {"name": "car"}, {"name": "person"}]})
    task = cvat_client.tasks.create_from_data(
        {"name": "t", "project_id": project.id},
        resources=[str(make_image(tmp_path / "a.png", (20, 10)))])
    car = project.get_labels()[0]
    before = cvat_client.projects.retrieve(project.id).updated_date
    if remove:
        cvat_client.api_client.labels_api.destroy(car.id)
    else:
        cvat_client.api_client.labels_api.partial_update(
            car.id, patched_label_request=models.PatchedLabelRequest(name="auto"))
    project.fetch()
    task.fetch()
    (job,) = task.get_jobs()
    assert project.updated_date > before
    assert task.updated_date == project.updated_date == job.updated_date
    # and through the project's own PATCH
    project.update({"labels": [{"name": "bike"}]})
    task.fetch()
    assert task.updated_date == project.updated_date == task.get_jobs()[0].updated_date
