"""Analytics reports (CVAT 2.26): computed from the event log and the stored annotations."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mockcvat.testing import MockCVATServer
from tests.conftest import STRONG_PASSWORD, token_client

LABELS = [{"name": "car"}]
JOB_METRICS = ["objects", "annotation_speed", "annotation_time", "total_object_count",
               "average_annotation_speed"]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def server():
    with MockCVATServer(cvat_version="2.26.2") as server:
        yield server


@pytest.fixture
def admin(server):
    server.reset()
    with token_client(server, *server.admin_credentials) as client:
        yield client


def make_task(admin, frames: int = 4, segment_size: int = 2) -> dict:
    task = admin.post("/api/tasks", json={"name": "t", "labels": LABELS,
                                          "segment_size": segment_size}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(frames)]
    assert admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                      files=files).status_code == 202
    label = admin.get(f"/api/labels?task_id={task['id']}").json()["results"][0]["id"]
    jobs = [j["id"] for j in admin.get(f"/api/jobs?task_id={task['id']}&sort=id").json()[
        "results"]]
    return {"id": task["id"], "label": label, "jobs": jobs}


def compute(admin, **target) -> None:
    started = admin.post("/api/analytics/reports", json=target)
    assert started.status_code == 202, started.text
    rq_id = started.json()["rq_id"]
    target_name, pk = next(iter(target.items()))
    assert rq_id == f"analytics:calculate-report-{target_name[:-3]}-{pk}"
    done = admin.post("/api/analytics/reports", params={"rq_id": rq_id})
    assert done.status_code == 201 and done.json() == {"rq_id": rq_id}
    assert admin.post("/api/analytics/reports", params={"rq_id": rq_id}).status_code == 404


def metrics(report: dict) -> dict[str, dict]:
    return {m["name"]: m for m in report["statistics"]}


def test_job_report_counts_objects_and_time(admin):
    task = make_task(admin)
    job = task["jobs"][0]
    shapes = [{"type": "rectangle", "frame": 0, "label_id": task["label"],
               "points": [1, 1, 5, 5]} for _ in range(3)]
    assert admin.put(f"/api/jobs/{job}/annotations/", json={"shapes": shapes}).status_code == 200
    tracks = [{"frame": 0, "label_id": task["label"], "shapes": [
        {"type": "rectangle", "frame": 0, "points": [1, 1, 5, 5]}]}]
    assert admin.patch(f"/api/jobs/{job}/annotations/?action=create",
                       json={"tracks": tracks}).status_code == 200
    assert admin.patch(f"/api/jobs/{job}", json={"state": "in progress"}).status_code == 200
    assert admin.patch(f"/api/jobs/{job}", json={"state": "completed"}).status_code == 200

    compute(admin, job_id=job)
    report = admin.get("/api/analytics/reports", params={"job_id": job}).json()
    assert report["target"] == "job" and report["job_id"] == job
    assert "task_id" not in report
    by_name = metrics(report)
    assert list(by_name) == JOB_METRICS
    objects = by_name["objects"]
    assert objects["granularity"] == "day" and objects["default_view"] == "histogram"
    assert [e["value"] for e in objects["data_series"]["created"]] == [4]
    assert len(objects["data_series"]["created"][0]["date"]) == 10  # YYYY-MM-DD
    # 3 shapes + a one-keyframe track visible on frames 0..1 of the job
    assert by_name["total_object_count"]["data_series"]["total_object_count"][0]["value"] == 5
    speed = by_name["annotation_speed"]
    assert speed["transformations"] == [{"name": "annotation_speed", "binary": {
        "left": "object_count", "operator": "/", "right": "working_time"}}]
    assert by_name["annotation_time"]["granularity"] is None
    assert by_name["objects"]["description"] == (
        "Metric shows number of added/changed/deleted objects for the Job.")


def test_task_and_project_reports_combine_their_jobs(admin):
    project = admin.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
    task = admin.post("/api/tasks", json={"name": "t", "project_id": project["id"],
                                          "segment_size": 2}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(4)]
    admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"}, files=files)
    label = admin.get(f"/api/labels?project_id={project['id']}").json()["results"][0]["id"]
    shapes = [{"type": "points", "frame": f, "label_id": label, "points": [1, 1]}
              for f in range(4)]
    admin.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": shapes})
    compute(admin, task_id=task["id"])
    report = admin.get("/api/analytics/reports", params={"task_id": task["id"]}).json()
    by_name = metrics(report)
    assert by_name["total_object_count"]["data_series"]["total_object_count"][0]["value"] == 4
    assert sum(e["value"] for e in by_name["objects"]["data_series"]["created"]) == 4
    assert by_name["total_object_count"]["description"] == (
        "Metric shows total object count in the Task.")
    compute(admin, project_id=project["id"])
    whole = admin.get("/api/analytics/reports", params={"project_id": project["id"]}).json()
    assert whole["target"] == "project"
    assert metrics(whole)["total_object_count"]["data_series"]["total_object_count"][0][
        "value"] == 4


def test_an_uncomputed_report_is_empty_and_bad_requests_are_400(admin):
    task = make_task(admin, frames=2)
    empty = admin.get("/api/analytics/reports", params={"task_id": task["id"]}).json()
    assert [m["name"] for m in empty["statistics"]] == JOB_METRICS
    assert metrics(empty)["objects"]["data_series"] == {
        "created": [], "updated": [], "deleted": []}
    assert admin.get("/api/analytics/reports").json() == [
        "No any job, task or project specified"]
    assert admin.get("/api/analytics/reports", params={"task_id": 1, "job_id": 1}).json() == [
        "Only one of job_id, task_id or project_id must be specified"]
    missing = admin.get("/api/analytics/reports", params={"job_id": 999})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Job object with pk=999 does not exist"}
    assert admin.post("/api/analytics/reports", json={"task_id": 999}).status_code == 404
    assert admin.post("/api/analytics/reports", json={}).status_code == 400
    bad = admin.get("/api/analytics/reports", params={"task_id": task["id"],
                                                      "start_date": "soon"})
    assert bad.json() == ["Cannot parse 'start_date' datetime parameter: soon"]


def test_reports_need_the_targets_view(server, admin):
    task = make_task(admin, frames=2)
    server.create_user("eve", STRONG_PASSWORD)
    with token_client(server, "eve", STRONG_PASSWORD) as eve:
        assert eve.get("/api/analytics/reports", params={"task_id": task["id"]}
                       ).status_code == 403
        assert eve.post("/api/analytics/reports", json={"task_id": task["id"]}
                        ).status_code == 403


def test_newer_versions_have_no_analytics(cvat_server, http):
    assert http.get("/api/analytics/reports").status_code == 404
