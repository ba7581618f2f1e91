"""Quality control and consensus between 2.26 and 2.80, each step dated by the cvat-sdk of its
release (docs/versions.md): bounded thresholds (2.31), project settings with ``inherit`` and
frame/job counts in summaries (2.37), status checks through ``?rq_id=`` (2.26 form until 2.38,
then deprecated), the CSV report (2.55-2.73), the consensus ``quorum`` (2.31-2.55) and merge
status checks (2.31-2.37, then 410)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mockcvat.testing import MockCVATServer
from tests.conftest import token_client
from tests.test_hardening import png


@contextmanager
def server_at(version: str) -> Iterator[httpx.Client]:
    with MockCVATServer(cvat_version=version) as server, \
            token_client(server, *server.admin_credentials) as admin:
        yield admin


def gt_task(admin: httpx.Client, **spec: Any) -> tuple[dict[str, Any], int]:
    """A task of two frames whose GT (frame 0) has a box its annotation job half covers."""
    own = {} if "project_id" in spec else {"labels": [{"name": "car"}]}
    task = admin.post("/api/tasks", json={"name": "t", **own, **spec}).json()
    files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(2)]
    admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"}, files=files)
    label = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]["id"]
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    gt = admin.post("/api/jobs", json={"type": "ground_truth", "task_id": task["id"],
                                       "frame_selection_method": "manual", "frames": [0]}).json()
    parent = next(j for j in jobs if j["type"] == "annotation")

    def boxes(points: list[float]) -> dict[str, Any]:
        return {"shapes": [{"type": "rectangle", "frame": 0, "label_id": label,
                            "points": points}]}

    admin.put(f"/api/jobs/{gt['id']}/annotations/", json=boxes([0, 0, 10, 10]))
    admin.put(f"/api/jobs/{parent['id']}/annotations/", json=boxes([0, 0, 10, 5]))
    admin.patch(f"/api/jobs/{gt['id']}", json={"stage": "acceptance", "state": "completed"})
    return task, label


def settings_of(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return admin.get("/api/quality/settings", params=params).json()["results"]


def test_2_36_bounded_thresholds_and_the_2_26_status_check():
    with server_at("2.36.0") as admin:
        task, _ = gt_task(admin)
        item = settings_of(admin, task_id=task["id"])[0]
        assert "inherit" not in item and "project_id" not in item
        bad = admin.patch(f"/api/quality/settings/{item['id']}", json={"oks_sigma": 2})
        assert bad.json() == {"oks_sigma": ["Ensure this value is less than or equal to 1."]}
        rq_id = admin.post("/api/quality/reports", json={"task_id": task["id"]}).json()["rq_id"]
        assert rq_id.startswith("quality-check-task-")  # the request ids change in 2.38
        done = admin.post("/api/quality/reports", params={"rq_id": rq_id})
        assert done.status_code == 201 and "Deprecation" not in done.headers
        assert "total_frames" not in done.json()["summary"]


def test_2_40_project_settings_inheritance_and_the_deprecated_status_check():
    with server_at("2.40.0") as admin:
        project = admin.post("/api/projects", json={"name": "p",
                                                    "labels": [{"name": "car"}]}).json()
        task, _ = gt_task(admin, project_id=project["id"])
        task_settings = settings_of(admin, task_id=task["id"])[0]
        assert (task_settings["inherit"], task_settings["job_filter"]) == (True, "")
        assert task_settings["iou_threshold"] == 0.4  # 2.26's thresholds are still there
        projects = settings_of(admin, parent_type="project")
        assert [s["project_id"] for s in projects] == [project["id"]]
        # the task inherits its project's settings: a strict IoU there unmatches the boxes
        admin.patch(f"/api/quality/settings/{projects[0]['id']}", json={"iou_threshold": 0.9})
        rq_id = admin.post("/api/quality/reports", json={"task_id": task["id"]}).json()["rq_id"]
        assert rq_id.startswith("action=calculate&target=task")
        done = admin.post("/api/quality/reports", params={"rq_id": rq_id})
        assert done.status_code == 201, done.text
        assert done.headers["Deprecation"] == "@1742169600"
        summary = done.json()["summary"]
        assert (summary["frame_count"], summary["total_frames"], summary["validation_frames"]
                ) == (1, 2, 1)
        assert summary["jobs"] == {"total": 1, "excluded": 0, "not_checkable": 0,
                                   "included": 1}
        assert summary["valid_count"] == 0  # matched only with the task's own 0.4
        unknown = admin.post("/api/quality/reports", params={"rq_id": rq_id})
        assert unknown.status_code == 404 and unknown.json() == "Unknown request id"
        data = admin.get(f"/api/quality/reports/{done.json()['id']}/data")
        assert data.json()["comparison_summary"]["frame_count"] == 1
        assert admin.get(f"/api/quality/reports/{done.json()['id']}/data",
                         params={"format": "csv"}).status_code == 200  # ignored before 2.55


def test_2_60_report_data_as_csv():
    with server_at("2.60.0") as admin:
        task, _ = gt_task(admin)
        rq_id = admin.post("/api/quality/reports", json={"task_id": task["id"]}).json()["rq_id"]
        report = admin.get("/api/requests/" + rq_id).json()["result_id"]
        url = f"/api/quality/reports/{report}/data"
        lines = admin.get(url, params={"format": "csv"}).text.splitlines()
        assert lines[0] == "label,car,unmatched,precision"
        assert lines[1].startswith("car,1,0,") and lines[3].startswith("recall,")
        assert lines[-2].startswith("avg. accuracy (micro),")
        as_json = admin.get(url, params={"format": "json"})
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.json()["comparison_summary"]["frame_count"] == 1
        assert admin.get(url, params={"format": "xml"}).status_code == 400


def test_2_80_status_check_is_deprecated_but_served(cvat_server, admin):
    task, _ = gt_task(admin)
    rq_id = admin.post("/api/quality/reports", json={"task_id": task["id"]}).json()["rq_id"]
    done = admin.post("/api/quality/reports", params={"rq_id": rq_id})
    assert done.status_code == 201 and done.headers["Deprecation"] == "@1742169600"
    assert "requirements" in done.json()["summary"]


def _replicated(admin: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A task of 3 replicas, two annotated alike, the third with a box of its own."""
    task = admin.post("/api/tasks", json={"name": "c", "labels": [{"name": "car"}],
                                          "consensus_replicas": 3}).json()
    files = [("client_files[0]", ("0.png", png(), "image/png"))]
    admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"}, files=files)
    label = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]["id"]
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    replicas = sorted((j for j in jobs if j["parent_job_id"]), key=lambda j: j["id"])
    boxes = [[[0, 0, 10, 10]], [[0, 0, 10, 10]], [[0, 0, 10, 10], [20, 20, 30, 30]]]
    for replica, points in zip(replicas, boxes, strict=True):
        admin.put(f"/api/jobs/{replica['id']}/annotations/", json={"shapes": [
            {"type": "rectangle", "frame": 0, "label_id": label, "points": p} for p in points]})
        admin.patch(f"/api/jobs/{replica['id']}", json={"state": "in progress"})
    parent = next(j for j in jobs if j["type"] == "annotation")
    return task, parent


def test_2_35_consensus_quorum_and_merge_status_checks():
    with server_at("2.35.0") as admin:
        task, parent = _replicated(admin)
        settings = admin.get("/api/consensus/settings").json()["results"][0]
        assert settings["quorum"] == 0.5
        merge = admin.post("/api/consensus/merges", json={"task_id": task["id"]})
        assert merge.status_code == 202
        done = admin.post("/api/consensus/merges", params={"rq_id": merge.json()["rq_id"]})
        assert done.status_code == 201 and done.content == b""
        gone = admin.post("/api/consensus/merges", params={"rq_id": merge.json()["rq_id"]})
        assert gone.status_code == 404 and gone.json() == {"detail": "Unknown request id"}
        # the far box has one replica of three: below the quorum of a half
        shapes = admin.get(f"/api/jobs/{parent['id']}/annotations/").json()["shapes"]
        assert [s["points"] for s in shapes] == [[0, 0, 10, 10]]
        admin.patch(f"/api/consensus/settings/{settings['id']}", json={"quorum": 0.3})
        admin.patch(f"/api/jobs/{parent['id']}", json={"state": "new"})
        admin.post("/api/consensus/merges", json={"task_id": task["id"]})
        shapes = admin.get(f"/api/jobs/{parent['id']}/annotations/").json()["shapes"]
        assert len(shapes) == 2


def test_from_2_38_merge_status_checks_are_gone_and_from_2_56_no_quorum():
    with server_at("2.56.0") as admin:
        task, parent = _replicated(admin)
        assert "quorum" not in admin.get("/api/consensus/settings").json()["results"][0]
        gone = admin.post("/api/consensus/merges", params={"rq_id": "anything"})
        assert gone.status_code == 410
        assert gone.text.startswith("This endpoint no longer supports checking the status of "
                                    "the merge process.")
        admin.post("/api/consensus/merges", json={"task_id": task["id"]})
        shapes = admin.get(f"/api/jobs/{parent['id']}/annotations/").json()["shapes"]
        assert len(shapes) == 2  # every cluster is kept
