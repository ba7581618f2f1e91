"""The 410s of the legacy export (2.32+, PR 9075) and status-check (2.38+, PR 9230) forms:
CVAT's plain-text ``HttpResponseGone`` bodies (``cvat/apps/engine/view_utils.py``), exactly
where CVAT's views answer them, and the old behaviour before those releases."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockcvat.testing import MockCVATServer
from tests.conftest import NO_TLS, raw_task, token_client


def export_gone(path: str) -> str:
    return ("This endpoint is no longer supported.\n"
            f"To initiate the export process, use POST {path}.\n"
            "To check the process status, use GET /api/requests/rq_id,\n"
            "where rq_id is obtained from the response of the previous request.\n"
            "To download the prepared file, use the result_url obtained from the response of "
            "the previous request.\n")


IMPORT_GONE = ("This endpoint no longer supports checking the status of the import process.\n"
               "The common requests API should be used instead: GET /api/requests/rq_id,\n"
               "where rq_id is obtained from the response of the initializing request.\n")


def assert_gone(response: httpx.Response, text: str) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == text


def test_legacy_exports_answer_410_without_a_lookup(admin):
    task = raw_task(admin)
    job_id = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]["id"]
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]}).json()
    cases = {
        f"/api/tasks/{task['id']}/dataset?format=COCO+1.0":
            "/api/tasks/id/dataset/export?save_images=True",
        "/api/tasks/999999/dataset": "/api/tasks/id/dataset/export?save_images=True",
        f"/api/jobs/{job_id}/dataset?format=COCO+1.0":
            "/api/jobs/id/dataset/export?save_images=True",
        f"/api/tasks/{task['id']}/backup": "/api/tasks/id/backup/export",
        "/api/projects/999999/backup": "/api/projects/id/backup/export",
        f"/api/projects/{project['id']}/annotations?format=COCO+1.0":
            "/api/projects/id/dataset/export?save_images=False",
    }
    for url, replacement in cases.items():
        assert_gone(admin.get(url), export_gone(replacement))


def test_legacy_export_410s_need_authentication(http):
    assert http.get("/api/tasks/1/dataset").status_code == 401
    assert http.get("/api/projects/1/backup").status_code == 401


def test_annotations_read_with_export_parameters(admin):
    task = raw_task(admin)
    job_id = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]["id"]
    for name in ("format", "filename", "action", "location", "cloud_storage_id"):
        assert_gone(admin.get(f"/api/tasks/{task['id']}/annotations/", params={name: "x"}),
                    export_gone("/api/tasks/id/dataset/export?save_images=False"))
        assert_gone(admin.get(f"/api/jobs/{job_id}/annotations/", params={name: "x"}),
                    export_gone("/api/jobs/id/dataset/export?save_images=False"))
    plain = admin.get(f"/api/tasks/{task['id']}/annotations/", params={"other": "x"})
    assert plain.status_code == 200 and plain.json()["shapes"] == []
    # the lookup and the task's data come first
    assert admin.get("/api/tasks/999999/annotations/?format=x").status_code == 404
    empty = admin.post("/api/tasks", json={"name": "e", "labels": [{"name": "a"}]}).json()
    no_data = admin.get(f"/api/tasks/{empty['id']}/annotations/?format=x")
    assert no_data.status_code == 400
    assert no_data.text == "Exporting annotations from a task without data is not allowed"


def test_legacy_status_checks_answer_410(admin):
    task = raw_task(admin)
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]}).json()
    assert_gone(admin.put(f"/api/tasks/{task['id']}/annotations/", params={"rq_id": "x"},
                          json={}), IMPORT_GONE)
    assert_gone(admin.put(f"/api/tasks/{task['id']}/annotations/?format=COCO+1.0", json={}),
                IMPORT_GONE)
    assert admin.put("/api/tasks/999999/annotations/?rq_id=x", json={}).status_code == 404
    assert_gone(admin.post("/api/tasks/backup/", params={"rq_id": "x"}), IMPORT_GONE)
    assert_gone(admin.post("/api/projects/backup/", params={"rq_id": "x"}), IMPORT_GONE)
    status = admin.get(f"/api/projects/{project['id']}/dataset/",
                       params={"action": "import_status", "rq_id": "x"})
    assert_gone(status, IMPORT_GONE)
    assert_gone(admin.get(f"/api/projects/{project['id']}/dataset?format=COCO+1.0"),
                export_gone("/api/projects/id/dataset/export?save_images=True"))
    assert admin.get("/api/projects/999999/dataset/?action=import_status").status_code == 404


def test_an_rq_id_in_a_backup_body_is_not_read(admin):
    """From 2.38 only the query's rq_id is looked at: a JSON body is then a restore request
    without a file."""
    response = admin.post("/api/tasks/backup/", json={"rq_id": "x"})
    assert (response.status_code, response.json()) == (
        400, {"task_file": ["No file was submitted."]})


def test_2_26_still_exports_and_checks_status(mockcvat_server_old):
    mockcvat_server_old.reset()
    with token_client(mockcvat_server_old, *mockcvat_server_old.admin_credentials) as admin:
        task = raw_task(admin)
        started = admin.get(f"/api/tasks/{task['id']}/dataset?format=COCO+1.0")
        assert started.status_code == 202 and "rq_id" in started.json()
        assert admin.get(f"/api/tasks/{task['id']}/annotations/?format=COCO+1.0"
                         ).status_code in (201, 202)
        assert admin.get("/api/tasks/999999/dataset").status_code == 404
        status = admin.put(f"/api/tasks/{task['id']}/annotations/?rq_id=x&format=COCO+1.0")
        assert status.status_code != 410


@pytest.fixture(scope="module")
def server_2_35() -> Iterator[MockCVATServer]:
    with MockCVATServer(cvat_version="2.35.0") as server:
        yield server


def test_between_2_32_and_2_38_only_the_export_is_gone(server_2_35):
    """The project's import status check is deprecated, not removed, until 2.38."""
    with token_client(server_2_35, *server_2_35.admin_credentials) as admin:
        project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]})
        pk = project.json()["id"]
        unknown = admin.get(f"/api/projects/{pk}/dataset/",
                            params={"action": "import_status", "rq_id": "x"})
        assert (unknown.status_code, unknown.text) == (404, "Unknown request id")
        assert_gone(admin.get(f"/api/projects/{pk}/dataset/?format=COCO+1.0"),
                    export_gone("/api/projects/id/dataset/export?save_images=True"))
        assert admin.post("/api/tasks/backup/", params={"rq_id": "x"}).status_code != 410
    with httpx.Client(base_url=server_2_35.url, **NO_TLS) as anonymous:
        assert anonymous.get("/api/tasks/1/backup").status_code == 401
