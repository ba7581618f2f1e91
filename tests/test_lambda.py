"""AI functions (/api/lambda): registered by the test author, run online on one frame and over a
task as background requests, results stored as CVAT stores them; cvat-sdk's client-side
auto_annotation beside them."""

from __future__ import annotations

import threading

import pytest
from cvat_sdk import models
from cvat_sdk.api_client.exceptions import ApiException

from tests.media_files import make_image

LABELS = [{"name": "car", "attributes": [{"name": "color", "mutable": False,
                                          "input_type": "select", "default_value": "red",
                                          "values": ["red", "blue"]}]},
          {"name": "person"}]
FUNCTION_LABELS = [{"name": "car", "type": "rectangle",
                    "attributes": [{"name": "color", "input_type": "select",
                                    "values": ["red", "blue"]}]},
                   {"name": "dog", "type": "rectangle"}]


def detector(image, request):
    """A box the size of the image on every frame, and one for a label the task lacks."""
    width, height = image.size
    if request.get("threshold", 0) > 0.9:
        return []
    return [{"label": "car", "type": "rectangle", "points": [0, 0, width / 2, height / 2],
             "attributes": [{"name": "color", "value": "blue"}]},
            {"label": "dog", "type": "rectangle", "points": [1, 1, 2, 2]}]


@pytest.fixture
def task(cvat_client, tmp_path):
    files = [make_image(tmp_path / f"{i}.png", (40, 20)) for i in range(3)]
    return cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="lambda", labels=LABELS, segment_size=2),
        resources=files)


def test_without_functions_lambda_answers_like_cvat_without_nuclio(admin):
    response = admin.get("/api/lambda/functions")
    assert response.status_code == 503
    assert "Max retries exceeded with url: /api/functions" in response.json()
    assert admin.get("/api/server/plugins").json()["MODELS"] is False


def test_function_listing_and_online_call(cvat_server, admin, task):
    cvat_server.register_function("yolo", detector, name="YOLO", labels=FUNCTION_LABELS,
                                  description="boxes", version=3)
    listed = admin.get("/api/lambda/functions").json()
    assert listed == [{"id": "yolo", "kind": "detector", "name": "YOLO", "version": 3,
                       "description": "boxes", "labels_v2": [
                           {"name": "car", "type": "rectangle", "attributes": [
                               {"name": "color", "input_type": "select",
                                "values": ["red", "blue"]}]},
                           {"name": "dog", "type": "rectangle", "attributes": []}]}]
    assert admin.get("/api/server/plugins").json()["MODELS"] is True
    missing = admin.get("/api/lambda/functions/nope")
    assert missing.status_code == 404 and missing.json().startswith("404 Client Error")

    result = admin.post("/api/lambda/functions/yolo", json={"task": task.id, "frame": 0})
    assert result.status_code == 200, result.text
    # "dog" is not a task label: left out by the default mapping
    assert result.json() == [{"label": "car", "type": "rectangle", "points": [0, 0, 20, 10],
                              "attributes": [{"name": "color", "value": "blue"}]}]
    no_frame = admin.post("/api/lambda/functions/yolo", json={"task": task.id})
    assert no_frame.status_code == 400
    assert no_frame.json() == ("`yolo` lambda function was called without mandatory "
                               "argument: frame")
    bad_mapping = admin.post("/api/lambda/functions/yolo", json={
        "task": task.id, "frame": 0, "mapping": {"car": {"name": "truck"}}})
    assert bad_mapping.status_code == 400
    assert bad_mapping.json() == 'Invalid mapping. Unknown db label "truck"'


def test_request_over_a_task_writes_annotations(cvat_client, cvat_server, task):
    cvat_server.register_function("yolo", detector, labels=FUNCTION_LABELS)
    api = cvat_client.api_client.lambda_api
    call, _ = api.create_requests(models.FunctionCallRequest(
        function="yolo", task=task.id, mapping={"car": models.LabelMappingEntryRequest(
            name="person")}))
    assert call.function.id == "yolo" and call.function.task == task.id
    done, _ = api.retrieve_requests(call.id)
    assert done.status == "finished" and done.progress == 100
    shapes = task.get_annotations().shapes
    person = next(label.id for label in task.get_labels() if label.name == "person")
    assert [(s.frame, s.label_id, s.points, s.source) for s in shapes] == [
        (frame, person, [0.0, 0.0, 20.0, 10.0], "auto") for frame in range(3)]
    assert [c.id for c in api.list_requests()[0]] == [call.id]
    request, _ = cvat_client.api_client.requests_api.retrieve(call.id)
    assert request.operation.function_id == "yolo"

    # cleanup replaces, a job request covers the job's frames only
    job = sorted(task.get_jobs(), key=lambda j: j.start_frame)[1]
    api.create_requests(models.FunctionCallRequest(function="yolo", task=task.id,
                                                   job=job.id, cleanup=True))
    frames = sorted(s.frame for s in task.get_annotations().shapes)
    assert frames == [0, 1, 2]
    car = next(label.id for label in task.get_labels() if label.name == "car")
    assert {s.label_id for s in cvat_client.jobs.retrieve(job.id).get_annotations().shapes
            } == {car}


def test_failing_function_and_unknown_ids(cvat_client, cvat_server, admin, task):
    cvat_server.register_function("broken", error="CUDA out of memory", labels=FUNCTION_LABELS)
    online = admin.post("/api/lambda/functions/broken", json={"task": task.id, "frame": 0})
    assert online.status_code == 500 and "CUDA out of memory" in online.json()
    call = admin.post("/api/lambda/requests", json={"function": "broken", "task": task.id})
    assert call.status_code == 200
    state = admin.get(f"/api/lambda/requests/{call.json()['id']}").json()
    assert state["status"] == "failed" and "CUDA out of memory" in state["exc_info"]

    with pytest.raises(ApiException) as error:
        cvat_client.api_client.lambda_api.create_requests(
            models.FunctionCallRequest(function="missing", task=task.id))
    assert error.value.status == 404
    unknown_task = admin.post("/api/lambda/requests", json={"function": "broken", "task": 999})
    assert unknown_task.status_code == 400
    assert unknown_task.json() == "Task matching query does not exist."
    gone = admin.get("/api/lambda/requests/autoannotate:task-999")
    assert gone.status_code == 404


def test_one_running_request_per_task_and_delete(cvat_server, admin, task):
    release = threading.Event()

    def blocked(image, request):
        release.wait(30)  # holds the request started until the test lets it go
        return []

    cvat_server.register_function("slow", blocked, labels=FUNCTION_LABELS)
    cvat_server.set_background_mode("thread")
    try:
        first = admin.post("/api/lambda/requests", json={"function": "slow", "task": task.id})
        assert first.status_code == 200, first.text
        second = admin.post("/api/lambda/requests", json={"function": "slow", "task": task.id})
        assert second.status_code == 409
        assert second.json() == (
            f"Only one running request is allowed for the same task #{task.id}")
        assert admin.delete(f"/api/lambda/requests/{first.json()['id']}").status_code == 204
    finally:
        release.set()
        cvat_server.wait_for_requests()
    assert admin.get(f"/api/lambda/requests/{first.json()['id']}").status_code == 404


def test_declarative_function_over_the_control_plane(admin, http, task):
    spec = {"id": "canned", "kind": "detector", "labels": [{"name": "person"}],
            "detections": {"1": [{"label": "person", "type": "tag"}]}}
    created = http.post("/_mockcvat/lambda/functions", json=spec)
    assert created.status_code == 201 and created.json()["labels_v2"][0]["type"] == "unknown"
    admin.post("/api/lambda/requests", json={"function": "canned", "task": task.id})
    tags = admin.get(f"/api/tasks/{task.id}/annotations").json()["tags"]
    assert [(t["frame"], t["source"]) for t in tags] == [(1, "auto")]


def test_sdk_auto_annotation_beside_a_server_function(cvat_client, cvat_server, task):
    """cvat-sdk's auto_annotation runs its function client-side; the server's function runs
    through /api/lambda: both results end up in the task."""
    import cvat_sdk.auto_annotation as cvataa
    from cvat_sdk.masks import encode_mask  # noqa: F401  (the SDK's helpers import cleanly)

    class ClientSide:
        spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("person", 0)])

        def detect(self, context, image):
            return [cvataa.rectangle(0, [1, 1, 3, 3])]

    cvataa.annotate_task(cvat_client, task.id, ClientSide())
    cvat_server.register_function("yolo", detector, labels=FUNCTION_LABELS)
    cvat_client.api_client.lambda_api.create_requests(
        models.FunctionCallRequest(function="yolo", task=task.id))
    names = {label.id: label.name for label in task.get_labels()}
    found = sorted((s.frame, names[s.label_id]) for s in task.get_annotations().shapes)
    assert found == [(f, name) for f in range(3) for name in ("car", "person")]


def test_a_request_region_of_interest_crops_the_frame(cvat_client, cvat_server, admin, task):
    """2.70+: ``roi`` [xtl, ytl, xbr, ybr]: the detector sees the region only; its results are
    moved back to the frame's coordinates."""
    seen = []

    def corner_box(image, request):
        seen.append(image.size)
        return [{"label": "car", "type": "rectangle", "points": [0, 0, 2, 3]}]

    cvat_server.register_function("corner", corner_box, labels=FUNCTION_LABELS)
    api = cvat_client.api_client.lambda_api
    api.create_requests(models.FunctionCallRequest(function="corner", task=task.id,
                                                   roi=[10, 4, 30, 14]))
    assert seen == [(20, 10)] * 3
    assert [s.points for s in task.get_annotations().shapes] == [[10.0, 4.0, 12.0, 7.0]] * 3
    wrong = admin.post("/api/lambda/requests", json={
        "function": "corner", "task": task.id, "roi": [1, 2, 3]})
    assert wrong.status_code == 400
    assert wrong.json() == {"roi": ["Ensure this field has at least 4 elements."]}


def test_function_ids_in_urls_start_with_a_letter_or_digit_from_2_75(cvat_server, admin,
                                                                     mockcvat_server_old):
    """cvat-sdk 2.75's path pattern ``^[a-zA-Z0-9][a-zA-Z0-9_.-]*$``: ``_yolo`` matches no route
    (Django's 404 page); 2.26 takes it."""
    from tests.conftest import token_client

    cvat_server.register_function("_yolo", detector, labels=FUNCTION_LABELS)
    refused = admin.get("/api/lambda/functions/_yolo")
    assert refused.status_code == 404 and "<title>Not Found</title>" in refused.text
    mockcvat_server_old.register_function("_yolo", detector, labels=FUNCTION_LABELS)
    try:
        with token_client(mockcvat_server_old, *mockcvat_server_old.admin_credentials) as old:
            assert old.get("/api/lambda/functions/_yolo").json()["id"] == "_yolo"
    finally:
        mockcvat_server_old.unregister_function("_yolo")
