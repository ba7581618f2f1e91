"""Moving tasks and projects between workspaces (PATCH ``organization_id``, CVAT 2.44+, PR 9528),
through the SDK and raw HTTP."""

from __future__ import annotations

from cvat_sdk import models

from tests.conftest import STRONG_PASSWORD, raw_task, token_client


def test_a_task_moves_into_an_organization_and_back(cvat_server, cvat_client):
    org = cvat_server.create_organization("team", "admin")
    task = cvat_client.tasks.create(models.TaskWriteRequest(name="t", labels=[{"name": "a"}]))
    assert (task.organization, task.organization_id) == (None, None)
    task.update(models.PatchedTaskWriteRequest(organization_id=org["id"]))
    assert (task.organization, task.organization_id) == (org["id"], org["id"])
    with cvat_client.organization_context("team"):
        assert [t.id for t in cvat_client.tasks.list()] == [task.id]
    with cvat_client.organization_context(""):
        assert cvat_client.tasks.list() == []
    task.update(models.PatchedTaskWriteRequest(organization_id=None))
    assert task.organization_id is None


def test_transfer_checks(cvat_server, admin):
    cvat_server.create_user("bob", STRONG_PASSWORD)
    team = cvat_server.create_organization("team", "admin", members={"bob": "worker"})
    other = cvat_server.create_organization("other", "admin")
    with token_client(cvat_server, "bob", STRONG_PASSWORD) as bob:
        task = raw_task(bob)
        url = f"/api/tasks/{task['id']}"
        unknown = bob.patch(url, json={"organization_id": 999999})
        assert (unknown.status_code, unknown.json()) == (
            400, ["Organization matching query does not exist."])
        # a worker may not create tasks in "team"; bob is not in "other" at all
        for org in (team, other):
            assert bob.patch(url, json={"organization_id": org["id"]}).status_code == 403
        assert bob.get(url).json()["organization_id"] is None
        bad = bob.patch(url, json={"organization_id": "x"})
        assert (bad.status_code, bad.json()) == (
            400, {"organization_id": ["A valid integer is required."]})
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    inner = raw_task(admin, project_id=project["id"])
    refused = admin.patch(f"/api/tasks/{inner['id']}", json={"organization_id": other["id"]})
    assert (refused.status_code, refused.json()) == (
        400, ["Cannot change the organization for a task inside a project"])


def test_a_project_takes_its_tasks_along(cvat_server, admin):
    org = cvat_server.create_organization("team", "admin")
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    inner = raw_task(admin, project_id=project["id"])
    moved = admin.patch(f"/api/projects/{project['id']}", json={"organization_id": org["id"]})
    assert moved.status_code == 200
    assert (moved.json()["organization"], moved.json()["organization_id"]) == (org["id"],) * 2
    task = admin.get(f"/api/tasks/{inner['id']}").json()
    assert (task["organization"], task["organization_id"]) == (org["id"], org["id"])
    jobs = admin.get("/api/jobs", params={"task_id": inner["id"]}).json()["results"]
    assert {j["organization"] for j in jobs} == {org["id"]}
    assert admin.get("/api/tasks", params={"org": "team"}).json()["count"] == 1


def test_before_2_44_organization_id_is_an_unknown_field(mockcvat_server_old):
    mockcvat_server_old.reset()
    with token_client(mockcvat_server_old, *mockcvat_server_old.admin_credentials) as admin:
        task = raw_task(admin)
        response = admin.patch(f"/api/tasks/{task['id']}", json={"organization_id": None})
        assert (response.status_code, response.json()) == (
            403, {"detail": "Attempted to update an unknown field"})
        assert "organization_id" not in admin.get(f"/api/tasks/{task['id']}").json()
